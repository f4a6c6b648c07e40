"""Turning document text into passages: repaired paragraphs under their section path.

Normalisation, documented because search results quote it:
- line endings become ``\\n``; control characters (other than tab and newline) and lone
  surrogates are dropped or replaced by U+FFFD;
- markdown emphasis markers ``**`` and ``__`` and the ``#`` of markdown headings are
  removed;
- runs of spaces and tabs collapse to one space, and a space next to a CJK character
  (an artefact of PDF extraction: ``增长 4.5%``) is removed.

Paragraphs are separated by line breaks. A paragraph that stops without sentence-final
punctuation and is followed by a paragraph that is not a heading is the victim of a page
break (``增长`` / ``3.6%``) and is joined to it. Headings (``一、…``, ``（一）…``,
``【…】``, ``第…章``, markdown ``#``) are not passages: they form the section path of the
passages under them; a heading with nothing under it is a passage of its own. Paragraphs
longer than ``max_chars`` are split between sentences. A document's front matter (the
leading run of two to ``MAX_FRONT_MATTER_LINES`` short lines without clause punctuation
that end no sentence, before its first other line or heading: a title, a date line, a
speaker) is one passage, its lines joined by ``\n``, each line one sentence. After the
normalisation, every character of the text other than whitespace stands, in order, in
exactly one passage or one heading.

The chunker streams: :func:`iter_passages` takes the text as consecutive pieces (a file's
decoded blocks, its lines, or the whole text) and yields passages as it goes, holding only
the current line, the paragraph being assembled and the open headings, so its memory does
not grow with the length of the text. :func:`chunk_text` is the same chunker on a string.

A document with pages (a PDF, a scan) is given as :class:`PageText` pieces, one per page:
a page ends a line, and each passage records the page of its first and last character
(a paragraph joined across a page break has both).
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

SECTION_SEPARATOR = " > "
# Bumped whenever a change to this module changes the passages it makes from a text.
CHUNKER_VERSION = 3
# Longest run of leading title-like lines that is still front matter; a longer run is a
# list (of names, of items) and its lines stay passages of their own.
MAX_FRONT_MATTER_LINES = 6


@dataclass(frozen=True)
class ChunkingSettings:
    """How text is cut into passages and sentence windows (stored in each index)."""

    max_chars: int = 600
    window_sentences: int = 2

    def __post_init__(self) -> None:
        if self.max_chars < 20:
            raise ValueError("max_chars must be at least 20")
        if self.window_sentences < 1:
            raise ValueError("window_sentences must be at least 1")


@dataclass(frozen=True)
class Passage:
    """One searchable passage: a (part of a) paragraph with where it came from.

    ``sentences`` are (start, end) character offsets into ``text``, covering it in order.
    ``page`` and ``last_page`` are the 1-based pages of its first and last character, for a
    document with pages (None for one without). Worked out when it is indexed
    (:mod:`qa.annotation`): ``facts``, the kinds of fact each sentence holds (one tuple per
    sentence, empty before), ``period``, the (first, last) year it speaks of (from its
    section and its words), ``named``, the span of the years its text names, ``stance``,
    ``results`` or ``targets`` (None when not known), and ``script``, the script most of
    its letters are in (``han``, ``latin``, ``other``; "" before).
    """

    text: str
    source: str
    section: tuple[str, ...]
    paragraph: int
    sentences: tuple[tuple[int, int], ...] = field(default=())
    page: int | None = None
    last_page: int | None = None
    facts: tuple[tuple[str, ...], ...] = field(default=())
    period: tuple[int, int] | None = None
    named: tuple[int, int] | None = None
    stance: str | None = None
    script: str = ""

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Passage:
        """A passage from its JSON record (``dataclasses.asdict`` of one, lists for tuples);
        fields a record of an older index lacks take their defaults."""
        fields = dict(record)
        fields["section"] = tuple(fields["section"])
        fields["sentences"] = tuple(tuple(span) for span in fields.get("sentences") or ())
        fields["facts"] = tuple(tuple(kinds) for kinds in fields.get("facts") or ())
        for key in ("period", "named"):
            if fields.get(key) is not None:
                fields[key] = tuple(fields[key])
        return cls(**fields)

    @property
    def section_path(self) -> str:
        """The headings above this passage, joined with `` > ``."""
        return SECTION_SEPARATOR.join(self.section)


@dataclass(frozen=True)
class PageText:
    """The text of one page of a document with pages; ``number`` counts from 1.

    ``continues``: its last paragraph goes on at the top of the next page (the layout
    says so), even if a sentence ends there.
    """

    number: int
    text: str
    continues: bool = False


# Where the pages of a paragraph start: (character offset, page), offsets increasing.
_PageMarks = tuple[tuple[int, int | None], ...]

_CJK = (
    r"\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3100-\u312f\u3400-\u4dbf\u4e00-\u9fff"
    r"\uf900-\ufaff\uff00-\uffef"
)
# The space after a markdown heading's "#" is kept: it marks the heading.
_SPACE_NEAR_CJK = re.compile(rf"(?<=[{_CJK}])[ \t]+|(?<!#)[ \t]+(?=[{_CJK}])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\ufeff]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_EMPHASIS = re.compile(r"\*\*|__")
_SPACES = re.compile(r"[ \t\u00a0]+")

_CN_NUM = "一二三四五六七八九十百零〇"
# (rank, pattern): a lower rank is a higher level; a heading closes the headings of equal
# or lower level above it.
_HEADING_PATTERNS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (10, re.compile(rf"^第[{_CN_NUM}\d]+[编部篇章]")),
    (10, re.compile(r"^【[^】]{1,30}】$")),
    (11, re.compile(rf"^[{_CN_NUM}]+、")),
    (12, re.compile(rf"^第[{_CN_NUM}\d]+节")),
    (13, re.compile(rf"^[（(][{_CN_NUM}]+[）)]")),
)
_MARKDOWN_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_MAX_HEADING_CHARS = 60

# Sentence-final punctuation, optionally followed by closing quotes or brackets.
_SENTENCE_END = re.compile(r"(?:[。！？!?；;]|…{1,2}|(?<!\d)\.(?=\s|$))[”’\"」』）)】]*\s*")
_TERMINAL = "。！？!?；;：:…."
_CLOSERS = '”’"」』）)】'
_CLAUSE_PUNCTUATION = re.compile(r"[，,。；;！!？?、：:]")


def normalize_text(text: str) -> str:
    """Apply the documented normalisation (see the module docstring) to raw text."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _SURROGATE.sub("\ufffd", text)
    text = _CONTROL.sub("", text)
    text = _EMPHASIS.sub("", text)
    text = _SPACES.sub(" ", text)
    text = _SPACE_NEAR_CJK.sub("", text)
    return text


def heading_rank(line: str) -> int | None:
    """Return the level rank of a heading line (lower is higher), or None for body text."""
    markdown = _MARKDOWN_HEADING.match(line)
    if markdown:
        return len(markdown.group(1))
    if len(line) > _MAX_HEADING_CHARS or re.search(r"[。！？!?；;]", line):
        return None
    for rank, pattern in _HEADING_PATTERNS:
        if pattern.match(line):
            return rank
    return None


def _heading_text(line: str) -> str:
    markdown = _MARKDOWN_HEADING.match(line)
    return markdown.group(2).strip() if markdown else line


def _ends_sentence(line: str) -> bool:
    stripped = line.rstrip(_CLOSERS) or line
    return stripped[-1] in _TERMINAL


def _is_short_unpunctuated(line: str) -> bool:
    """A line under 50 characters without clause punctuation (a title, a date, a name)."""
    return len(line) < 50 and not _CLAUSE_PUNCTUATION.search(line)


def _is_title_like(line: str, following: str) -> bool:
    """A short line without clause punctuation: a title or signature, not page-broken.

    Unless it is Latin text running on into a line that starts in lower case or a digit.
    """
    if not _is_short_unpunctuated(line):
        return False
    runs_on = line[-1].isascii() and line[-1].isalnum() and following[0].isascii()
    return not (runs_on and (following[0].islower() or following[0].isdigit()))


def _join(left: str, right: str) -> str:
    if re.match(rf"[{_CJK}]", left[-1]) or re.match(rf"[{_CJK}]", right[0]):
        return left + right
    if left[-1].isdigit() and not right[0].isalpha():
        return left + right
    return left + " " + right


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Split text into sentences; return (start, end) offsets that cover the text in order."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        if end > start and text[start:end].strip():
            spans.append((start, end))
            start = end
    if start < len(text):
        if text[start:].strip() or not spans:
            spans.append((start, len(text)))
        else:
            spans[-1] = (spans[-1][0], len(text))
    return spans


def _split_long(text: str, max_chars: int) -> list[str]:
    """Cut text into pieces of at most max_chars, between sentences where possible."""
    pieces: list[str] = []
    current = ""
    for start, end in split_sentences(text):
        sentence = text[start:end]
        while len(sentence) > max_chars:
            cut = max(sentence.rfind("，", 0, max_chars), sentence.rfind(",", 0, max_chars))
            cut = cut + 1 if cut > max_chars // 2 else max_chars
            if current:
                pieces.append(current)
                current = ""
            pieces.append(sentence[:cut])
            sentence = sentence[cut:]
        if current and len(current) + len(sentence) > max_chars:
            pieces.append(current)
            current = ""
        current += sentence
    if current:
        pieces.append(current)
    return pieces


def _normalized_lines(
    pieces: Iterable[str | PageText],
) -> Iterator[tuple[str, int | None, bool]]:
    """Yield the lines of the text the pieces make up, each normalised, with its page and
    whether it goes on from the line before whatever that line ends with.

    Every rule of :func:`normalize_text` stays within a line (none matches a line break,
    and a line break is never removed), so normalising each run of whole lines gives the
    lines of the normalised text. A ``\\r\\n`` cut between two pieces gives an extra
    empty line, which the chunker skips like any other. A :class:`PageText` is whole lines
    of its page (None is the page of text given as plain strings).
    """
    partial: list[str] = []  # the start of a line that goes on in the next piece
    runs_on = False  # the page before said that its last paragraph goes on on this one
    for piece in pieces:
        if isinstance(piece, PageText):
            if partial:
                block = normalize_text("".join(partial))
                yield from ((line, None, False) for line in block.split("\n"))
                partial = []
            for line in normalize_text(piece.text).split("\n"):
                yield line, piece.number, runs_on
                runs_on = runs_on and not line.strip()
            runs_on = piece.continues
            continue
        cut = max(piece.rfind("\n"), piece.rfind("\r")) + 1
        if not cut:
            if piece:
                partial.append(piece)
            continue
        partial.append(piece if cut == len(piece) else piece[:cut])
        block = normalize_text("".join(partial))
        partial = [piece[cut:]] if cut < len(piece) else []
        yield from ((line, None, False) for line in block.split("\n"))
    if partial:
        block = normalize_text("".join(partial))
        yield from ((line, None, False) for line in block.split("\n"))


def _logical_lines(
    lines: Iterable[tuple[str, int | None, bool]],
) -> Iterator[tuple[str, _PageMarks]]:
    """Yield stripped non-empty lines, joining the lines that a page break cut apart.

    Each comes with the pages it spans: where in it each line's page starts.
    """
    pending = ""
    marks: list[tuple[int, int | None]] = []
    for raw, page, runs_on in lines:
        line = raw.strip()
        if not line:
            continue
        if heading_rank(line) is not None:
            if pending:
                yield pending, tuple(marks)
                pending = ""
            yield line, ((0, page),)
            continue
        if pending and (
            runs_on or (not _ends_sentence(pending) and not _is_title_like(pending, line))
        ):
            pending = _join(pending, line)
            if page != marks[-1][1]:
                marks.append((len(pending) - len(line), page))
            continue
        if pending:
            yield pending, tuple(marks)
        pending, marks = line, [(0, page)]
    if pending:
        yield pending, tuple(marks)


def _page_at(marks: _PageMarks, offset: int) -> int | None:
    """The page of the character at ``offset`` of a line with these page marks."""
    return marks[bisect.bisect_right([start for start, _ in marks], offset) - 1][1]


def iter_passages(
    pieces: Iterable[str | PageText], source: str, settings: ChunkingSettings | None = None
) -> Iterator[Passage]:
    """Cut a text, given as consecutive pieces, into passages, yielding them as they come.

    The pieces are any cut of the text (``"".join(pieces)`` is the text): a file's decoded
    blocks, its lines, or the whole text as one piece; or its pages, as :class:`PageText`,
    and then each passage has its first and last page. Working memory is one piece, one
    line and one paragraph (the paragraph being assembled), whatever the length of the text.
    A heading with no passage under it (an empty section, a table of contents, a heading
    at the end) becomes a passage of its own under its parent headings, so no text is lost.
    """
    settings = settings or ChunkingSettings()
    sections: list[tuple[int, str, _PageMarks]] = []
    covered = 0  # how many of the open headings, from the top, have a passage under them
    paragraph = 0
    # The leading title-like lines, held until the first other line shows they are the
    # front matter; None once the front matter is over.
    front: list[tuple[str, _PageMarks]] | None = []

    def front_matter_passages(lines: list[tuple[str, _PageMarks]]) -> list[Passage]:
        nonlocal paragraph
        if len(lines) < 2:
            return [p for line, marks in lines for p in paragraph_passages(line, marks)]
        paragraph += 1
        text = "\n".join(line for line, _ in lines)
        starts = [0]
        for line, _ in lines:
            starts.append(starts[-1] + len(line) + 1)
        starts[-1] = len(text)
        return [
            Passage(
                text=text,
                source=source,
                section=(),
                paragraph=paragraph,
                sentences=tuple(zip(starts, starts[1:], strict=False)),
                page=_page_at(lines[0][1], 0),
                last_page=_page_at(lines[-1][1], len(lines[-1][0]) - 1),
            )
        ]

    def paragraph_passages(line: str, marks: _PageMarks) -> list[Passage]:
        nonlocal paragraph, covered
        paragraph += 1
        section = tuple(name for _, name, _ in sections)
        passages: list[Passage] = []
        offset = 0  # of the piece in the line: the pieces cover the line in order
        for raw in _split_long(line, settings.max_chars):
            piece = raw.strip()
            if piece:
                start = offset + len(raw) - len(raw.lstrip())
                passages.append(
                    Passage(
                        text=piece,
                        source=source,
                        section=section,
                        paragraph=paragraph,
                        sentences=tuple(split_sentences(piece)),
                        page=_page_at(marks, start),
                        last_page=_page_at(marks, start + len(piece) - 1),
                    )
                )
            offset += len(raw)
        covered = len(sections)
        return passages

    def close_sections(rank: int) -> list[Passage]:
        nonlocal covered
        passages: list[Passage] = []
        while sections and sections[-1][0] >= rank:
            _, name, marks = sections.pop()
            if covered > len(sections):
                covered = len(sections)
            else:
                passages.extend(paragraph_passages(name, marks))
        return passages

    for line, marks in _logical_lines(_normalized_lines(pieces)):
        rank = heading_rank(line)
        if front is not None:
            title_like = rank is None and _is_short_unpunctuated(line) and not _ends_sentence(line)
            held = sum(len(text) + 1 for text, _ in front) + len(line)
            if title_like and len(front) == MAX_FRONT_MATTER_LINES:
                front.append((line, marks))  # a list, not front matter: line by line
                for text, text_marks in front:
                    yield from paragraph_passages(text, text_marks)
                front = None
                continue
            if title_like and held <= settings.max_chars:
                front.append((line, marks))
                continue
            yield from front_matter_passages(front)
            front = None
        if rank is not None:
            yield from close_sections(rank)
            sections.append((rank, _heading_text(line), marks))
            continue
        yield from paragraph_passages(line, marks)
    if front is not None:  # the text is title-like lines only: no front matter of anything
        for line, marks in front:
            yield from paragraph_passages(line, marks)
    yield from close_sections(0)


def chunk_text(text: str, source: str, settings: ChunkingSettings | None = None) -> list[Passage]:
    """Cut a document's text into passages with section paths and sentence offsets.

    The same chunker as :func:`iter_passages`, on a text held whole, every passage at once.
    """
    return list(iter_passages((text,), source, settings))


def sentence_windows(passage: Passage, size: int) -> list[tuple[int, int]]:
    """Return (first, last+1) sentence-index ranges of the overlapping windows of a passage.

    A passage of at most ``size`` sentences has no windows: its own vector serves.
    """
    count = len(passage.sentences)
    if count <= size:
        return []
    return [(i, i + size) for i in range(count - size + 1)]


def search_key(text: str) -> str:
    """Fold text for matching: NFKC, lower case, no whitespace and no ``*``."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"[\s*]+", "", folded)
