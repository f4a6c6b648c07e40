"""The indexes the web chat can search, and uploads into them.

User indexes are folders ``<root>/<name>``, created by the first upload to that name;
uploaded files are kept in ``<root>/<name>/files/``. The bundled report's index and an
index opened from outside the root are read-only. Uploads are serialised by one lock in
the process and by the index folder's write lock across processes; the indexes follow
their folders, so what ``qa build`` or another server saves there is searched and listed
within about a second.
"""

from __future__ import annotations

import contextlib
import copy
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

from qa.app.core import (
    DEFAULT_COLLECTION,
    DEFAULT_ENCODER,
    AnyIndex,
    Document,
    Index,
    IndexStoreError,
    MilvusIndex,
    QAError,
    default_index,
    default_index_dir,
    example_questions,
    index_root,
    is_index_folder,
    load_encoder,
    parse_store_uri,
    read_document,
    source_date,
    writing,
)
from qa.app.language import MAX_UPLOAD_FILES, say
from qa.app.uploads import (
    UploadLine,
    check_upload,
    copy_files,
    document_problem,
    reader_problem,
    report_lines,
    safe_file_name,
)

_INDEX_NAME = re.compile(r"\w[\w\-]{0,63}")
# The steps of an upload, in order (UploadProgress.step).
UPLOAD_STEPS = ("reading", "encoder", "embedding", "saving")


@dataclass(frozen=True)
class UploadProgress:
    """Where an upload is: ``step`` (one of :data:`UPLOAD_STEPS`), ``done`` of ``total``
    (files read, texts embedded; 0 of 0 for a step without parts), the file being read."""

    step: str
    done: int = 0
    total: int = 0
    name: str = ""


@dataclass
class UploadResult:
    """What an upload did: lines to show, whether the index changed, whether it was new."""

    lines: list[UploadLine]
    changed: bool = False
    created: bool = False


@dataclass(frozen=True)
class DocumentRow:
    """One document of an index, as the documents list shows it."""

    name: str
    passages: int
    date: str | None = None


@dataclass(frozen=True)
class Target:
    """What an upload into ``name`` would do: ``kind`` is ``new`` (creates the index),
    ``existing`` (adds to it; ``documents`` it holds), ``read_only``, ``invalid`` (not an
    index name) or ``empty`` (no name)."""

    name: str
    kind: str
    documents: int = 0


@dataclass
class _Examples:
    key: tuple[Any, ...] = ()
    questions: list[str] = field(default_factory=list)


class Library:
    """The indexes the app can search: the one it starts with plus user indexes under a root.

    With ``store`` (a Milvus store URI) the app starts on that store instead, named after
    its collection (a milvus-lite file's name for its default collection); uploads go into
    the store and their files are kept in ``<root>/<name>-uploads/files/``.
    """

    def __init__(
        self, start_dir: Path | None = None, root: Path | None = None, store: str | None = None
    ) -> None:
        self.root = (root or index_root()).expanduser()
        self.bundled_dir = default_index_dir()
        self.start_dir = Path(start_dir).expanduser() if start_dir else self.bundled_dir
        self.start_name = self.start_dir.name or "index"
        self.store = store
        if store is not None:
            if start_dir is not None:
                raise QAError("give --index or --store, not both")
            location = parse_store_uri(store)
            self.start_name = location.collection
            if location.lite_path is not None and location.collection == DEFAULT_COLLECTION:
                self.start_name = location.lite_path.stem or location.collection
            self.start_dir = self.root / f"{self.start_name}-uploads"
        self._cache: dict[str, AnyIndex] = {}
        self._examples: dict[str, _Examples] = {}
        self._cache_lock = threading.Lock()
        self._write_lock = threading.Lock()

    def is_bundled(self, name: str) -> bool:
        """True for the bundled report's index."""
        return not self._is_store(name) and _same_path(self.folder(name), self.bundled_dir)

    def folder(self, name: str) -> Path:
        """The folder of the index called ``name`` (which need not exist yet)."""
        if name == self.start_name:
            return self.start_dir
        if not _INDEX_NAME.fullmatch(name):
            raise QAError(
                f"{name!r} is not a valid index name: use letters, digits, '-' and '_' "
                "(at most 64, starting with a letter or digit)",
                kind="index_name",
            )
        return self.root / name

    def _is_store(self, name: str) -> bool:
        return self.store is not None and name == self.start_name

    def read_only(self, name: str) -> bool:
        """True when uploads to ``name`` are refused (the bundled report, outside indexes)."""
        if self._is_store(name):
            return False
        folder = self.folder(name)
        return _same_path(folder, self.bundled_dir) or not _same_path(folder.parent, self.root)

    def names(self) -> list[str]:
        """The start index first, then every index folder under the root, sorted."""
        found: list[str] = []
        if self.root.is_dir():
            for child in sorted(self.root.iterdir()):
                if child.is_dir() and _INDEX_NAME.fullmatch(child.name) and is_index_folder(child):
                    found.append(child.name)
        return [self.start_name] + [n for n in found if n != self.start_name]

    def get(self, name: str | None) -> AnyIndex:
        """Load (once) and return the index called ``name``; the start index when empty."""
        name = name or self.start_name
        with self._cache_lock:
            index = self._cache.get(name)
            if index is not None:
                return index
            folder = self.folder(name)
            if self._is_store(name):
                index = MilvusIndex.load(str(self.store))
            elif _same_path(folder, self.bundled_dir):
                index = default_index()
            elif is_index_folder(folder):
                # Follow the folder: what `qa build` or another server saves there shows.
                index = Index.load(folder, follow=True)
            else:
                raise QAError(f"there is no index called {name!r}", kind="no_such_index")
            self._cache[name] = index
            return index

    def documents(self, name: str | None) -> list[DocumentRow]:
        """The documents of an index: file name, passages, and date when it has one."""
        return [
            DocumentRow(Path(s.source).name, s.passages, source_date(s))
            for s in self.get(name).sources
        ]

    def target(self, name: str) -> Target:
        """What an upload into ``name`` would do (see :class:`Target`)."""
        name = (name or "").strip()
        if not name:
            return Target(name, "empty")
        try:
            read_only = self.read_only(name)
        except QAError:
            return Target(name, "invalid")
        if read_only:
            return Target(name, "read_only")
        if self._is_store(name) or is_index_folder(self.folder(name)):
            try:
                return Target(name, "existing", len(self.get(name).sources))
            except QAError:
                return Target(name, "invalid")
        return Target(name, "new")

    def examples(self, name: str, fixed: Sequence[str] | None = None) -> list[str]:
        """Example questions for the index ``name``: ``fixed`` when given (the bundled
        report's own), else made from its headings (:func:`qa.examples.example_questions`),
        computed again only when its documents change."""
        if fixed is not None:
            return list(fixed)
        index = self.get(name)
        key = tuple((s.source, s.sha256) for s in index.sources)
        with self._cache_lock:
            cached = self._examples.get(name)
            if cached is not None and cached.key == key:
                return list(cached.questions)
        questions = example_questions(index)
        with self._cache_lock:
            self._examples[name] = _Examples(key, questions)
        return list(questions)

    def upload(
        self,
        name: str,
        paths: Sequence[str | PathLike[str]],
        progress: Callable[[UploadProgress], None] | None = None,
        language: str = "en",
    ) -> UploadResult:
        """Add uploaded files to the user index ``name``; each problem becomes a line
        (in ``language``, "zh" or "en", apart from the problems' own explanations).

        Files are checked (type, size, readable text) before anything is written; each
        step is reported to ``progress``. The index is saved atomically; if saving fails,
        the index on disk is the previous one.
        """
        report_step = progress or (lambda step: None)
        name = (name or "").strip()
        if not name:
            raise QAError("give the index a name first", kind="no_name")
        folder = self.folder(name)
        if self.read_only(name):
            raise QAError(
                f"{name!r} is read-only (the bundled report or an index outside "
                f"{self.root}); upload into another index name",
                kind="read_only",
            )
        if not paths:
            raise QAError("choose one or more files to upload first", kind="no_files")
        if len(paths) > MAX_UPLOAD_FILES:
            raise QAError(
                f"too many files at once ({len(paths)}); the limit is {MAX_UPLOAD_FILES}",
                kind="too_many_files",
            )
        lines, accepted = self._read(paths, folder / "files", report_step, language)
        if not accepted:
            return UploadResult(lines or [UploadLine("info", say(language, "nothing_to_add"))])

        is_store = self._is_store(name)
        created = not is_store and not is_index_folder(folder)
        if not is_store:
            _check_index_folder(folder)
        with self._write_lock:
            try:
                # Other processes may write this folder too: hold its lock from reading the
                # newest generation to saving (a Milvus store orders its own writes).
                locked = writing(folder) if not is_store else contextlib.nullcontext()
                with locked:
                    report_step(UploadProgress("encoder"))
                    index = self._writable(name, folder)
                    if isinstance(index, Index):
                        try:
                            index.refresh()
                        except IndexStoreError:  # rebuilt with other settings meanwhile
                            index = Index.load(folder, follow=True)
                    _load_passage_encoder(index)

                    def embedding(done: int, total: int) -> None:
                        report_step(UploadProgress("embedding", done, total))

                    report = index.add_documents([doc for _, doc in accepted], progress=embedding)
                    if report.changed:
                        report_step(UploadProgress("saving"))
                        if isinstance(index, MilvusIndex):
                            index.save()  # rows are in Milvus already: flush them
                        else:
                            index.save(folder)
                        copy_files(accepted, report)
            except Exception:
                with self._cache_lock:  # the in-memory index may hold unsaved passages
                    self._cache.pop(name, None)
                raise
            with self._cache_lock:
                self._cache[name] = index
        counts = {info.source: info.passages for info in index.sources}
        names = {doc.source: Path(doc.source).name for _, doc in accepted}
        names.update({source: Path(source).name for source in counts})
        lines = report_lines(report, counts, names, language) + lines
        return UploadResult(lines, report.changed, created and report.changed)

    def _read(
        self,
        paths: Sequence[str | PathLike[str]],
        files_dir: Path,
        report_step: Callable[[UploadProgress], None],
        language: str,
    ) -> tuple[list[UploadLine], list[tuple[Path, Document]]]:
        """Check and read each upload: the lines for the refused ones, and the accepted
        (upload path, document named as its copy in ``files_dir``)."""
        lines: list[UploadLine] = []
        accepted: list[tuple[Path, Document]] = []
        seen: set[str] = set()
        for number, raw in enumerate(paths, 1):
            path = Path(raw)
            shown = path.name
            report_step(UploadProgress("reading", number, len(paths), shown))
            target_name = safe_file_name(shown)
            problem = check_upload(path, shown, language)
            if problem is None and target_name in seen:
                problem = say(language, "file_same_name", name=shown)
            if problem is None:
                try:
                    document = read_document(path)
                except QAError as exc:
                    problem = document_problem(exc, shown, str(path), language)
                except Exception as exc:  # a reader library's own error: still the file's fault
                    problem = reader_problem(exc, shown, path.suffix.lower(), language)
            if problem is not None:
                lines.append(UploadLine("warn", say(language, "skipped", problem=problem)))
                continue
            seen.add(target_name)
            # The same document (text, pages) under the name of the copy kept in files/.
            kept = copy.copy(document)
            kept.source = str((files_dir / target_name).resolve())
            accepted.append((path, kept))
        return lines, accepted

    def _writable(self, name: str, folder: Path) -> AnyIndex:
        with self._cache_lock:
            index = self._cache.get(name)
        if index is not None:
            return index
        if self._is_store(name):
            return MilvusIndex.load(str(self.store))
        if is_index_folder(folder):
            return Index.load(folder, follow=True)
        _check_index_folder(folder)
        index = Index(load_encoder(DEFAULT_ENCODER))
        index.follow = True
        return index


def _load_passage_encoder(index: Any) -> None:
    """Load the encoder's passage model now (the default encoder loads sentence-transformers
    on its first passage, the longest step of a first upload), so that it is its own step."""
    loader = getattr(getattr(index, "encoder", None), "sentence_transformer", None)
    if callable(loader):
        loader()


def _check_index_folder(folder: Path) -> None:
    """Refuse a folder that holds something other than a qa index."""
    if is_index_folder(folder) or not folder.is_dir():
        return
    if any(not c.name.startswith(".") for c in folder.iterdir()):
        raise QAError(
            f"{folder} exists and is not a qa index; choose another name", kind="not_an_index"
        )


def _same_path(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False
