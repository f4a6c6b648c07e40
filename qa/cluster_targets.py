"""Where a cluster build writes: an index folder (FAISS) or a Milvus store.

Both take whole files, as the driver completes them, and keep the semantics of a
one-process build: files with their recorded checksum are skipped, a changed file replaces
its passages, nothing is half-written, and an interrupted build resumes without embedding
again what was written.

- :class:`FolderTarget` holds the folder's write lock for the whole build (a second build
  into the folder waits for it, saying who it waits for). Each finished file is written at
  once, atomically, into ``DIR/.partial/cluster/``; the index itself changes only at the
  end, when all new files go in and a new generation is saved atomically. A build stopped
  before then leaves the live index as it was, and the same build run again takes the
  files already in ``.partial/cluster`` instead of embedding them.
- :class:`StoreTarget` writes files to Milvus in groups (each file's rows, then its row in
  the sources collection, its commit record) under the store's build lock, which refuses a
  second cluster build at once. A file written is recorded: the same build run again skips
  it as unchanged.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from qa.chunking import ChunkingSettings
from qa.encoders import DEFAULT_ENCODER, load_encoder
from qa.errors import IndexStoreError, QAError
from qa.index import CHECKPOINT_FOLDER, EmbeddedFile, Index, SourceInfo
from qa.store import LOCK, is_index_folder, writing

if TYPE_CHECKING:
    from qa.milvus_store import MilvusIndex

# Inside an index folder: the files a cluster build finished before it was stopped.
CLUSTER_PARTS = "cluster"
# Texts (passages and windows) written to Milvus per group of files.
STORE_GROUP_TEXTS = 2048


class _Opened:
    """What both targets tell the build once opened: the encoder and what is held."""

    index: Index | MilvusIndex | None

    @property
    def encoder_name(self) -> str:
        """The name of the encoder the target's vectors were made with."""
        assert self.index is not None, "the target is not opened"
        return self.index.encoder.name

    @property
    def known(self) -> dict[str, SourceInfo]:
        """What the target holds, by source (nothing when rebuilding)."""
        assert self.index is not None, "the target is not opened"
        return {info.source: info for info in self.index.sources}


class FolderTarget(_Opened):
    """An index folder as the target of a cluster build (see the module docstring)."""

    def __init__(
        self,
        folder: Path,
        model: str | None,
        settings: ChunkingSettings,
        tokenizer: str,
        vector_index: str,
        rebuild: bool,
    ) -> None:
        self.folder = folder
        self.name = str(folder)
        self._model, self._settings, self._tokenizer = model, settings, tokenizer
        self._vector_index, self._rebuild = vector_index, rebuild
        self._parts = folder / CHECKPOINT_FOLDER / CLUSTER_PARTS
        self._done: dict[str, EmbeddedFile] = {}
        self.index: Index | None = None

    @contextlib.contextmanager
    def opened(self) -> Iterator[FolderTarget]:
        """Hold the folder's write lock and open (or start) its index for the build."""
        created = not self.folder.exists()
        try:
            with writing(self.folder):
                if is_index_folder(self.folder) and not self._rebuild:
                    index = Index.load(self.folder, model=self._model)
                    if index.settings != self._settings or index.tokenizer != self._tokenizer:
                        raise QAError(
                            f"{self.folder} was built with other chunking or tokenizer "
                            "settings; use --rebuild to start over"
                        )
                else:
                    encoder = load_encoder(self._model or DEFAULT_ENCODER)
                    index = Index(encoder, self._settings, self._tokenizer, self._vector_index)
                self.index = index
                yield self
        except BaseException:
            # A failed build into a new folder leaves nothing behind, unless it finished
            # files: they wait in .partial/cluster for the same build to take again.
            if created and not any(self._parts.glob("*.pkl")):
                shutil.rmtree(self._parts.parent, ignore_errors=True)
                (self.folder / LOCK).unlink(missing_ok=True)
                with contextlib.suppress(OSError):
                    self.folder.rmdir()
            raise

    def _part_path(self, source: str) -> Path:
        return self._parts / f"{hashlib.sha256(source.encode('utf-8')).hexdigest()[:32]}.pkl"

    def resumed(self, wanted: dict[str, str]) -> list[EmbeddedFile]:
        """Files of an interrupted build already written here with the checksum that this
        build wants (source -> SHA-256): they need no embedding."""
        found = []
        for source, sha256 in wanted.items():
            path = self._part_path(source)
            try:
                with path.open("rb") as handle:
                    file = pickle.load(handle)
            except (OSError, EOFError, pickle.UnpicklingError, AttributeError, TypeError):
                continue  # absent, or cut short by a crash: embedded again
            if (
                isinstance(file, EmbeddedFile)
                and (file.source, file.sha256) == (source, sha256)
                and file.passage_vectors.shape[1:] == (self._dim(),)
            ):
                self._done[source] = file
                found.append(file)
        return found

    def _dim(self) -> int:
        assert self.index is not None
        return self.index.encoder.dim

    def write(self, file: EmbeddedFile) -> None:
        """Keep a finished file: in memory, and on disk in .partial/cluster (atomically)."""
        self._parts.mkdir(parents=True, exist_ok=True)
        path = self._part_path(file.source)
        tmp = path.with_suffix(f".tmp-{os.getpid()}")
        try:
            with tmp.open("wb") as handle:
                pickle.dump(file, handle, protocol=5)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise IndexStoreError(f"cannot write {path}: {exc.strerror or exc}") from exc
        self._done[file.source] = file

    def after_loss(self) -> str:
        """What a build stopped by a lost cluster leaves here."""
        return (
            f"{self.folder} is as it was, and the files finished so far are kept in "
            f"{self._parts} for the same build to take again"
        )

    def finish(self, order: list[str], changed: bool) -> int:
        """Put every finished file into the index, in ``order``, and save it (one new
        generation, atomically); return the passages in the index."""
        index = self.index
        assert index is not None
        files = [self._done[source] for source in order if source in self._done]
        if files:
            index.add_embedded(files)
        if not len(index):
            raise QAError("the documents hold no text to index")
        if files or changed or self._rebuild or not is_index_folder(self.folder):
            index.save(self.folder)
        shutil.rmtree(self._parts.parent, ignore_errors=True)
        return len(index)


class StoreTarget(_Opened):
    """A Milvus store as the target of a cluster build (see the module docstring)."""

    def __init__(
        self,
        uri: str,
        model: str | None,
        settings: ChunkingSettings,
        tokenizer: str,
        vector_index: str,
        rebuild: bool,
    ) -> None:
        self.name = uri
        self._args = (model or DEFAULT_ENCODER, settings, tokenizer, vector_index, rebuild)
        self._group: list[EmbeddedFile] = []
        self._group_texts = 0
        self._written = 0
        self.index: MilvusIndex | None = None

    @contextlib.contextmanager
    def opened(self) -> Iterator[StoreTarget]:
        """Open (or create) the store and hold its build lock."""
        from qa.milvus_store import MilvusIndex

        model, settings, tokenizer, vector_index, rebuild = self._args
        index = MilvusIndex.create(
            self.name, model, settings, tokenizer, vector_index, replace=rebuild
        )
        try:
            command = " ".join(sys.argv)[:200] or "python"
            with index.build_lock(command):
                self.index = index
                yield self
        finally:
            index.close()

    def resumed(self, wanted: dict[str, str]) -> list[EmbeddedFile]:
        """Nothing: a file written to the store is recorded, and so is unchanged next time."""
        return []

    def after_loss(self) -> str:
        """What a build stopped by a lost cluster leaves here."""
        return (
            f"{self.name} holds only whole files ({self._written} written now); the same "
            "build finishes it"
        )

    def write(self, file: EmbeddedFile) -> None:
        """Write files to Milvus in groups of about STORE_GROUP_TEXTS texts."""
        self._group.append(file)
        self._group_texts += len(file.passages) + len(file.windows)
        if self._group_texts >= STORE_GROUP_TEXTS:
            self._flush()

    def _flush(self) -> None:
        if self._group:
            assert self.index is not None
            self.index.write_embedded(self._group)
            self._written += len(self._group)
            self._group, self._group_texts = [], 0

    def finish(self, order: list[str], changed: bool) -> int:
        """Write what is left and flush the store; return the passages in it."""
        self._flush()
        assert self.index is not None
        if not len(self.index):
            raise QAError("the documents hold no text to index")
        self.index.save()
        return len(self.index)
