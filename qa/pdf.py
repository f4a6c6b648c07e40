"""Reading PDF files page by page: the text layer, or OCR for a page that has none.

PDFium (``pypdfium2``) opens the file (repairing a broken cross-reference table as
viewers do, and opening a file encrypted with an empty user password) and reads one page
at a time, closing it before the next, so memory holds one page and the text so far. A
page without a text layer (or with a few characters of one beside an image: a scan with a
stamped page number) is rendered and read by OCR (:mod:`qa.ocr`), unless it has no
content at all or renders blank: a blank page costs no OCR. The pages' text is then
cleaned of running headers, footers, page numbers and font compatibility characters
(:mod:`qa.pages`).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from qa.errors import DocumentError
from qa.pages import PagedText, PageProblem, TextLine, clean_pages, rows
from qa.periods import ReferenceDate, parse_date
from qa.viewer import PDFIUM_LOCK

# Pages are rendered for OCR at this scale (144 dpi), smaller when the longest side
# would pass MAX_RENDER_SIDE pixels (a huge page cannot make a huge bitmap).
RENDER_SCALE = 2.0
MAX_RENDER_SIDE = 3000
# A page whose text layer has fewer characters than this but which holds an image is a
# scan with a stamped page number or title: it is read by OCR.
MIN_TEXT_LAYER_CHARS = 30
# PDFium is not thread-safe, and the web server reads uploads and renders pages for the
# source viewer in several threads: every use of PDFium in the process holds this one lock.
_lock = PDFIUM_LOCK


def _text_rows(page: Any, textpage: Any) -> list[TextLine] | list[str]:
    """The text layer of a page: its rows with their boxes, top to bottom.

    PDFium gives the page's text in lines, and each character's box. When the text does
    not map onto the characters one to one (characters outside the BMP), its lines come
    without boxes.
    """
    text = textpage.get_text_range()
    if len(text) != textpage.count_chars():
        return [line for line in re.split(r"\r\n|\r|\n", text) if line.strip()]
    height = page.get_height()
    lines: list[TextLine] = []
    start = 0
    for match in re.finditer(r"\r\n|\r|\n|$", text):
        line = text[start : match.start()]
        boxes = [
            textpage.get_charbox(start + offset)  # left, bottom, right, top
            for offset, char in enumerate(line)
            if not char.isspace()
        ]
        start = match.end()
        if boxes:
            lines.append(
                TextLine(
                    line.strip(),
                    min(box[0] for box in boxes),
                    height - max(box[3] for box in boxes),
                    max(box[2] for box in boxes),
                    height - min(box[1] for box in boxes),
                )
            )
        if match.start() == len(text):
            break
    return rows(lines)


def _is_stamped_scan(page: Any, found: list[TextLine] | list[str]) -> bool:
    """True for a page with little text in its layer and an image: a stamped scan."""
    import pypdfium2.raw as pdfium_c

    chars = sum(len(row if isinstance(row, str) else row.text) for row in found)
    if chars >= MIN_TEXT_LAYER_CHARS:
        return False
    images = page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2)
    return next(iter(images), None) is not None


def _ocr_page(page: Any, path: Path, number: int, problems: list[PageProblem]) -> list[TextLine]:
    """OCR of a page without a text layer: its rows; none for a blank page (problems get
    the pages that are not blank but give no text)."""
    import pypdfium2.raw as pdfium_c

    from qa import ocr

    if pdfium_c.FPDFPage_CountObjects(page.raw) == 0:
        return []
    width, height = page.get_size()
    scale = min(RENDER_SCALE, MAX_RENDER_SIDE / max(width, height, 1.0))
    try:
        image = page.render(scale=scale).to_pil()
    except Exception as exc:  # PDFium's errors are of its own types
        problems.append(PageProblem(str(path), number, "render", str(exc)))
        return []
    if ocr.is_blank(image):
        return []
    found = ocr.read_rows(image)
    if not found:
        problems.append(PageProblem(str(path), number, "no_text"))
    return found


def check_pdf(path: Path) -> None:
    """Open a PDF and close it: raise DocumentError naming the file if it cannot be opened
    (damaged, or encrypted with a password)."""
    with _lock:
        _open(path).close()


def pdf_date(path: Path) -> ReferenceDate | None:
    """The creation date a PDF's metadata records (else its modification date), or None;
    raises DocumentError naming the file if it cannot be opened (as :func:`check_pdf`)."""
    with _lock:
        document = _open(path)
        try:
            metadata = document.get_metadata_dict()
        except Exception:  # a damaged info dictionary: no date, the pages may still read
            metadata = {}
        finally:
            document.close()
    for key in ("CreationDate", "ModDate"):
        match = re.match(r"\s*(?:D:)?(\d{4})(\d{2})?(\d{2})?", str(metadata.get(key) or ""))
        if match is None:
            continue
        parts = (
            [match[1]]
            + ([match[2]] if match[2] else [])
            + ([match[3]] if match[2] and match[3] else [])
        )
        try:
            return parse_date("-".join(parts), "metadata")
        except ValueError:  # a date that cannot be: no date from this key
            continue
    return None


def _open(path: Path) -> Any:
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise DocumentError(
                f"{path}: the PDF is encrypted with a password", kind="encrypted"
            ) from exc
        raise DocumentError(f"{path}: not a readable PDF ({exc})", kind="damaged") from exc


def read_pdf(path: Path) -> PagedText:
    """The text of every page of a PDF (see the module docstring).

    Raises DocumentError naming the file when it is not a PDF that can be opened: damaged,
    or encrypted with a password. A page that cannot be read is listed in ``problems``
    (by file and page) and the rest is read.
    """
    with _lock:
        return _read_pdf(path)


def _read_pdf(path: Path) -> PagedText:
    import pypdfium2 as pdfium

    document = _open(path)
    problems: list[PageProblem] = []
    numbers: list[int] = []
    texts: list[list[TextLine] | list[str]] = []
    try:
        count = len(document)
        bar = tqdm(
            total=count,
            desc=path.name,
            unit="page",
            leave=False,
            file=sys.stderr,
            disable=None if count > 1 else True,
        )
        with bar:
            for index in range(count):
                number = index + 1
                try:
                    page = document[index]
                except pdfium.PdfiumError as exc:
                    problems.append(PageProblem(str(path), number, "unreadable", str(exc)))
                    bar.update()
                    continue
                found: list[TextLine] | list[str] = []
                try:
                    textpage = page.get_textpage()
                    found = _text_rows(page, textpage)
                    textpage.close()
                    if not found or _is_stamped_scan(page, found):
                        found = _ocr_page(page, path, number, problems) or found
                except pdfium.PdfiumError as exc:
                    problems.append(PageProblem(str(path), number, "unreadable", str(exc)))
                finally:
                    page.close()
                if found:
                    numbers.append(number)
                    texts.append(found)
                bar.update()
    finally:
        document.close()
    return PagedText(clean_pages(numbers, texts), problems)
