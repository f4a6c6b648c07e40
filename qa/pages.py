"""Cleaning the text of documents with pages (PDFs, scans): what belongs to the page, not
to the text.

- Running headers and footers: a line among the first or last few of a page that comes
  back at the top or bottom of many pages, compared with its digits masked (a changing
  page number, a date) and its whitespace removed.
- Page-number lines at the top or bottom of a page: ``3``, ``- 3 -``, ``— 3 —``,
  ``第 3 页``, ``第3页 共17页``, ``3/17``, ``Page 3 of 17``.
- Compatibility characters of PDF fonts: ligatures (``ﬁ`` → ``fi``), compatibility and
  radical ideographs (``⼀`` U+2F00 → ``一``) and other characters whose NFKC form differs,
  except those that Chinese text uses as they are and a .txt file keeps: full-width
  punctuation and forms (``，`` ``（`` ``：``), CJK symbols and punctuation (``。`` ``、``),
  number forms (``Ⅲ``), enclosed numbers (``①``), super- and subscripts (``m²``), CJK
  compatibility units (``㎡``) and the ellipsis.
"""

from __future__ import annotations

import functools
import math
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

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


def is_page_number(line: str) -> bool:
    """True for a line that is only a page number (``3``, ``- 3 -``, ``第3页 共17页``...)."""
    return bool(_PAGE_NUMBER.match(line.strip()))


def _edge_key(line: str) -> str:
    return _DIGITS.sub("#", _WHITESPACE.sub("", line))


def _edges(lines: Sequence[str]) -> list[int]:
    """Positions of the first and last EDGE_LINES non-empty lines of a page."""
    filled = [i for i, line in enumerate(lines) if line.strip()]
    return sorted(set(filled[:EDGE_LINES] + filled[-EDGE_LINES:]))


def remove_page_furniture(pages: Sequence[Sequence[str]]) -> list[list[str]]:
    """The pages' lines without running headers, footers and page-number lines.

    ``pages`` holds the lines of each page in reading order. Only lines near the top or
    bottom of a page are ever removed (see the module docstring).
    """
    counts: Counter[str] = Counter()
    for lines in pages:
        keys = {_edge_key(lines[i]) for i in _edges(lines) if len(lines[i]) <= MAX_HEADER_CHARS}
        counts.update(keys)
    needed = max(2, math.ceil(REPEAT_SHARE * len(pages)))
    repeated = {key for key, count in counts.items() if count >= needed and key}
    cleaned: list[list[str]] = []
    for lines in pages:
        drop = {
            i
            for i in _edges(lines)
            if is_page_number(lines[i])
            or (len(lines[i]) <= MAX_HEADER_CHARS and _edge_key(lines[i]) in repeated)
        }
        cleaned.append([line for i, line in enumerate(lines) if i not in drop])
    return cleaned


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


@dataclass
class PagedText:
    """The cleaned text of each page of a document, and the pages that could not be read."""

    pages: list[PageText]
    problems: list[str] = field(default_factory=list)


def clean_pages(numbers: list[int], texts: list[str]) -> list[PageText]:
    """Pages with their headers, footers and page numbers removed and characters folded."""
    lines = [fold_compatibility(text).replace("\r\n", "\n").split("\n") for text in texts]
    cleaned = remove_page_furniture(lines)
    return [
        PageText(number, "\n".join(page))
        for number, page in zip(numbers, cleaned, strict=True)
        if any(line.strip() for line in page)
    ]
