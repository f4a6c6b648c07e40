"""The source viewer: a passage shown in its document.

Two things, for any presentation (the web chat presents them):

- :func:`passage_context` — the paragraphs around a passage, taken from the index's own
  passages of the same source in document order, with the passage marked. Works for every
  format, because it needs nothing but the index.
- :func:`render_marked_page` — for a passage from a PDF, the page rendered as an image
  (pypdfium2) with the passage's region(s) drawn on it. The region is found through the
  page's text layer: the page's characters are matched against the passage text (both
  normalised the way the chunker normalises: NFKC, no whitespace), and the boxes of the
  matched characters are taken from PDFium.

Which file may be opened is the caller's business: the web chat only passes sources that
the index itself records, never a path from the client.
"""

from __future__ import annotations

import base64
import difflib
import io
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

from qa.chunking import Passage
from qa.errors import DocumentError

# Paragraphs shown before and after the passage.
CONTEXT_AROUND = 4
# Pages are rendered at this many pixels per PDF point (72 per inch): 1.5 gives 108 dpi,
# an A4 page of 893 x 1263 pixels, legible for Chinese text without a huge image.
PAGE_SCALE = 1.5
# A matched run of characters shorter than this is treated as chance (a common word).
MIN_MATCH_CHARS = 4
# PDFium is not thread-safe and the web server shows pages from several threads: one page
# is rendered at a time. (Reading PDFs for indexing must hold the same lock when it uses
# PDFium too.)
PDFIUM_LOCK = threading.Lock()
MARK_FILL = (250, 204, 21, 80)
MARK_OUTLINE = (202, 138, 4, 255)


@dataclass(frozen=True)
class ContextParagraph:
    """One paragraph of the shown context; ``focus`` marks the cited passage."""

    text: str
    section: str
    paragraph: int
    page: int | None
    last_page: int | None
    focus: bool


@dataclass(frozen=True)
class SourceContext:
    """The paragraphs around a passage in its source, in document order."""

    source: str
    paragraphs: list[ContextParagraph]
    before: int  # passages of the source not shown above
    after: int  # passages of the source not shown below

    @property
    def focus(self) -> ContextParagraph:
        """The cited passage."""
        return next(p for p in self.paragraphs if p.focus)


@dataclass(frozen=True)
class MarkedPage:
    """A PDF page rendered as an image, with the passage's regions (pixel boxes) drawn."""

    image: Image.Image
    page: int  # 1-based
    pages: int
    regions: list[tuple[int, int, int, int]]  # (left, top, right, bottom) in pixels

    def png_data_url(self) -> str:
        """The image as a ``data:image/png;base64,...`` URL (no file is served)."""
        buffer = io.BytesIO()
        # optimize=True made it 3% smaller and 2.5 times slower (measured: 64 KB in 127-143
        # ms against 66 KB in 49-53 ms for a rendered A4 text page, machine busy).
        self.image.save(buffer, format="PNG")
        return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def page_of(passage: Passage) -> int | None:
    """The passage's first PDF page (1-based), or None for formats without pages."""
    page = getattr(passage, "page", None)
    return int(page) if page else None


def last_page_of(passage: Passage) -> int | None:
    """The passage's last PDF page (1-based; its first page when it has no other)."""
    last = getattr(passage, "last_page", None)
    return int(last) if last else page_of(passage)


def find_passage(passages: Sequence[Passage], source: str, paragraph: int, text: str) -> int | None:
    """The position in ``passages`` of the passage with this source, paragraph and text.

    When the text changed (the document was re-indexed), the first passage of that
    paragraph is taken; None when the source has no such paragraph.
    """
    fallback = None
    for position, passage in enumerate(passages):
        if passage.source != source or passage.paragraph != paragraph:
            continue
        if passage.text == text:
            return position
        if fallback is None:
            fallback = position
    return fallback


def passage_context(
    passages: Sequence[Passage], position: int, around: int = CONTEXT_AROUND
) -> SourceContext:
    """The passage at ``position`` with up to ``around`` passages of its source on each side.

    ``passages`` are an index's passages in index order (a source's passages are kept in
    document order there); only those of the same source are used.
    """
    if not 0 <= position < len(passages):
        raise IndexError(f"no passage at position {position}")
    focus = passages[position]
    same = [n for n, p in enumerate(passages) if p.source == focus.source]
    at = same.index(position)
    first, end = max(0, at - around), min(len(same), at + around + 1)
    shown = [
        ContextParagraph(
            text=passages[n].text,
            section=passages[n].section_path,
            paragraph=passages[n].paragraph,
            page=page_of(passages[n]),
            last_page=last_page_of(passages[n]),
            focus=n == position,
        )
        for n in same[first:end]
    ]
    return SourceContext(focus.source, shown, before=first, after=len(same) - end)


def _normalised(text: str) -> tuple[str, list[int]]:
    """NFKC text without whitespace, and for each of its characters the index it came from."""
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        for piece in unicodedata.normalize("NFKC", char):
            if not piece.isspace():
                chars.append(piece)
                origin.append(index)
    return "".join(chars), origin


def match_span(page_text: str, passage_text: str) -> tuple[int, int] | None:
    """The character range ``[start, end)`` of ``page_text`` that holds (part of) the passage.

    Whitespace, line breaks and compatibility forms (ligatures, full-width letters) are
    ignored, and so is text that the chunker removed or the PDF adds (a running header, a
    hyphen at a line end): the range spans the runs of at least :data:`MIN_MATCH_CHARS`
    characters that page and passage share, in order. A passage that continues on the next
    page matches its head on this page. None when nothing of the passage is on the page.
    """
    page, page_origin = _normalised(page_text)
    passage, _ = _normalised(passage_text)
    if not page or not passage:
        return None
    matcher = difflib.SequenceMatcher(None, page, passage, autojunk=False)
    least = min(MIN_MATCH_CHARS, len(passage))
    blocks = [b for b in matcher.get_matching_blocks() if b.size >= least]
    if not blocks:
        return None
    # Keep the blocks near the longest one: a stray common phrase far away is not the passage.
    longest = max(blocks, key=lambda b: b.size)
    if longest.size < min(len(passage), 2 * MIN_MATCH_CHARS):
        return None  # only short common phrases: the passage is not on this page
    slack = len(passage) // 2 + MIN_MATCH_CHARS
    kept = [b for b in blocks if abs((b.a - b.b) - (longest.a - longest.b)) <= slack]
    start = page_origin[kept[0].a]
    end = page_origin[kept[-1].a + kept[-1].size - 1] + 1
    return start, end


def render_marked_page(
    pdf_path: str | Path, page: int, passage_text: str, scale: float = PAGE_SCALE
) -> MarkedPage:
    """Render page ``page`` (1-based) of a PDF with the passage's text region(s) marked.

    The regions are the text-layer boxes of the characters :func:`match_span` finds; a page
    without a text layer (a scan) or without the passage is rendered with no region.
    Raises DocumentError naming the file (and page) when it cannot be read.
    """
    path = Path(pdf_path)
    with PDFIUM_LOCK:
        image, height, boxes, pages = _render(path, page, passage_text, scale)
    regions = [
        (
            max(0, int(left * scale) - 2),
            max(0, int((height - top) * scale) - 2),
            min(image.width, int(right * scale) + 2),
            min(image.height, int((height - bottom) * scale) + 2),
        )
        for left, bottom, right, top in boxes
        if right > left and top > bottom
    ]
    return MarkedPage(_draw(image, regions), page, pages, regions)


def _render(
    path: Path, page: int, passage_text: str, scale: float
) -> tuple[Image.Image, float, list[tuple[float, float, float, float]], int]:
    """Render the page and find the passage's boxes (PDF points); hold PDFIUM_LOCK."""
    import pypdfium2 as pdfium  # loaded only when a PDF page is shown
    import pypdfium2.raw as pdfium_c

    try:
        document = pdfium.PdfDocument(str(path))
    except (pdfium.PdfiumError, OSError) as exc:
        raise DocumentError(f"{path}: cannot open the PDF ({exc})") from exc
    try:
        pages = len(document)
        if not 1 <= page <= pages:
            raise DocumentError(f"{path}: there is no page {page} (the PDF has {pages})")
        pdf_page = document[page - 1]
        try:
            _, height = pdf_page.get_size()
            image = pdf_page.render(scale=scale).to_pil().convert("RGB")
            text_page = pdf_page.get_textpage()
            count = text_page.count_chars()
            page_text = "".join(
                chr(pdfium_c.FPDFText_GetUnicode(text_page.raw, n) or 32) for n in range(count)
            )
            span = match_span(page_text, passage_text)
            boxes: list[tuple[float, float, float, float]] = []
            if span is not None:
                for n in range(text_page.count_rects(span[0], span[1] - span[0])):
                    boxes.append(text_page.get_rect(n))
            text_page.close()
        except pdfium.PdfiumError as exc:
            raise DocumentError(f"{path}, page {page}: cannot render the page ({exc})") from exc
        finally:
            pdf_page.close()
    finally:
        document.close()
    return image, height, boxes, pages


def _draw(image: Image.Image, regions: list[tuple[int, int, int, int]]) -> Image.Image:
    if not regions:
        return image
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for box in regions:
        draw.rectangle(box, fill=MARK_FILL, outline=MARK_OUTLINE, width=2)
    return Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")
