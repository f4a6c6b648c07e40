"""Reading documents: .txt, .md, .pdf, .docx, .html and image files, a file or a folder
at a time.

A .txt or .md file is not held in memory: :func:`read_document` reads it once in blocks
(its checksum, its encoding, whether it is text at all) and :meth:`Document.pieces` decodes
it again block by block for the chunker, so reading and chunking a file of any size takes
a few MB (and its longest paragraph). A PDF is read a page at a time (:mod:`qa.pdf`) and
keeps its pages, cleaned of headers and footers; pages without a text layer and image
files are read by OCR (:mod:`qa.ocr`). A .docx file is read whole by python-docx, an
.html file by trafilatura (its main text, headings as markdown headings).
"""

from __future__ import annotations

import codecs
import hashlib
import itertools
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from qa.chunking import PageText
from qa.errors import DocumentError
from qa.ocr import IMAGE_SUFFIXES
from qa.pages import PageProblem
from qa.periods import ReferenceDate, parse_date

_log = logging.getLogger("qa")

HTML_SUFFIXES = (".html", ".htm")
SUPPORTED_SUFFIXES = (
    ".txt",
    ".md",
    ".markdown",
    ".pdf",
    ".docx",
    *HTML_SUFFIXES,
    *IMAGE_SUFFIXES,
)
MAX_FILE_BYTES = 512 * 1024 * 1024

# Tried in order; GB18030 is a superset of GBK and GB2312, common for Chinese text files.
_TEXT_ENCODINGS = ("utf-8-sig", "gb18030")
# How much of a text file is looked at for NUL bytes, and of its text for control characters.
_SNIFF_BYTES = 65536
_SNIFF_CHARS = 20000
# Text files are read and decoded in blocks of this size.
_BLOCK_BYTES = 1 << 20


class Document:
    """The text of one source file, with the checksum of its bytes.

    Either the text itself; or its pages (a PDF, an image: :attr:`pages`, and
    :attr:`problems` lists the pages that could not be read), possibly read only when first
    used (see :func:`read_document`); or (for a .txt or .md file) the file and its
    encoding: then :meth:`pieces` decodes it block by block, and :attr:`text` reads it
    whole only when asked. ``metadata_date`` is the date the file's own metadata records
    (a PDF's creation date, a .docx file's core properties, a web page's date), or None.
    """

    __slots__ = (
        "_encoding",
        "_loader",
        "_pages",
        "_path",
        "_problems",
        "_text",
        "metadata_date",
        "sha256",
        "source",
    )

    def __init__(
        self,
        source: str,
        text: str,
        sha256: str,
        pages: Sequence[PageText] | None = None,
        problems: Sequence[PageProblem] = (),
        metadata_date: ReferenceDate | None = None,
    ) -> None:
        self.source = source
        self.sha256 = sha256
        self.metadata_date = metadata_date
        self._pages = tuple(pages) if pages is not None else None
        self._problems = tuple(problems)
        self._text: str | None = text if pages is None else "\n\n".join(p.text for p in pages)
        self._path: Path | None = None
        self._encoding = ""
        self._loader: Callable[[], Document] | None = None

    @classmethod
    def deferred(
        cls,
        source: str,
        sha256: str,
        load: Callable[[], Document],
        metadata_date: ReferenceDate | None = None,
    ) -> Document:
        """A document whose pages ``load`` reads when they are first used."""
        document = cls(source, "", sha256, metadata_date=metadata_date)
        document._text, document._loader = None, load
        return document

    def _load(self) -> None:
        """Read the pages of a deferred document (raises DocumentError as reading does)."""
        if self._loader is not None:
            loaded = self._loader()
            self._pages, self._problems, self._text = loaded.pages, loaded.problems, loaded.text
            self._loader = None

    @property
    def pages(self) -> tuple[PageText, ...] | None:
        """The pages of a document that has pages (a PDF, an image), else None."""
        self._load()
        return self._pages

    @property
    def problems(self) -> tuple[PageProblem, ...]:
        """The pages that could not be read, by file and page (the rest is in :attr:`pages`)."""
        self._load()
        return self._problems

    @classmethod
    def streamed(cls, source: str, path: Path, encoding: str, sha256: str) -> Document:
        """A document whose text is decoded from ``path`` each time it is used."""
        document = cls(source, "", sha256)
        document._text, document._path, document._encoding = None, path, encoding
        return document

    def with_source(self, source: str) -> Document:
        """The same document under another name (an uploaded file where it is kept)."""
        if self._path is not None:
            return Document.streamed(source, self._path, self._encoding, self.sha256)
        if self._loader is not None:
            load = self._loader
            return Document.deferred(
                source, self.sha256, lambda: load().with_source(source), self.metadata_date
            )
        return Document(
            source, self.text, self.sha256, self.pages, self.problems, self.metadata_date
        )

    def pieces(self) -> Iterator[str | PageText]:
        """Yield the text in consecutive pieces (of about a MB for a file being streamed),
        or page by page for a document with pages.

        Raises DocumentError when the file can no longer be read, or no longer has the
        checksum it had when it was read: it changed in between.
        """
        self._load()
        if self._pages is not None:
            yield from self._pages
            return
        if self._text is not None:
            yield self._text
            return
        path = self._path
        assert path is not None
        digest = hashlib.sha256()
        try:
            yield from _decoded(_blocks(path, digest), self._encoding)
        except OSError as exc:
            raise DocumentError(
                f"{path}: cannot read ({exc.strerror or exc})", kind="unreadable"
            ) from exc
        except UnicodeDecodeError as exc:
            raise DocumentError(f"{path}: changed while being read", kind="changed") from exc
        if digest.hexdigest() != self.sha256:
            raise DocumentError(f"{path}: changed while being read", kind="changed")

    @property
    def text(self) -> str:
        """The whole text (read from the file, for a document that streams: see pieces)."""
        self._load()
        if self._text is not None:
            return self._text
        return "".join(piece for piece in self.pieces() if isinstance(piece, str))

    def _key(self) -> tuple[object, ...]:
        if self._loader is not None:
            return (self.source, self.sha256, "deferred", self._loader)
        return (self.source, self.sha256, self._text, self._path, self._encoding, self._pages)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Document):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash((self.source, self.sha256))

    def __repr__(self) -> str:
        if self._text is not None:
            held = f"{len(self._text)} chars"
        else:
            held = "deferred" if self._loader is not None else f"path={str(self._path)!r}"
        return f"Document(source={self.source!r}, sha256={self.sha256!r}, {held})"


@dataclass(frozen=True)
class SkippedFile:
    """A file that was found but could not be read, and why.

    ``kind`` is the :class:`DocumentError` kind, ``duplicate`` for a file with the same
    content as another in the index, ``page`` for a page of it that could not be read:
    then ``page_problem`` says which page and why (``reason`` is its English line).
    """

    source: str
    reason: str
    kind: str = "other"
    page_problem: PageProblem | None = None


def _read_blocks(handle: BinaryIO, digest: hashlib._Hash | None = None) -> Iterator[bytes]:
    """Yield the rest of an open file in blocks, adding them to ``digest`` on the way."""
    while block := handle.read(_BLOCK_BYTES):
        if digest is not None:
            digest.update(block)
        yield block


def _blocks(path: Path, digest: hashlib._Hash | None = None) -> Iterator[bytes]:
    """Yield a file's bytes in blocks, adding them to ``digest`` on the way."""
    with path.open("rb") as handle:
        yield from _read_blocks(handle, digest)


def _decoded(blocks: Iterable[bytes], encoding: str) -> Iterator[str]:
    """Decode blocks of bytes incrementally, as ``data.decode(encoding)`` would decode them.

    Strict: raises UnicodeDecodeError. Python's incremental ``utf-8-sig`` decoder silently
    drops a file's last bytes when they are the start of a BOM (``b"\\xef\\xbb"``), where
    decoding at once raises; so the BOM is taken off here, after decoding UTF-8.
    """
    bom = encoding == "utf-8-sig"
    decoder = codecs.getincrementaldecoder("utf-8" if bom else encoding)()
    for block in blocks:
        piece = decoder.decode(block)
        if bom and piece:
            piece, bom = piece.removeprefix("\ufeff"), False
        if piece:
            yield piece
    piece = decoder.decode(b"", final=True)
    if bom and piece:
        piece = piece.removeprefix("\ufeff")
    if piece:
        yield piece


def file_sha256(path: Path) -> str:
    """Return the hex SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    for _ in _blocks(path, digest):
        pass
    return digest.hexdigest()


def collect_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Expand files and folders (recursively) into a sorted list of supported files.

    Raises DocumentError when a path does not exist. Hidden files and folders are skipped,
    and so is a symbolic link inside a folder that leads out of it (logged): a folder's
    documents are the files in it, never files elsewhere.
    """
    found: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            raise DocumentError(f"no such file or folder: {raw}")
        if path.is_dir():
            root = path.resolve()
            for child in sorted(path.rglob("*")):
                relative = child.relative_to(path)
                if any(part.startswith(".") for part in relative.parts):
                    continue
                if not (child.is_file() and child.suffix.lower() in SUPPORTED_SUFFIXES):
                    continue
                if not child.resolve().is_relative_to(root):
                    _log.warning("skipped %s: a link to a file outside %s", child, path)
                    continue
                found.append(child)
        else:
            found.append(path)
    unique: dict[str, Path] = {}
    for path in found:
        unique.setdefault(str(path.resolve()), path)
    return list(unique.values())


def _scan_text(blocks: Iterable[bytes], encoding: str) -> tuple[str, bool] | None:
    """Decode to the end: the first characters and whether any is not whitespace.

    None when the bytes are not in that encoding.
    """
    head: list[str] = []
    held = 0
    has_text = False
    try:
        for piece in _decoded(blocks, encoding):
            if held < _SNIFF_CHARS:
                head.append(piece[: _SNIFF_CHARS - held])
                held += len(head[-1])
            has_text = has_text or not piece.isspace()
    except UnicodeDecodeError:
        return None
    return "".join(head), has_text


def _read_text_file(path: Path) -> Document:
    """Check a .txt/.md file in blocks and return it streamed.

    Binary (NUL bytes in its start, or many control characters in its text), not UTF-8
    (with or without BOM) nor GB18030, or only whitespace: DocumentError. The whole file is
    decoded (and thrown away) to choose the encoding exactly as decoding it at once would:
    a file that is UTF-8 but for one byte near its end is GB18030.
    """
    first, *others = _TEXT_ENCODINGS
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        start = handle.read(_SNIFF_BYTES)
        if b"\x00" in start:
            raise DocumentError(f"{path}: looks like a binary file, not text", kind="binary")
        digest.update(start)
        blocks = itertools.chain((start,), _read_blocks(handle, digest))
        encoding, scanned = first, _scan_text(blocks, first)
        for _ in blocks:  # the rest of the file after a decoding error, for the checksum
            pass
    for other in others:
        if scanned is None:
            encoding, scanned = other, _scan_text(_blocks(path), other)
    if scanned is None:
        raise DocumentError(f"{path}: not UTF-8 or GB18030 text", kind="encoding")
    head, has_text = scanned
    if _looks_binary(head):
        raise DocumentError(f"{path}: looks like a binary file, not text", kind="binary")
    if not has_text:
        raise DocumentError(f"{path}: no text found", kind="no_text")
    return Document.streamed(str(path.resolve()), path, encoding, digest.hexdigest())


def _looks_binary(text: str) -> bool:
    sample = text[:_SNIFF_CHARS]
    if not sample:
        return False
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\n\r\f\v")
    return controls / len(sample) > 0.01


def _read_html(path: Path) -> tuple[str, ReferenceDate | None]:
    """The main text of a saved web page, headings as markdown headings, and its date.

    trafilatura finds the main content (dropping scripts, styles, navigation, headers,
    footers and boilerplate) and writes it as markdown, whose ``#`` headings the chunker
    turns into section paths; its metadata the page's date (htmldate: the page's meta
    tags and markup).
    """
    import trafilatura

    with path.open("rb") as handle:
        start = handle.read(_SNIFF_BYTES)
    if b"\x00" in start:
        raise DocumentError(f"{path}: looks like a binary file, not HTML", kind="binary")
    data = path.read_bytes()
    try:
        text = trafilatura.extract(
            data, output_format="markdown", include_formatting=True, include_tables=True
        )
    except Exception as exc:  # lxml and trafilatura raise many types on damaged input
        raise DocumentError(f"{path}: not a readable HTML file ({exc})", kind="damaged") from exc
    if text is None:
        raise DocumentError(
            f"{path}: no text found (not an HTML page with a main text)", kind="no_text"
        )
    if _looks_binary(text):
        raise DocumentError(f"{path}: looks like a binary file, not HTML", kind="binary")
    return text, _html_date(data)


def _html_date(data: bytes) -> ReferenceDate | None:
    import trafilatura

    try:
        metadata = trafilatura.extract_metadata(data)
        found = metadata.date if metadata is not None else None
        return parse_date(found, "metadata") if found else None
    except Exception:  # a date is a bonus: a page whose metadata cannot be read has none
        return None


# The creation date python-docx's own template carries: not the date of a document.
_DOCX_TEMPLATE_DATE = "2013-12-23"


def _read_docx(path: Path) -> tuple[str, ReferenceDate | None]:
    """The text of a .docx file (headings as markdown headings, then its tables) and the
    creation date its core properties record."""
    import docx

    lines: list[str] = []
    date: ReferenceDate | None = None
    try:
        document = docx.Document(str(path))
        created = document.core_properties.created
        if created is not None and created.date().isoformat() != _DOCX_TEMPLATE_DATE:
            date = ReferenceDate(created.year, created.month, created.day, "metadata")
        # Parts such as the styles are parsed on first use: keep the reading inside the try.
        for paragraph in document.paragraphs:
            style = (paragraph.style.name or "") if paragraph.style is not None else ""
            text = paragraph.text
            if style.startswith("Heading") and text.strip():
                level = style.removeprefix("Heading").strip()
                hashes = "#" * (int(level) if level.isdigit() else 1)
                text = f"{hashes} {text}"
            lines.append(text)
        for table in document.tables:
            for row in table.rows:
                lines.append(" | ".join(cell.text for cell in row.cells))
    except Exception as exc:  # python-docx, zipfile, zlib and lxml raise many types
        raise DocumentError(f"{path}: not a readable .docx file ({exc})", kind="damaged") from exc
    return "\n\n".join(lines), date


def _read_paged(path: Path, checksum: str, verify: bool = False) -> Document:
    """Read a PDF or image file's pages (OCR included) into a Document.

    ``verify``: the file must still have ``checksum`` once read (it was read earlier).
    """
    from qa.ocr import read_image_file
    from qa.pdf import read_pdf

    try:
        paged = read_pdf(path) if path.suffix.lower() == ".pdf" else read_image_file(path)
        if verify and file_sha256(path) != checksum:
            raise DocumentError(f"{path}: changed while being read", kind="changed")
    except OSError as exc:
        raise DocumentError(
            f"{path}: cannot read ({exc.strerror or exc})", kind="unreadable"
        ) from exc
    if not paged.pages:
        detail = f" ({'; '.join(map(str, paged.problems[:3]))})" if paged.problems else ""
        raise DocumentError(f"{path}: no text found{detail}", kind="no_text")
    return Document(
        str(path.resolve()), "", checksum, paged.pages, paged.problems, _paged_date(path)
    )


def _paged_date(path: Path) -> ReferenceDate | None:
    from qa.pdf import pdf_date

    return pdf_date(path) if path.suffix.lower() == ".pdf" else None


def read_document(path: str | os.PathLike[str], *, defer: bool = False) -> Document:
    """Read one supported file into a Document; raise DocumentError naming the file if not.

    A .txt or .md file is checked here but not kept: its Document decodes it again, in
    blocks, when its text is used (see :meth:`Document.pieces`). With ``defer``, a PDF or
    an image is only opened here (a file that cannot be opened, is encrypted or is too
    large is refused now) and its pages are read, OCR included, when first used: an index
    update then reads no file it already holds unchanged. Reading it then may still raise
    DocumentError (a page tree that fails, no text at all).
    """
    from qa.ocr import check_image

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(
            f"{path}: unsupported file type {suffix or '(none)'}; "
            f"supported: {', '.join(SUPPORTED_SUFFIXES)}",
            kind="unsupported",
        )
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise DocumentError(f"{path}: file too large ({size} bytes)", kind="too_large")
        if suffix in (".pdf", *IMAGE_SUFFIXES):
            checksum = file_sha256(path)
            if not defer:
                return _read_paged(path, checksum)
            if suffix != ".pdf":
                check_image(path)
            # Opening a PDF checks it can be read, and gives its metadata's date.
            date = _paged_date(path)
            return Document.deferred(
                str(path.resolve()),
                checksum,
                lambda: _read_paged(path, checksum, verify=True),
                date,
            )
        if suffix not in (".docx", *HTML_SUFFIXES):
            return _read_text_file(path)
        text, date = _read_docx(path) if suffix == ".docx" else _read_html(path)
        checksum = file_sha256(path)
    except OSError as exc:
        raise DocumentError(
            f"{path}: cannot read ({exc.strerror or exc})", kind="unreadable"
        ) from exc
    if not text.strip():
        raise DocumentError(f"{path}: no text found", kind="no_text")
    return Document(source=str(path.resolve()), text=text, sha256=checksum, metadata_date=date)


def iter_documents(
    files: Sequence[Path], skipped: list[SkippedFile], given: Sequence[object] = ()
) -> Iterator[Document]:
    """Read files one at a time; unreadable ones are appended to ``skipped`` and passed over.

    PDFs and images are opened, their pages read when first used (see read_document).

    Raises DocumentError once the files are exhausted if none of them could be read.
    """
    read = 0
    for path in files:
        try:
            document = read_document(path, defer=True)
        except DocumentError as exc:
            skipped.append(SkippedFile(source=str(path), reason=str(exc), kind=exc.kind))
            continue
        read += 1
        yield document
    if not read:
        names = ", ".join(str(p) for p in given or files) or "(no paths)"
        detail = "; ".join(s.reason for s in skipped[:3])
        raise DocumentError(
            f"no readable documents in {names}" + (f" ({detail})" if detail else "")
        )


def read_documents(
    paths: Sequence[str | os.PathLike[str]],
) -> tuple[list[Document], list[SkippedFile]]:
    """Read every supported file under the given paths.

    Unreadable files are returned as SkippedFile entries instead of stopping the rest.
    Raises DocumentError when a path does not exist or nothing readable was found.
    """
    skipped: list[SkippedFile] = []
    documents = list(iter_documents(collect_files(paths), skipped, paths))
    return documents, skipped
