"""Reading the text of page images (scans, photographs of pages) by OCR, offline.

RapidOCR (``rapidocr-onnxruntime``) runs the PP-OCRv4 Chinese detection and recognition
models that its wheel ships, on onnxruntime: nothing is downloaded. It finds text lines
with their boxes; :mod:`qa.pages` puts them in reading order and joins the lines of each
paragraph.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from qa.errors import DocumentError
from qa.pages import PagedText, PageProblem, TextLine, clean_pages, rows

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
# An image is scaled down to this longest side before OCR (the detector resizes it anyway;
# this bounds the memory of a huge scan).
MAX_OCR_SIDE = 3000
# A page whose grey levels vary less than this (standard deviation, 0-255) is blank.
BLANK_STDDEV = 2.0
# Lines recognised with less confidence than this are dropped as noise.
MIN_CONFIDENCE = 0.5

_lock = threading.Lock()


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


def read_rows(image: Any) -> list[TextLine]:
    """The rows of text OCR finds on a page image, top to bottom (none when it finds none)."""
    return rows(read_lines(image))


def check_image(path: Path) -> None:
    """Open an image file without decoding it: raise DocumentError naming the file when it
    is not an image or is too large to decode safely (see :func:`read_image_file`)."""
    from PIL import Image

    with _opened(path), Image.open(path):
        pass


@contextlib.contextmanager
def _opened(path: Path) -> Iterator[None]:
    """Turn PIL's errors on reading an image file into DocumentError naming the file."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # PIL warns above MAX_IMAGE_PIXELS and raises above twice as many: refuse both.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DocumentError(
            f"{path}: image too large to read safely ({exc})", kind="too_large"
        ) from exc
    except UnidentifiedImageError as exc:
        raise DocumentError(f"{path}: not a readable image", kind="damaged") from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        # PIL reports a truncated or damaged file as OSError, SyntaxError or EOFError.
        raise DocumentError(f"{path}: not a readable image ({exc})", kind="damaged") from exc


def read_image_file(path: Path) -> PagedText:
    """The text of an image file by OCR, a page per frame (a multi-page TIFF has several).

    Raises DocumentError naming the file when it is not an image that can be decoded
    (empty, truncated, of an unknown format) or is so large that decoding it would be a
    decompression bomb (more pixels than PIL's ``Image.MAX_IMAGE_PIXELS``). A frame OCR
    finds no text on is listed in ``problems`` by file and page.
    """
    from PIL import Image, ImageSequence

    numbers: list[int] = []
    texts: list[list[TextLine]] = []
    problems: list[PageProblem] = []
    with _opened(path), Image.open(path) as image:
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
                    found = read_rows(frame)
                    if found:
                        numbers.append(number)
                        texts.append(found)
                    else:
                        problems.append(PageProblem(str(path), number, "no_text"))
                bar.update()
    return PagedText(clean_pages(numbers, texts), problems)
