"""Reading documents: .txt, .md, .pdf and .docx files, a file or a folder at a time."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from qa.errors import DocumentError

_log = logging.getLogger("qa")

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".pdf", ".docx")
MAX_FILE_BYTES = 512 * 1024 * 1024

# Tried in order; GB18030 is a superset of GBK and GB2312, common for Chinese text files.
_TEXT_ENCODINGS = ("utf-8-sig", "gb18030")


@dataclass(frozen=True)
class Document:
    """The text of one source file, with the checksum of its bytes."""

    source: str
    text: str
    sha256: str


@dataclass(frozen=True)
class SkippedFile:
    """A file that was found but could not be read, and why."""

    source: str
    reason: str


def file_sha256(path: Path) -> str:
    """Return the hex SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
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


def decode_text(data: bytes, name: str = "text") -> str:
    """Decode text bytes as UTF-8 (with or without BOM) or GB18030, rejecting binary data."""
    if b"\x00" in data[:65536]:
        raise DocumentError(f"{name}: looks like a binary file, not text")
    for encoding in _TEXT_ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _looks_binary(text):
            raise DocumentError(f"{name}: looks like a binary file, not text")
        return text
    raise DocumentError(f"{name}: not UTF-8 or GB18030 text")


def _looks_binary(text: str) -> bool:
    sample = text[:20000]
    if not sample:
        return False
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\n\r\f\v")
    return controls / len(sample) > 0.01


def _read_pdf(path: Path) -> str:
    from pypdf import PdfReader

    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
    except Exception as exc:  # a damaged file makes pypdf raise many types (found by fuzzing)
        raise DocumentError(f"{path}: not a readable PDF ({exc})") from exc
    # A page break is a paragraph break that may fall mid-sentence; the chunker repairs it.
    return "\n\n".join(pages)


def _read_docx(path: Path) -> str:
    import docx

    lines: list[str] = []
    try:
        document = docx.Document(str(path))
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
        raise DocumentError(f"{path}: not a readable .docx file ({exc})") from exc
    return "\n\n".join(lines)


def read_document(path: str | os.PathLike[str]) -> Document:
    """Read one supported file into a Document; raise DocumentError naming the file if not."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(
            f"{path}: unsupported file type {suffix or '(none)'}; "
            f"supported: {', '.join(SUPPORTED_SUFFIXES)}"
        )
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise DocumentError(f"{path}: file too large ({size} bytes)")
        if suffix == ".pdf":
            text = _read_pdf(path)
        elif suffix == ".docx":
            text = _read_docx(path)
        else:
            text = decode_text(path.read_bytes(), str(path))
        checksum = file_sha256(path)
    except OSError as exc:
        raise DocumentError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if not text.strip():
        raise DocumentError(f"{path}: no text found")
    return Document(source=str(path.resolve()), text=text, sha256=checksum)


def iter_documents(
    files: Sequence[Path], skipped: list[SkippedFile], given: Sequence[object] = ()
) -> Iterator[Document]:
    """Read files one at a time; unreadable ones are appended to ``skipped`` and passed over.

    Raises DocumentError once the files are exhausted if none of them could be read.
    """
    read = 0
    for path in files:
        try:
            document = read_document(path)
        except DocumentError as exc:
            skipped.append(SkippedFile(source=str(path), reason=str(exc)))
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
