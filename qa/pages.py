"""Cleaning the text of documents with pages (PDFs, scans): what belongs to the page, not
to the text.

- Running headers and footers: a line among the first or last few of a page that comes
  back at the top or bottom of many pages (40% of them, two at least), compared without
  its whitespace; or with its digits masked too (a changing page number, a date), three
  pages at least.
- Page-number lines at the top or bottom of a page: ``3``, ``- 3 -``, ``— 3 —``,
  ``第 3 页``, ``第3页 共17页``, ``3/17``, ``Page 3 of 17``.
- Compatibility characters of PDF fonts: ligatures (``ﬁ`` → ``fi``), compatibility and
  radical ideographs (``⼀`` U+2F00 → ``一``) and other characters whose NFKC form differs,
  except those that Chinese text uses as they are and a .txt file keeps: full-width
  punctuation and forms (``，`` ``（`` ``：``), CJK symbols and punctuation (``。`` ``、``),
  number forms (``Ⅲ``), enclosed numbers (``①``), super- and subscripts (``m²``), CJK
  compatibility units (``㎡``) and the ellipsis.

Lines found on a page with their boxes (by OCR, or in a PDF's text layer) are put in
reading order and joined into paragraphs by :func:`clean_pages`: top to bottom, left to
right within a row. A paragraph ends where the gap to the next line is clearly wider than
the page's usual line gap, where a line stops well short of the right edge of the text, or
where the next line is indented (the two-character indent of Chinese paragraphs); it
goes on over a page break when the page's last line is full and the next page's first
line is not indented. One column is assumed.
"""

from __future__ import annotations

import functools
import math
import re
import statistics
import sys
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from qa.chunking import PageText

# How many lines at the top and at the bottom of a page may be a header or footer.
EDGE_LINES = 3
# A line is a running header or footer when it is at the edge of at least this share of
# the pages (and of two pages at least): 0.4 finds headers that alternate between odd and
# even pages.
REPEAT_SHARE = 0.4
# Longer lines are body text, never a header or footer.
MAX_HEADER_CHARS = 120

_DASH = r"[-‐‑‒–—―－~·•]"
_PAGE_NUMBER = re.compile(
    rf"""^(?:
        {_DASH}*\s*\d{{1,5}}\s*{_DASH}*                                   # 3, - 3 -, — 3 —
      | 第\s*\d{{1,5}}\s*页(?:\s*[,，/／]?\s*共\s*\d{{1,5}}\s*页)?          # 第3页 共17页
      | 共\s*\d{{1,5}}\s*页\s*[,，/／]?\s*第\s*\d{{1,5}}\s*页
      | \d{{1,5}}\s*[/／]\s*\d{{1,5}}                                      # 3/17
      | (?:page|p\.?)\s*\d{{1,5}}(?:\s*(?:of|/)\s*\d{{1,5}})?             # Page 3 of 17
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
_DIGITS = re.compile(r"\d+")
_WHITESPACE = re.compile(r"\s+")

# Characters whose NFKC form differs but that stay as they are (see the module docstring).
_KEPT_RANGES = (
    (0x00B2, 0x00B3),
    (0x00B9, 0x00B9),
    (0x00BC, 0x00BE),
    (0x2024, 0x2026),
    (0x2070, 0x209F),
    (0x2150, 0x218F),
    (0x2460, 0x24FF),
    (0x3000, 0x303F),
    (0x3200, 0x33FF),
    (0xFF00, 0xFFEF),
)


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


def rows(lines: Sequence[TextLine]) -> list[TextLine]:
    """Lines whose boxes overlap vertically by half a line, merged into rows (left to right),
    top to bottom."""
    groups: list[list[TextLine]] = []
    for line in sorted(lines, key=lambda item: (item.top, item.left)):
        if groups:
            last = groups[-1]
            top = min(item.top for item in last)
            bottom = max(item.bottom for item in last)
            overlap = min(bottom, line.bottom) - max(top, line.top)
            if overlap > 0.5 * min(line.height, bottom - top):
                last.append(line)
                continue
        groups.append([line])
    merged = []
    for group in groups:
        text = ""
        for item in sorted(group, key=lambda item: item.left):
            text = _join(text, item.text)
        merged.append(
            TextLine(
                text,
                min(item.left for item in group),
                min(item.top for item in group),
                max(item.right for item in group),
                max(item.bottom for item in group),
            )
        )
    return merged


def _join(left: str, right: str) -> str:
    """Join two pieces of a line or paragraph: no space between CJK, one between words."""
    if not left or not right:
        return left + right
    if left[-1].isascii() and right[0].isascii() and left[-1].isalnum() and right[0].isalnum():
        return f"{left} {right}"
    return left + right


@dataclass(frozen=True)
class _Layout:
    """A page's paragraphs, and whether its text runs on from or into the next page."""

    paragraphs: list[str]
    ends_open: bool  # its last row fills the line: the paragraph may go on overleaf
    starts_flush: bool  # its first row starts at the left edge: not a new paragraph


def _layout(page_rows: Sequence[TextLine]) -> _Layout:
    """Join a page's rows (top to bottom) into paragraphs (see the module docstring)."""
    if not page_rows:
        return _Layout([], False, False)
    height = statistics.median(row.height for row in page_rows)
    gaps = [page_rows[i + 1].top - page_rows[i].bottom for i in range(len(page_rows) - 1)]
    # A paragraph break is a gap wider than the usual line gap by half a line; on a page
    # of one-line paragraphs every gap is a paragraph gap, hence the cap on the usual gap.
    wide_gap = min(statistics.median(gaps) if gaps else 0.0, 0.5 * height) + 0.5 * height
    text_left = min(row.left for row in page_rows)
    text_right = max(row.right for row in page_rows)
    found: list[str] = []
    current = ""
    for i, row in enumerate(page_rows):
        if current:
            previous = page_rows[i - 1]
            if (
                row.top - previous.bottom > wide_gap
                or previous.right < text_right - 2 * height
                or row.left > text_left + 1.5 * height
            ):
                found.append(current)
                current = ""
        current = _join(current, row.text)
    found.append(current)
    return _Layout(
        found,
        ends_open=len(page_rows) >= 3 and page_rows[-1].right >= text_right - 2 * height,
        starts_flush=page_rows[0].left <= text_left + 1.5 * height,
    )


def is_page_number(line: str) -> bool:
    """True for a line that is only a page number (``3``, ``- 3 -``, ``第3页 共17页``...)."""
    return bool(_PAGE_NUMBER.match(line.strip()))


def _edge_key(line: str) -> str:
    return _DIGITS.sub("#", _WHITESPACE.sub("", line))


def _edges(lines: Sequence[str]) -> list[int]:
    """Positions of the first and last EDGE_LINES non-empty lines of a page."""
    filled = [i for i, line in enumerate(lines) if line.strip()]
    return sorted(set(filled[:EDGE_LINES] + filled[-EDGE_LINES:]))


def _furniture(pages: Sequence[Sequence[str]]) -> list[set[int]]:
    """For each page, the positions of its header, footer and page-number lines."""
    exact: Counter[str] = Counter()
    masked: Counter[str] = Counter()
    for lines in pages:
        edges = [lines[i] for i in _edges(lines) if len(lines[i]) <= MAX_HEADER_CHARS]
        exact.update({_WHITESPACE.sub("", line) for line in edges})
        masked.update({_edge_key(line) for line in edges})
    share = math.ceil(REPEAT_SHARE * len(pages))
    # Lines the same but for their digits are common in the body of a short document
    # ("Page 1 says...", "Page 2 says..."): they need three pages to count as furniture.
    repeated = {key for key, count in exact.items() if count >= max(2, share) and key}
    repeated_masked = {key for key, count in masked.items() if count >= max(3, share) and key}

    def is_furniture(line: str) -> bool:
        if is_page_number(line):
            return True
        return len(line) <= MAX_HEADER_CHARS and (
            _WHITESPACE.sub("", line) in repeated or _edge_key(line) in repeated_masked
        )

    return [{i for i in _edges(lines) if is_furniture(lines[i])} for lines in pages]


def remove_page_furniture(pages: Sequence[Sequence[str]]) -> list[list[str]]:
    """The pages' lines without running headers, footers and page-number lines.

    ``pages`` holds the lines of each page in reading order. Only lines near the top or
    bottom of a page are ever removed (see the module docstring).
    """
    return [
        [line for i, line in enumerate(lines) if i not in drop]
        for lines, drop in zip(pages, _furniture(pages), strict=True)
    ]


@functools.cache
def _compatibility_pattern() -> re.Pattern[str]:
    kept = {c for low, high in _KEPT_RANGES for c in range(low, high + 1)}
    folded = [
        chr(c)
        for c in range(0xA0, sys.maxunicode + 1)
        if c not in kept
        and not 0xD800 <= c <= 0xDFFF
        and unicodedata.normalize("NFKC", chr(c)) != chr(c)
    ]
    return re.compile("[" + "".join(re.escape(ch) for ch in folded) + "]")


def fold_compatibility(text: str) -> str:
    """Replace the compatibility characters of PDF fonts by their NFKC form (see above)."""
    return _compatibility_pattern().sub(
        lambda match: unicodedata.normalize("NFKC", match.group()), text
    )


# Why a page could not be read: OCR found no text on a page that is not blank, the page
# cannot be rendered for OCR, or the PDF reader cannot load the page or its text.
PageProblemKind = Literal["no_text", "render", "unreadable"]
# Why a page could not be read, in English (the app words its line from these too).
PAGE_PROBLEM_WORDS: dict[PageProblemKind, str] = {
    "no_text": "no text could be read (OCR found none)",
    "render": "cannot be rendered for OCR",
    "unreadable": "cannot be read",
}


@dataclass(frozen=True)
class PageProblem:
    """A page of a document that could not be read (the rest of the document can be).

    ``page`` counts from 1; ``detail`` is the reader library's own explanation, if any. As
    a string it is the English line ``<path>: page <page>: <why> (<detail>)``; callers that
    word it themselves (the web app, in Chinese) use the fields.
    """

    path: str
    page: int
    kind: PageProblemKind
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.path}: page {self.page}: {self.reason}"

    @property
    def reason(self) -> str:
        """Why the page could not be read, in English, without the file and page."""
        words = PAGE_PROBLEM_WORDS[self.kind]
        return f"{words} ({self.detail})" if self.detail else words


@dataclass
class PagedText:
    """The cleaned text of each page of a document, and the pages that could not be read."""

    pages: list[PageText]
    problems: list[PageProblem] = field(default_factory=list)


def clean_pages(
    numbers: Sequence[int], pages: Sequence[Sequence[TextLine | str]]
) -> list[PageText]:
    """The text of each page without its headers, footers and page numbers, characters
    folded, lines joined into paragraphs.

    A page is given as its rows with their boxes, top to bottom (see :func:`rows`), or as
    lines of text without boxes: then each line is a paragraph. A page that ends with a
    full row, followed by one that starts with a row at the left edge, continues into it
    (:attr:`PageText.continues`). Pages left without text are left out.
    """
    folded = [
        [
            fold_compatibility(row)
            if isinstance(row, str)
            else replace(row, text=fold_compatibility(row.text))
            for row in page
        ]
        for page in pages
    ]
    texts = [[row if isinstance(row, str) else row.text for row in page] for page in folded]
    layouts: list[tuple[int, _Layout]] = []
    for number, page, drop in zip(numbers, folded, _furniture(texts), strict=True):
        kept = [row for i, row in enumerate(page) if i not in drop]
        boxed = [row for row in kept if isinstance(row, TextLine)]
        if len(boxed) == len(kept):
            layout = _layout(boxed)
        else:
            lines = [row if isinstance(row, str) else row.text for row in kept]
            layout = _Layout(lines, False, False)
        if any(text.strip() for text in layout.paragraphs):
            layouts.append((number, layout))
    return [
        PageText(
            number,
            "\n".join(layout.paragraphs),
            continues=layout.ends_open
            and i + 1 < len(layouts)
            and layouts[i + 1][0] == number + 1
            and layouts[i + 1][1].starts_flush,
        )
        for i, (number, layout) in enumerate(layouts)
    ]
