"""Checking uploaded files and wording what an upload did, in the page's language.

Files are checked before anything is written (type, size, readable text); each problem
becomes a line naming the file (never the temporary path it was uploaded to). The
library's own explanations stay English for Python callers and are what the English page
shows; another language words them by the error's kind (``QAError.kind``).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from qa.app.core import SUPPORTED_SUFFIXES, AddReport, Document, PageProblem, QAError
from qa.app.language import passages_text, say
from qa.app.texts import MESSAGES

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
_SAFE_NAME_CHAR = re.compile(r"[^\w\-. ()（）]+")


@dataclass(frozen=True)
class UploadLine:
    """One line of an upload's status: ``kind`` is ``ok`` (added or replaced), ``info``
    (unchanged, nothing to add, which index it went into) or ``warn`` (skipped, refused)."""

    kind: str
    text: str


def safe_file_name(name: str) -> str:
    """A file name that is safe to create in an index's ``files/`` folder.

    Only the last path component is kept; characters other than letters, digits and
    ``-_. ()`` become ``_``; leading dots are dropped (no hidden files, no ``..``).
    """
    base = re.split(r"[\\/]", name.strip())[-1]
    base = _SAFE_NAME_CHAR.sub("_", base).strip(" .")
    base = re.sub(r"\.{2,}", ".", base)
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = stem[:100].strip(" .") or "document"
    suffix = suffix[:10]
    return f"{stem}.{suffix.lower()}" if suffix else stem


def check_upload(path: Path, shown: str, language: str = "en") -> str | None:
    """Why an uploaded file cannot be indexed (in the page's language), or None."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        supported = ", ".join(SUPPORTED_SUFFIXES)
        return say(
            language, "file_unsupported", name=shown, suffix=suffix or "(none)", supported=supported
        )
    try:
        size = path.stat().st_size
    except OSError as exc:
        return say(language, "file_unreadable", name=shown, error=exc.strerror or exc)
    if size == 0:
        return say(language, "file_empty", name=shown)
    if size > MAX_UPLOAD_BYTES:
        return say(language, "file_too_large", name=shown, size=size, limit=MAX_UPLOAD_BYTES)
    return None


def document_problem(exc: QAError, shown: str, path: str, language: str) -> str:
    """Why a file cannot be read, for the page: the library's own (English) message in
    English, the message of the error's kind in another language; named by ``shown``."""
    if language == "en" or f"file_{exc.kind}" not in MESSAGES.get(language, {}):
        return without_paths(str(exc), {path: shown})
    return say(language, f"file_{exc.kind}", name=shown)


def reader_problem(exc: Exception, shown: str, suffix: str, language: str) -> str:
    """A reader library's own error (not a QAError): still the file's fault."""
    log.warning("cannot read upload %s: %r", shown, exc)
    if language == "en":
        return f"{shown}: cannot be read as {suffix} ({type(exc).__name__})"
    return say(language, "file_damaged", name=shown)


def without_paths(message: str, names: dict[str, str]) -> str:
    """Replace full paths in a message by file names (temporary and index paths alike)."""
    for path in sorted(names, key=len, reverse=True):
        message = message.replace(path, names[path])
    return message


def report_lines(
    report: AddReport, counts: dict[str, int], names: dict[str, str], language: str = "en"
) -> list[UploadLine]:
    """The lines of what :meth:`qa.Index.add_documents` did: added, replaced, unchanged and
    skipped files, named by ``names`` (source -> file name), with their passage counts."""

    def passages(source: str) -> str:
        return passages_text(counts.get(source, 0), language)

    lines = [
        UploadLine("ok", say(language, "added", name=names[s], passages=passages(s)))
        for s in report.added
    ]
    lines += [
        UploadLine("ok", say(language, "replaced", name=names[s], passages=passages(s)))
        for s in report.replaced
    ]
    lines += [
        UploadLine("info", say(language, "unchanged", name=names[s])) for s in report.unchanged
    ]
    for skipped in report.skipped:
        name = names.get(skipped.source, Path(skipped.source).name)
        key = f"file_{skipped.kind}"
        if skipped.page_problem is not None:
            problem = page_problem(skipped.page_problem, name, language)
        elif language == "en" or key not in MESSAGES.get(language, {}):
            problem = f"{name}: {without_paths(skipped.reason, names)}"
        else:
            problem = say(language, key, name=name)
        lines.append(UploadLine("warn", say(language, "skipped", problem=problem)))
    return lines


def page_problem(problem: PageProblem, name: str, language: str) -> str:
    """A page that could not be read, for the page: named by ``name`` (not the path it was
    read from), in ``language``; the reader library's own explanation stays as it is."""
    line = say(language, f"page_{problem.kind}", name=name, page=problem.page)
    if problem.detail:
        line += say(language, "page_detail", detail=problem.detail)
    return line


def copy_files(accepted: Sequence[tuple[Path, Document]], report: AddReport) -> None:
    """Keep a copy of each added or replaced upload beside the index (atomic per file)."""
    wanted = set(report.added) | set(report.replaced)
    for upload, document in accepted:
        if document.source not in wanted:
            continue
        target = Path(document.source)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".upload-", dir=target.parent)
        os.close(fd)
        try:
            shutil.copyfile(upload, tmp)
            os.replace(tmp, target)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            log.warning("could not keep a copy of %s: %s", target.name, exc)
