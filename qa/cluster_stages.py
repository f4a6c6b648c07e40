"""The work a cluster build hands to Ray: checking, reading and chunking files (Ray tasks)
and embedding passages (a Ray Data actor per worker, each loading the model once).

These run on the cluster's workers, which import this module from the same ``qa``
installation as the driver. They use the library's own code, unchanged: reading
(:func:`qa.ingest.read_document`), chunking with every step that follows it
(:func:`qa.index.documents_to_add`), and embedding passages and their windows in the order
of a one-process build (:meth:`qa.index.Index.embed_passages`). Passages, skipped files and
vectors travel between the stages pickled in ``bytes`` columns, whole objects, so every
field of :class:`qa.chunking.Passage` arrives as it was made.
"""

from __future__ import annotations

import os
import pickle
import resource
import socket
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from qa.chunking import ChunkingSettings, Passage
from qa.errors import DocumentError
from qa.index import AddReport, Index, SourceInfo, documents_to_add
from qa.ingest import SkippedFile, read_document

# Passages per row between the stages: one embedding call (a few hundred texts).
PASSAGES_PER_PART = 32

# What a row of the reading stage holds for a file (``status``).
PASSAGES, SKIPPED, UNCHANGED = "passages", "skipped", "unchanged"


def dumps(value: Any) -> bytes:
    """Pickle a value for a ``bytes`` column (numpy arrays without copies: protocol 5)."""
    return pickle.dumps(value, protocol=5)


def loads(data: Any) -> Any:
    """Unpickle what :func:`dumps` made."""
    return pickle.loads(bytes(data))


def _column(values: list[Any]) -> np.ndarray:
    """A batch column of Python values (bytes stay bytes: no fixed-width numpy strings)."""
    column = np.empty(len(values), dtype=object)
    column[:] = values
    return column


def check_files(batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Ray task: open each file as a build does (type, size, text or not, encrypted or
    damaged PDFs...) and give its source name and checksum, or why it cannot be read."""
    sources, checksums, skipped = [], [], []
    for path in batch["path"]:
        try:
            document = read_document(str(path), defer=True)
        except DocumentError as exc:
            sources.append(str(path))
            checksums.append("")
            skipped.append(dumps(SkippedFile(source=str(path), reason=str(exc), kind=exc.kind)))
            continue
        sources.append(document.source)
        checksums.append(document.sha256)
        skipped.append(b"")
    return {
        "path": batch["path"],
        "source": _column(sources),
        "sha256": _column(checksums),
        "skipped": _column(skipped),
    }


def chunk_files(batch: dict[str, np.ndarray], settings: ChunkingSettings) -> dict[str, np.ndarray]:
    """Ray task: read and chunk each file (OCR included) with ``documents_to_add``, as a
    one-process build does; a file's passages leave in parts of PASSAGES_PER_PART.

    ``known`` (pickled SourceInfo or empty) is what the target holds under the file's name:
    a file that is back to that content is ``unchanged``; one that cannot be read or
    changed while it was read is ``skipped``, with the reason.
    """
    rows: dict[str, list[Any]] = {
        key: []
        for key in ("source", "sha256", "part", "parts", "status", "passages", "notes", "info")
    }

    def emit(source: str, sha256: str, part: int, parts: int, status: str, *data: bytes) -> None:
        for key, value in zip(rows, (source, sha256, part, parts, status, *data), strict=True):
            rows[key].append(value)

    for path, source, known in zip(batch["path"], batch["source"], batch["known"], strict=True):
        prior: dict[str, SourceInfo] = {}
        if known:
            info: SourceInfo = loads(known)
            prior[info.source] = info
        report = AddReport()
        try:
            document = read_document(str(path), defer=True)
            chunked = list(documents_to_add([document], prior, settings, report))
        except DocumentError as exc:
            skipped = SkippedFile(source=str(path), reason=str(exc), kind=exc.kind)
            emit(str(source), "", 0, 1, SKIPPED, b"", dumps([skipped]), b"")
            continue
        if not chunked:  # unchanged after all, or changed while it was read
            status = UNCHANGED if report.unchanged else SKIPPED
            emit(str(source), "", 0, 1, status, b"", dumps(report.skipped), b"")
            continue
        # The source's record (its reference date among it) goes with its passages.
        (document, passages, info), *_ = chunked
        parts = max(1, -(-len(passages) // PASSAGES_PER_PART))
        for part in range(parts):
            piece = passages[part * PASSAGES_PER_PART : (part + 1) * PASSAGES_PER_PART]
            notes = dumps(report.skipped) if part == 0 else dumps([])  # pages not read
            emit(
                document.source,
                document.sha256,
                part,
                parts,
                PASSAGES,
                dumps(piece),
                notes,
                dumps(info),
            )
    return {key: _column(values) for key, values in rows.items()}


@dataclass(frozen=True)
class WorkerStats:
    """What an embedding worker reports about itself: where it runs, how long it took to
    start (loading the model), its peak resident memory and the texts it embedded."""

    host: str
    pid: int
    device: str
    startup_s: float
    peak_rss_mb: float
    texts: int


class Embedder:
    """Ray Data actor: loads the encoder once, then embeds the passages of each row (their
    own texts and their sentence windows, exactly as :meth:`Index.embed_passages` does)."""

    def __init__(self, model: str, device: str, settings: ChunkingSettings, threads: int) -> None:
        started = time.monotonic()
        if device != "cuda":
            import torch

            torch.set_num_threads(threads)
        from qa.encoders import load_encoder

        encoder = load_encoder(model, device)
        load_model = getattr(encoder, "sentence_transformer", None)
        if load_model is not None:  # the default encoder loads its model on first use: now
            load_model()
        self._index = Index(encoder, settings)
        self._device = device
        self._startup = time.monotonic() - started
        self._texts = 0

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vectors: list[bytes] = []
        texts: list[int] = []
        for status, payload in zip(batch["status"], batch["passages"], strict=True):
            if status != PASSAGES:
                vectors.append(b"")
                texts.append(0)
                continue
            passages: list[Passage] = loads(payload)
            embedded = self._index.embed_passages(passages, False)
            count = len(embedded[0]) + len(embedded[2])
            self._texts += count
            texts.append(count)
            vectors.append(dumps(embedded))
        stats = WorkerStats(
            host=socket.gethostname(),
            pid=os.getpid(),
            device=self._device,
            startup_s=self._startup,
            peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            texts=self._texts,
        )
        out = dict(batch)
        out["vectors"] = _column(vectors)
        out["texts"] = np.array(texts, dtype=np.int64)
        out["worker"] = _column([dumps(stats)] * len(texts))
        return out
