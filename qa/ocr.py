"""Reading the text of page images (scans, photographs of pages) by OCR, offline.

RapidOCR (``rapidocr-onnxruntime``) runs the PP-OCRv4 Chinese detection and recognition
models that its wheel ships, on onnxruntime: nothing is downloaded. It finds text lines
with their boxes; :func:`paragraphs` puts them in reading order (top to bottom, left to
right within a row) and joins the lines of a paragraph. A paragraph ends where the gap to
the next line is clearly wider than the page's usual line gap, where a line stops well
short of the right edge of the text, or where the next line is indented (the two-character
indent of Chinese paragraphs). One column is assumed.
"""

from __future__ import annotations

import functools
import statistics
import sys
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from qa.errors import DocumentError
from qa.pages import PagedText, clean_pages

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
# An image is scaled down to this longest side before OCR (the detector resizes it anyway;
# this bounds the memory of a huge scan).
MAX_OCR_SIDE = 3000
# A page whose grey levels vary less than this (standard deviation, 0-255) is blank.
BLANK_STDDEV = 2.0
# Lines recognised with less confidence than this are dropped as noise.
MIN_CONFIDENCE = 0.5

_lock = threading.Lock()


@dataclass(frozen=True)
class TextLine:
    """One line of text found on a page image, with its box in pixels."""

    text: str
    left: float
    top: float
    right: float
    bottom: float

    @property
    def height(self) -> float:
        """The height of the line's box."""
        return self.bottom - self.top


@functools.cache
def _engine() -> Any:
    from rapidocr_onnxruntime import RapidOCR

    return RapidOCR()


def is_blank(image: Any) -> bool:
    """True for an image with nothing on it (all one shade: a blank page)."""
    grey = np.asarray(image.convert("L").reduce(4) if min(image.size) >= 8 else image.convert("L"))
    return bool(grey.size == 0 or float(grey.std()) < BLANK_STDDEV)


def read_lines(image: Any) -> list[TextLine]:
    """The text lines OCR finds on an image (a PIL image), in no particular order."""
    image = image.convert("RGB")
    if max(image.size) > MAX_OCR_SIDE:
        image = image.copy()
        image.thumbnail((MAX_OCR_SIDE, MAX_OCR_SIDE))
    with _lock:  # one recognition at a time: it uses every core already
        result, _ = _engine()(np.asarray(image)[:, :, ::-1])  # RGB to OpenCV's BGR
    lines = []
    for box, text, confidence in result or []:
        if float(confidence) < MIN_CONFIDENCE or not str(text).strip():
            continue
        xs = [float(point[0]) for point in box]
        ys = [float(point[1]) for point in box]
        lines.append(TextLine(str(text).strip(), min(xs), min(ys), max(xs), max(ys)))
    return lines


def _rows(lines: list[TextLine]) -> list[list[TextLine]]:
    """Group lines whose boxes overlap vertically by half a line into rows, top to bottom."""
    rows: list[list[TextLine]] = []
    for line in sorted(lines, key=lambda item: (item.top, item.left)):
        if rows:
            last = rows[-1]
            top = min(item.top for item in last)
            bottom = max(item.bottom for item in last)
            overlap = min(bottom, line.bottom) - max(top, line.top)
            if overlap > 0.5 * min(line.height, bottom - top):
                last.append(line)
                continue
        rows.append([line])
    return [sorted(row, key=lambda item: item.left) for row in rows]


def _join(left: str, right: str) -> str:
    """Join two pieces of a line or paragraph: no space between CJK, one between words."""
    if not left or not right:
        return left + right
    if left[-1].isascii() and right[0].isascii() and left[-1].isalnum() and right[0].isalnum():
        return f"{left} {right}"
    return left + right


def paragraphs(lines: list[TextLine]) -> list[str]:
    """The text of the lines as paragraphs in reading order (see the module docstring)."""
    rows = _rows(lines)
    if not rows:
        return []
    boxes = [
        (
            min(item.left for item in row),
            min(item.top for item in row),
            max(item.right for item in row),
            max(item.bottom for item in row),
        )
        for row in rows
    ]
    height = statistics.median(bottom - top for _, top, _, bottom in boxes)
    gaps = [boxes[i + 1][1] - boxes[i][3] for i in range(len(boxes) - 1)]
    usual_gap = statistics.median(gaps) if gaps else 0.0
    text_left = min(box[0] for box in boxes)
    text_right = max(box[2] for box in boxes)
    found: list[str] = []
    current = ""
    for i, row in enumerate(rows):
        text = ""
        for item in row:
            text = _join(text, item.text)
        if current:
            previous = boxes[i - 1]
            ends = (
                boxes[i][1] - previous[3] > usual_gap + 0.5 * height
                or previous[2] < text_right - 2 * height
                or boxes[i][0] > text_left + 1.5 * height
            )
            if ends:
                found.append(current)
                current = ""
        current = _join(current, text)
    found.append(current)
    return found


def read_page(image: Any) -> str:
    """The text of a page image, one paragraph a line ("" when OCR finds none)."""
    return "\n".join(paragraphs(read_lines(image)))


def read_image_file(path: Path) -> PagedText:
    """The text of an image file by OCR, a page per frame (a multi-page TIFF has several).

    Raises DocumentError naming the file when it is not an image that can be decoded
    (empty, truncated, of an unknown format) or is so large that decoding it would be a
    decompression bomb (more pixels than PIL's ``Image.MAX_IMAGE_PIXELS``). A frame OCR
    finds no text on is listed in ``problems`` by file and page.
    """
    from PIL import Image, ImageSequence, UnidentifiedImageError

    numbers: list[int] = []
    texts: list[str] = []
    problems: list[str] = []
    try:
        with warnings.catch_warnings():
            # PIL warns above MAX_IMAGE_PIXELS and raises above twice as many: refuse both.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                frames = getattr(image, "n_frames", 1)
                with tqdm(
                    total=frames,
                    desc=path.name,
                    unit="page",
                    leave=False,
                    file=sys.stderr,
                    disable=None if frames > 1 else True,
                ) as bar:
                    for number, frame in enumerate(ImageSequence.Iterator(image), start=1):
                        frame.load()
                        if not is_blank(frame):
                            text = read_page(frame)
                            if text.strip():
                                numbers.append(number)
                                texts.append(text)
                            else:
                                problems.append(
                                    f"{path}: page {number}: no text could be read (OCR found none)"
                                )
                        bar.update()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DocumentError(f"{path}: image too large to read safely ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise DocumentError(f"{path}: not a readable image") from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        # PIL reports a truncated or damaged file as OSError, SyntaxError or EOFError.
        raise DocumentError(f"{path}: not a readable image ({exc})") from exc
    return PagedText(clean_pages(numbers, texts), problems)
