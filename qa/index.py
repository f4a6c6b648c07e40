"""The qa facade: build, add to, save, load and search an index of documents.

>>> import qa
>>> idx = qa.Index.build(["docs/"])                 # doctest: +SKIP
>>> idx.save("index/docs")                          # doctest: +SKIP
>>> idx = qa.Index.load("index/docs")               # doctest: +SKIP
>>> for hit in idx.search("2020年地区生产总值是多少？", k=3):   # doctest: +SKIP
...     print(hit.score, hit.section, hit.sentence)
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import os
import threading
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from tqdm.auto import tqdm

from qa import verdict
from qa.annotation import ANNOTATION_VERSION, annotate, document_reference
from qa.answers import Answer, Hit, answer, rank
from qa.candidates import Candidates, PassageTraits
from qa.chunking import (
    CHUNKER_VERSION,
    ChunkingSettings,
    Passage,
    iter_passages,
    sentence_windows,
)
from qa.encoders import DEFAULT_ENCODER, Encoder, checked_vectors, load_encoder
from qa.errors import DocumentError, EncoderError, IndexStoreError
from qa.ingest import Document, SkippedFile, collect_files, iter_documents
from qa.lexical import DEFAULT_TOKENIZER, KeywordIndex
from qa.periods import ReferenceDate, parse_date
from qa.question import Question, check_query
from qa.ranking import KEYWORD_WEIGHT
from qa.store import (
    current_generation,
    is_index_folder,
    read_manifest,
    read_pointer,
    write_generation,
    writing,
)

PathLike = str | os.PathLike[str]
ProgressCallback = Callable[[int, int], None]

ENCODE_BATCH = 32
# An interrupted build loses at most this many embedded texts.
CHECKPOINT_EVERY = 256
# Where `qa build` keeps the vectors of an unfinished build, inside the index folder.
CHECKPOINT_FOLDER = ".partial"
# Above this many vectors an HNSW graph replaces exact search (see benchmarks/).
HNSW_THRESHOLD = 200_000
# Above this many vectors a compressed index replaces the graph, which keeps every full
# vector (about 1.8 KB a vector with its links): IVF lists of vectors quantised to
# COMPRESSED_CODEC (faiss.index_factory's name for the codes), so that 10 million passages
# and their windows fit in 8 GiB (docs/quality.md, "Ten million passages").
COMPRESS_THRESHOLD = 2_000_000
VECTOR_INDEX_KINDS = ("auto", "flat", "hnsw", "compressed")
COMPRESSED_CODEC = "SQ4"
# IVF_LISTS_PER_ROOT * sqrt(n) inverted lists, IVF_PROBES of them searched per query;
# trained on at most IVF_TRAIN_PER_LIST vectors a list.
IVF_LISTS_PER_ROOT = 4
IVF_PROBES = 32
IVF_TRAIN_PER_LIST = 64
# Fewer vectors than this cannot train a compressed index: an exact one serves them.
IVF_MIN_VECTORS = 1000
# Vectors fetched per query from each FAISS index; passages beyond score as the weakest.
DENSE_CANDIDATES = 1000
# A following index (Index.load(..., follow=True)) looks for a new generation at most this
# often (seconds), on search.
FOLLOW_INTERVAL = 1.0
# Loading retries this many times when a writer replaces the generation being read.
LOAD_ATTEMPTS = 5

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceInfo:
    """An indexed source file: its checksum, how many passages it gave, and its reference
    date (``date``: ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``; None when it has none), with
    where that came from (``date_origin``: ``text``, ``metadata`` or ``user``)."""

    source: str
    sha256: str
    passages: int
    date: str | None = None
    date_origin: str | None = None

    @property
    def reference(self) -> ReferenceDate | None:
        """The reference date as :class:`qa.periods.ReferenceDate`, or None."""
        if self.date is None:
            return None
        try:
            return parse_date(self.date, self.date_origin or "text")
        except ValueError:
            return None


def source_named(sources: Iterable[str], name: str) -> str:
    """The indexed source a user names: its path as indexed, its resolved path, or a file
    name no other indexed source has; DocumentError (kind ``not_indexed``) otherwise."""
    known = list(sources)
    if name in known:
        return name
    resolved = str(Path(name).expanduser().resolve())
    if resolved in known:
        return resolved
    same = [s for s in known if Path(s).name == Path(name).name]
    if len(same) == 1:
        return same[0]
    if same:
        raise DocumentError(
            f"{name!r} names {len(same)} indexed documents; give its full path",
            kind="not_indexed",
        )
    raise DocumentError(f"the index holds no document {name!r}", kind="not_indexed")


def date_setting(date: str | None) -> tuple[ReferenceDate | None, bool]:
    """What a date a user sets means: (the reference date, whether it is the user's).
    ``auto`` is (None, False): the document's own, to be found again; None is (None, True):
    no date. Raises DocumentError (kind ``date``) for text that is not a date."""
    if date is not None and date.strip().lower() == "auto":
        return None, False
    if date is None:
        return None, True
    try:
        return parse_date(date), True
    except ValueError as exc:
        raise DocumentError(str(exc), kind="date") from exc


def source_info(
    source: str, sha256: str, passages: int, reference: ReferenceDate | None, user: bool = False
) -> SourceInfo:
    """The record of a source with this reference date (``user``: set by the user, even to
    none)."""
    if reference is None:
        return SourceInfo(source, sha256, passages, None, "user" if user else None)
    return SourceInfo(source, sha256, passages, reference.iso(), reference.origin)


@dataclass
class AddReport:
    """What :meth:`Index.add` did with each file it was given."""

    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """True when the index content changed."""
        return bool(self.added or self.replaced)


@dataclass(frozen=True)
class _Contents:
    """Everything searchable, swapped as one object so searches never see a half-update."""

    passages: tuple[Passage, ...]
    paragraph_vectors: Any  # faiss index, one vector per passage
    window_vectors: Any  # faiss index, one vector per sentence window
    windows: np.ndarray  # (windows, 3) int32: passage row, first sentence, end sentence
    keyword: KeywordIndex
    sources: dict[str, SourceInfo]
    # Read from an index saved before passages were annotated, and annotated then.
    annotated_on_load: bool = False

    def passages_of(self, rows: list[int]) -> dict[int, Passage]:
        """The passages of the given rows."""
        return {row: self.passages[row] for row in rows}

    def vectors_of(self, rows: list[int]) -> np.ndarray:
        """The passage vectors of the given rows, one row each (a compressed index's as it
        decodes them)."""
        index = self.paragraph_vectors
        direct_map = getattr(index, "direct_map", None)
        if direct_map is not None and direct_map.type == direct_map.NoMap:
            index.make_direct_map()  # an IVF index reads its vectors back through it
        vectors = np.zeros((len(rows), index.d), dtype=np.float32)
        for n, row in enumerate(rows):
            vectors[n] = index.reconstruct(int(row))
        return vectors

    @functools.cached_property
    def traits(self) -> PassageTraits:
        """What the ranking knows of every passage: script, period, stance, reference date."""
        references = {source: info.reference for source, info in self.sources.items()}
        return PassageTraits.of(
            [p.script for p in self.passages],
            [p.period for p in self.passages],
            [p.stance for p in self.passages],
            [references.get(p.source) for p in self.passages],
        )


@dataclass(frozen=True)
class _Rows:
    """Some sources' passages with their vectors and windows, to put into other contents."""

    passages: list[Passage]
    passage_vectors: np.ndarray  # (passages, dim)
    windows: np.ndarray  # (windows, 3): row in ``passages``, first sentence, end sentence
    window_vectors: np.ndarray  # (windows, dim)
    sources: dict[str, SourceInfo]


@dataclass(frozen=True)
class EmbeddedFile:
    """One source file's passages with the vectors computed for them elsewhere (by the
    workers of a cluster build, :mod:`qa.cluster`): what :meth:`Index.add_embedded` puts
    into an index without embedding anything."""

    source: str
    sha256: str
    passages: list[Passage]
    passage_vectors: np.ndarray  # (passages, dim), in the order of ``passages``
    windows: np.ndarray  # (windows, 3): passage number in this file, first and end sentence
    window_vectors: np.ndarray  # (windows, dim)
    date: str | None = None  # its reference date, as SourceInfo has it
    date_origin: str | None = None


def _rows_of(contents: _Contents, sources: set[str], dim: int) -> _Rows:
    """The passages, vectors and windows of these sources, taken out of ``contents``."""
    chosen = np.array([p.source in sources for p in contents.passages], dtype=bool)
    rows = np.flatnonzero(chosen)
    local = np.full(len(contents.passages), -1, dtype=np.int64)
    local[rows] = np.arange(len(rows))
    windows = np.asarray(contents.windows, dtype=np.int64).reshape(-1, 3)
    window_chosen = chosen[windows[:, 0]] if len(windows) else np.zeros(0, dtype=bool)
    file_windows = windows[window_chosen].copy()
    file_windows[:, 0] = local[file_windows[:, 0]]
    empty = np.zeros((0, dim), dtype=np.float32)
    return _Rows(
        passages=[contents.passages[r] for r in rows],
        passage_vectors=_all_vectors(contents.paragraph_vectors)[chosen] if len(rows) else empty,
        windows=file_windows,
        window_vectors=_all_vectors(contents.window_vectors)[window_chosen]
        if len(file_windows)
        else empty,
        sources={s: info for s, info in contents.sources.items() if s in sources},
    )


def _merged(
    old: _Contents, new: _Rows, drop: set[str], dim: int, vector_index: str, tokenizer: str
) -> _Contents:
    """``old`` without the passages of the ``drop`` sources, then ``new`` appended."""
    keep = np.array([p.source not in drop for p in old.passages], dtype=bool)
    kept_rows = np.flatnonzero(keep)
    row_map = np.full(len(old.passages), -1, dtype=np.int64)
    row_map[kept_rows] = np.arange(len(kept_rows))
    old_windows = old.windows
    window_keep = keep[old_windows[:, 0]] if len(old_windows) else np.zeros(0, dtype=bool)
    kept_windows = old_windows[window_keep].astype(np.int64)
    kept_windows[:, 0] = row_map[kept_windows[:, 0]]
    new_windows = np.asarray(new.windows, dtype=np.int64).reshape(-1, 3).copy()
    new_windows[:, 0] += len(kept_rows)
    passages = tuple(p for p, k in zip(old.passages, keep, strict=True) if k) + tuple(new.passages)
    paragraph_matrix = np.vstack(
        [_all_vectors(old.paragraph_vectors)[keep], new.passage_vectors.reshape(-1, dim)]
    )
    window_matrix = np.vstack(
        [_all_vectors(old.window_vectors)[window_keep], new.window_vectors.reshape(-1, dim)]
    )
    sources = {s: info for s, info in old.sources.items() if s not in drop}
    sources.update(new.sources)
    return _Contents(
        passages=passages,
        paragraph_vectors=make_vector_index(
            paragraph_matrix, dim, vector_index, like=old.paragraph_vectors
        ),
        window_vectors=make_vector_index(window_matrix, dim, vector_index, like=old.window_vectors),
        windows=np.vstack([kept_windows, new_windows]).astype(np.int32),
        keyword=KeywordIndex.build([contextual_text(p) for p in passages], tokenizer),
        sources=sources,
    )


def check_chunker_version(version: int, has_passages: bool, name: str) -> None:
    """Refuse to add to passages that an older chunker made (they would not match new ones)."""
    if has_passages and version != CHUNKER_VERSION:
        raise IndexStoreError(
            f"{name} was chunked by chunker version {version}, this qa chunks with version "
            f"{CHUNKER_VERSION}; rebuild it (qa build ... --rebuild) before adding documents"
        )


def documents_to_add(
    documents: Iterable[Document],
    known: Mapping[str, SourceInfo],
    settings: ChunkingSettings,
    report: AddReport,
) -> Iterator[tuple[Document, list[Passage], SourceInfo]]:
    """Yield the new and changed documents with their annotated passages and their source
    record; record the rest in report.

    ``known`` is what an index holds, by source. A file with its recorded checksum is
    unchanged; one whose content is indexed under another name, or that changed or went
    away since it was read, is skipped; so is (in report.skipped, by file and page) a page
    of an added file that could not be read. A .txt or .md file streams through the chunker.
    The passages are annotated (:func:`qa.annotation.annotate`) against the document's
    reference date: the one its text states, else its file's; a date the user set for the
    source stays when the file changes.
    """
    by_checksum = {info.sha256: info.source for info in known.values()}
    for document in documents:
        info = known.get(document.source)
        if info is not None and info.sha256 == document.sha256:
            report.unchanged.append(document.source)
        elif document.sha256 in by_checksum and by_checksum[document.sha256] != document.source:
            report.skipped.append(
                SkippedFile(
                    document.source,
                    f"same content as {by_checksum[document.sha256]}",
                    kind="duplicate",
                )
            )
        else:
            try:
                passages = list(iter_passages(document.pieces(), document.source, settings))
            except DocumentError as exc:  # it changed or went away since it was read
                report.skipped.append(SkippedFile(document.source, str(exc), exc.kind))
                continue
            (report.replaced if info is not None else report.added).append(document.source)
            # Pages that could not be read (OCR found nothing): the rest of the file is in.
            report.skipped.extend(
                SkippedFile(document.source, str(p), kind="page", page_problem=p)
                for p in document.problems
            )
            by_checksum[document.sha256] = document.source
            user = info is not None and info.date_origin == "user"
            reference = info.reference if user and info is not None else None
            if not user:
                reference = document_reference(passages, document.metadata_date)
            passages = annotate(passages, reference)
            record = source_info(document.source, document.sha256, len(passages), reference, user)
            yield document, passages, record


def make_vector_index(vectors: np.ndarray, dim: int, kind: str = "auto", like: Any = None) -> Any:
    """A FAISS inner-product index over the vectors: exact (flat), HNSW or compressed
    (IVF lists of COMPRESSED_CODEC codes), by size (``auto``) or choice.

    ``like`` is an index the vectors partly come from (an older version of the same one):
    a compressed index of the same kind keeps its training (its lists and codebooks), so
    an update neither trains again nor re-quantises its old vectors any further.
    """
    if kind not in VECTOR_INDEX_KINDS:
        raise ValueError(f"unknown vector index kind {kind!r}; choose one of {VECTOR_INDEX_KINDS}")
    count = len(vectors)
    if kind == "auto":
        kind = (
            "compressed"
            if count > COMPRESS_THRESHOLD
            else "hnsw"
            if count > HNSW_THRESHOLD
            else "flat"
        )
    vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, dim)
    index: Any
    trained = (
        isinstance(like, faiss.IndexIVF)
        and like.d == dim
        and like.is_trained
        and describe_vector_index(like).get("codec") == COMPRESSED_CODEC
    )
    if kind == "compressed" and (trained or count >= IVF_MIN_VECTORS):
        return _compressed_index(vectors, dim, like if trained else None)
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 128
    else:
        index = faiss.IndexFlatIP(dim)
    if count:
        index.add(vectors)
    return index


def _compressed_index(vectors: np.ndarray, dim: int, like: Any) -> Any:
    """An IVF index of COMPRESSED_CODEC codes (``faiss.index_factory``), trained on a sample
    of the vectors unless ``like`` is one already trained (then a copy of it, emptied)."""
    index: Any
    if like is not None:
        index = faiss.clone_index(like)
        index.reset()
    else:
        count = len(vectors)
        # FAISS wants at least 39 training vectors a list.
        lists = max(1, min(int(IVF_LISTS_PER_ROOT * np.sqrt(count)), count // 39))
        index = faiss.index_factory(
            dim, f"IVF{lists},{COMPRESSED_CODEC}", faiss.METRIC_INNER_PRODUCT
        )
        if hasattr(index, "do_polysemous_training"):  # PQ codes: slow, for Hamming search
            index.do_polysemous_training = False
        sample = vectors
        if count > IVF_TRAIN_PER_LIST * lists:
            rng = np.random.default_rng(0)
            sample = vectors[np.sort(rng.choice(count, IVF_TRAIN_PER_LIST * lists, replace=False))]
        index.train(sample)
        index.nprobe = min(lists, IVF_PROBES)
    if len(vectors):
        index.add(vectors)
    return index


def describe_vector_index(index: Any) -> dict[str, Any]:
    """The type and parameters of a FAISS index, as the manifest records them."""
    index = faiss.downcast_index(index)
    hnsw: Any = getattr(index, "hnsw", None)
    described: dict[str, Any] = {"type": type(index).__name__, "dim": int(index.d)}
    if hnsw is not None:
        described.update(M=int(hnsw.nb_neighbors(1)), efSearch=int(hnsw.efSearch))
    elif isinstance(index, faiss.IndexIVF):
        codec = f"code{index.code_size}"
        if isinstance(index, faiss.IndexIVFPQ):
            codec = f"PQ{index.pq.M}" + (f"x{index.pq.nbits}" if index.pq.nbits != 8 else "")
        elif isinstance(index, faiss.IndexIVFScalarQuantizer):
            codec = _SQ_NAMES.get(int(index.sq.qtype), codec)
        described.update(
            factory=f"IVF{index.nlist},{codec}",
            codec=codec,
            nlist=int(index.nlist),
            nprobe=int(index.nprobe),
            code_bytes=int(index.code_size),
        )
    return described


# faiss.index_factory's names of the scalar quantisers.
_SQ_NAMES = {
    int(faiss.ScalarQuantizer.QT_4bit): "SQ4",
    int(faiss.ScalarQuantizer.QT_6bit): "SQ6",
    int(faiss.ScalarQuantizer.QT_8bit): "SQ8",
    int(faiss.ScalarQuantizer.QT_fp16): "SQfp16",
}


def _check_vector_index(index: Any, expected: Any, path: Path) -> None:
    """Raise IndexStoreError when a loaded FAISS index is not the one the manifest names."""
    if expected is None:  # an index saved before the manifest recorded it
        return
    found = describe_vector_index(index)
    if found != expected:
        raise IndexStoreError(
            f"{path} is not the vector index its manifest names: it is {found}, the manifest "
            f"says {expected}; the index is damaged or was changed by another program"
        )


def _all_vectors(index: Any) -> np.ndarray:
    """Every vector of a FAISS index, in order (a compressed index's as it decodes them)."""
    if index.ntotal == 0:
        return np.zeros((0, index.d), dtype=np.float32)
    direct_map = getattr(index, "direct_map", None)
    if direct_map is not None and direct_map.type == direct_map.NoMap:
        index.make_direct_map()  # an IVF index reads its vectors back through it
    return np.asarray(index.reconstruct_n(0, index.ntotal), dtype=np.float32)


def contextual_text(passage: Passage) -> str:
    """A passage's text headed by its section path: what its vector and BM25 entry see.

    The headings carry what the paragraph leaves implicit (the year, the topic).
    """
    if not passage.section:
        return passage.text
    return f"{passage.section_path}\n{passage.text}"


def _window_text(passage: Passage, first: int, end: int) -> str:
    return passage.text[passage.sentences[first][0] : passage.sentences[end - 1][1]]


class EmbeddingCheckpoint:
    """Vectors computed so far by a build, kept in a folder so an interrupted build resumes.

    Vectors are keyed by a hash of the encoder name and the text, and written in parts,
    each atomically, every ``CHECKPOINT_EVERY`` texts. :meth:`Index.save` does not read it;
    the caller removes the folder once the index is saved (see ``qa build``).
    """

    def __init__(self, folder: Path, encoder: Encoder) -> None:
        self.folder = folder
        self._encoder_name = encoder.name
        self._dim = encoder.dim
        self._keys: list[bytes] = []
        self._vectors: list[np.ndarray] = []

    def _key(self, text: str) -> bytes:
        return hashlib.sha1(f"{self._encoder_name}\0{text}".encode()).digest()

    def fill(self, texts: list[str], vectors: np.ndarray) -> list[int]:
        """Copy saved vectors of known texts into ``vectors``; return the indices still to do."""
        known: dict[bytes, np.ndarray] = {}
        for part in sorted(self.folder.glob("part-*.npz")):
            try:
                with np.load(part, allow_pickle=False) as data:
                    keys, saved = data["keys"], data["vectors"]
            except (OSError, ValueError, KeyError, zipfile.BadZipFile):
                continue  # a part cut short by a crash: its texts are embedded again
            if saved.ndim != 2 or saved.shape[1] != self._dim:
                continue
            known.update(zip((bytes(k) for k in keys), saved, strict=True))
        todo = []
        for i, text in enumerate(texts):
            vector = known.get(self._key(text))
            if vector is None:
                todo.append(i)
            else:
                vectors[i] = vector
        return todo

    def add(self, texts: list[str], vectors: np.ndarray) -> None:
        """Remember vectors; written to disk every ``CHECKPOINT_EVERY`` texts."""
        self._keys.extend(self._key(text) for text in texts)
        self._vectors.append(np.array(vectors, dtype=np.float32))
        if len(self._keys) >= CHECKPOINT_EVERY:
            self.flush()

    def flush(self) -> None:
        """Write the remembered vectors as one new part file (atomically)."""
        if not self._keys:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        number = len(list(self.folder.glob("part-*.npz"))) + 1
        target = self.folder / f"part-{number:06d}-{os.getpid()}.npz"
        tmp = target.with_suffix(".tmp")
        with tmp.open("wb") as handle:
            np.savez(
                handle,
                keys=np.array(self._keys, dtype="S20"),
                vectors=np.vstack(self._vectors),
            )
        os.replace(tmp, target)
        self._keys, self._vectors = [], []


class Index:
    """A searchable collection of passages: FAISS vectors plus a BM25 keyword index.

    Build one with :meth:`build` or :meth:`load`; search it with :meth:`search`.
    """

    def __init__(
        self,
        encoder: Encoder,
        settings: ChunkingSettings | None = None,
        tokenizer: str = DEFAULT_TOKENIZER,
        vector_index: str = "auto",
    ) -> None:
        self.encoder = encoder
        self.settings = settings or ChunkingSettings()
        self.tokenizer = tokenizer
        self.vector_index = vector_index
        self.path: Path | None = None
        # Version of the chunker that made the passages (older indexes may differ).
        self.chunker_version = CHUNKER_VERSION
        # Guards _contents changes, _generation and _changed (adds, refreshes, saves).
        self._write_lock = threading.Lock()
        # The generation of ``path`` the contents come from, CURRENT's text then, and the
        # sources added or replaced since (what a save puts onto a newer generation).
        self._generation: str | None = None
        self._pointer: bytes | None = None
        self._changed: set[str] = set()
        self.follow = False
        self._checked_at = 0.0
        self._refused: bytes | None = None  # a CURRENT that following could not switch to
        # The verdict's baseline and the contents it was computed on (see _baseline).
        self._verdict_baseline: tuple[_Contents, verdict.Baseline] | None = None
        # The app asks the same question in several modes: embed it once.
        self._query_vector = functools.lru_cache(maxsize=1024)(self._embed_query)
        self._contents = _Contents(
            passages=(),
            paragraph_vectors=make_vector_index(np.zeros((0, encoder.dim)), encoder.dim, "flat"),
            window_vectors=make_vector_index(np.zeros((0, encoder.dim)), encoder.dim, "flat"),
            windows=np.zeros((0, 3), dtype=np.int32),
            keyword=KeywordIndex.build([], tokenizer),
            sources={},
        )

    # ---- building -------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        paths: Sequence[PathLike] | PathLike,
        model: str = DEFAULT_ENCODER,
        settings: ChunkingSettings | None = None,
        tokenizer: str = DEFAULT_TOKENIZER,
        vector_index: str = "auto",
        progress: bool | ProgressCallback = False,
        checkpoint: PathLike | None = None,
        device: str | None = None,
    ) -> Index:
        """Read, chunk and embed documents (files or folders) into a new in-memory index.

        ``progress`` is True for a progress bar on stderr, or a callback ``(done, total)``;
        ``checkpoint`` is a folder that makes an interrupted build resumable (see
        :meth:`add`); ``device`` is ``auto``, ``cpu`` or ``cuda`` (see
        :func:`qa.encoders.load_encoder`). Raises DocumentError when a path is missing or
        nothing is readable.
        """
        index = cls(load_encoder(model, device), settings, tokenizer, vector_index)
        index.add(paths, progress=progress, checkpoint=checkpoint)
        if not index._contents.passages:
            raise DocumentError("the documents hold no text to index")
        return index

    def add(
        self,
        paths: Sequence[PathLike] | PathLike,
        progress: bool | ProgressCallback = False,
        checkpoint: PathLike | None = None,
    ) -> AddReport:
        """Add files or folders; unchanged files are skipped, changed files replaced.

        Files are read and chunked one at a time (their raw text is not kept; a .txt or .md
        file streams through the chunker, never held whole). A file that changes between
        being read and being chunked is skipped, as the report says. Nothing is re-embedded
        for passages already in the index. The in-memory index only changes once every new
        passage is embedded, so a failure changes nothing; call
        :meth:`save` to persist the result. With ``checkpoint`` (a folder), vectors are
        also written there as they are computed, so an interrupted run resumes where it
        stopped. Raises DocumentError when a path is missing or nothing is readable.
        """
        if isinstance(paths, str | os.PathLike):
            paths = [paths]
        skipped: list[SkippedFile] = []
        documents = iter_documents(collect_files(paths), skipped, paths)
        return self.add_documents(documents, skipped, progress, checkpoint)

    def add_documents(
        self,
        documents: Iterable[Document],
        skipped: Sequence[SkippedFile] = (),
        progress: bool | ProgressCallback = False,
        checkpoint: PathLike | None = None,
    ) -> AddReport:
        """Add already-read documents (see :meth:`add`); ``skipped`` is passed to the report."""
        check_chunker_version(self.chunker_version, len(self) > 0, "this index")
        with self._write_lock:
            return self._add_documents(documents, skipped, progress, checkpoint)

    def _add_documents(
        self,
        documents: Iterable[Document],
        skipped: Sequence[SkippedFile],
        progress: bool | ProgressCallback,
        checkpoint: PathLike | None,
    ) -> AddReport:
        report = AddReport()
        old = self._contents
        new_passages: list[Passage] = []
        new_sources: dict[str, SourceInfo] = {}
        for document, chunks, info in documents_to_add(
            documents, old.sources, self.settings, report
        ):
            new_passages.extend(chunks)
            new_sources[document.source] = info
        report.skipped[:0] = skipped  # filled while the documents were read
        if not new_sources:
            return report
        store = EmbeddingCheckpoint(Path(checkpoint), self.encoder) if checkpoint else None
        passage_vectors, window_rows, window_vectors = self.embed_passages(
            new_passages, progress, store
        )

        new = _Rows(new_passages, passage_vectors, window_rows, window_vectors, new_sources)
        self._contents = _merged(
            old, new, set(report.replaced), self.encoder.dim, self.vector_index, self.tokenizer
        )
        self._changed.update(new_sources)
        return report

    def set_date(self, source: str, date: str | None) -> SourceInfo:
        """Set the reference date of an indexed document, the date its relative times
        (去年, "last year") are read against, when the one found is wrong or missing.

        ``source`` is the document's path as indexed, or its file name when no other
        indexed document has it. ``date`` is ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``;
        None says the document has no date; ``"auto"`` gives it back the one it states
        (its text's, or the metadata recorded when it was read: set dates keep nothing of
        it, so ``auto`` reads the date its passages state). The document's passages get
        their periods again; nothing is embedded again. Call :meth:`save` to keep it.
        Returns the new source record. Raises DocumentError (kind ``date``) for a date that
        is not one, (kind ``not_indexed``) for a document the index does not hold.
        """
        wanted = source_named(self._contents.sources, source)
        reference, user = date_setting(date)
        with self._write_lock:
            contents = self._contents
            rows = [n for n, p in enumerate(contents.passages) if p.source == wanted]
            mine = [contents.passages[n] for n in rows]
            if not user:
                reference = document_reference(mine)
            info = contents.sources[wanted]
            record = source_info(wanted, info.sha256, info.passages, reference, user)
            passages = list(contents.passages)
            for row, passage in zip(rows, annotate(mine, reference, facts=False), strict=True):
                passages[row] = passage
            sources = dict(contents.sources)
            sources[wanted] = record
            self._contents = dataclasses.replace(
                contents, passages=tuple(passages), sources=sources, annotated_on_load=False
            )
            self._changed.add(wanted)
        return record

    def embed_passages(
        self,
        passages: list[Passage],
        progress: bool | ProgressCallback,
        checkpoint: EmbeddingCheckpoint | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Embed passages and their sentence windows in batches, with optional progress.

        Returns the passage vectors, the (passage row, first sentence, end sentence) rows of
        the windows, and the window vectors. Texts found in ``checkpoint`` are not embedded.
        """
        texts = [contextual_text(p) for p in passages]
        rows: list[tuple[int, int, int]] = []
        for row, passage in enumerate(passages):
            for first, end in sentence_windows(passage, self.settings.window_sentences):
                rows.append((row, first, end))
                texts.append(_window_text(passage, first, end))
        vectors = np.zeros((len(texts), self.encoder.dim), dtype=np.float32)
        todo = list(range(len(texts)))
        if checkpoint is not None:
            todo = checkpoint.fill(texts, vectors)
        # Similar lengths in a batch waste less work on padding.
        todo.sort(key=lambda i: len(texts[i]))
        done = len(texts) - len(todo)
        bar = tqdm(
            total=len(texts),
            initial=done,
            unit="text",
            desc="embedding",
            disable=progress is not True,
            dynamic_ncols=True,
        )
        try:
            for start in range(0, len(todo), ENCODE_BATCH):
                batch = todo[start : start + ENCODE_BATCH]
                batch_texts = [texts[i] for i in batch]
                try:
                    vectors[batch] = checked_vectors(
                        self.encoder.encode_passages(batch_texts),
                        len(batch),
                        self.encoder.dim,
                        self.encoder.name,
                    )
                except EncoderError:
                    raise
                except Exception as exc:
                    raise EncoderError(f"encoder {self.encoder.name} failed: {exc}") from exc
                if checkpoint is not None:
                    checkpoint.add(batch_texts, vectors[batch])
                done += len(batch)
                bar.update(len(batch))
                if callable(progress):
                    progress(done, len(texts))
        finally:
            bar.close()
            if checkpoint is not None:
                checkpoint.flush()
        window_rows = np.array(rows, dtype=np.int64).reshape(-1, 3)
        return vectors[: len(passages)], window_rows, vectors[len(passages) :]

    def add_embedded(self, files: Sequence[EmbeddedFile]) -> None:
        """Put files whose passages were chunked and embedded elsewhere into the index, in
        the given order; a file already here is replaced. Nothing is embedded. Raises
        EncoderError when a file's vectors do not fit its passages or this encoder."""
        check_chunker_version(self.chunker_version, len(self) > 0, "this index")
        dim = self.encoder.dim
        passages: list[Passage] = []
        vectors, window_vectors, windows = [], [], []
        for file in files:
            count, window_count = len(file.passages), len(file.windows)
            vectors.append(checked_vectors(file.passage_vectors, count, dim, self.encoder.name))
            window_vectors.append(
                checked_vectors(file.window_vectors, window_count, dim, self.encoder.name)
            )
            rows = np.asarray(file.windows, dtype=np.int64).reshape(-1, 3).copy()
            if window_count and (rows[:, 0].min() < 0 or rows[:, 0].max() >= count):
                raise EncoderError(f"{file.source}: its windows name passages it does not have")
            rows[:, 0] += len(passages)
            windows.append(rows)
            passages.extend(file.passages)
        sources = {
            f.source: SourceInfo(f.source, f.sha256, len(f.passages), f.date, f.date_origin)
            for f in files
        }
        new = _Rows(
            passages,
            np.vstack([np.zeros((0, dim), dtype=np.float32), *vectors]),
            np.vstack([np.zeros((0, 3), dtype=np.int64), *windows]),
            np.vstack([np.zeros((0, dim), dtype=np.float32), *window_vectors]),
            sources,
        )
        with self._write_lock:
            old = self._contents
            replaced = set(sources) & set(old.sources)
            self._contents = _merged(old, new, replaced, dim, self.vector_index, self.tokenizer)
            self._changed.update(sources)

    # ---- reading --------------------------------------------------------------------

    @property
    def passages(self) -> tuple[Passage, ...]:
        """All passages, in index order."""
        self._follow_saved()
        return self._contents.passages

    @property
    def sources(self) -> list[SourceInfo]:
        """The indexed source files, in the order they were added."""
        self._follow_saved()
        return list(self._contents.sources.values())

    def __len__(self) -> int:
        self._follow_saved()
        return len(self._contents.passages)

    def search(
        self,
        question: str,
        k: int = 5,
        mode: str = "hybrid",
        keyword_weight: float = KEYWORD_WEIGHT,
    ) -> list[Hit]:
        """Return the k passages that best answer the question, best first.

        ``mode`` is ``hybrid`` (default: keyword and dense scores fused, with exact matches
        of the numbers the question names), ``dense`` or ``keyword``. Raises QueryError for
        an empty, over-long or wordless question.
        """
        asked = check_query(question, k, mode)
        self._follow_saved()
        contents = self._contents
        candidates = self._candidates(contents, asked, mode)
        return rank(asked, candidates, k, mode, contents.passages_of, keyword_weight).hits

    def ask(self, question: str, k: int = 5, mode: str = "hybrid") -> Answer:
        """Answer the question: the k best passages (as :meth:`search`) and the verdict.

        ``found`` says whether the top passages answer the question (None when the encoder
        has no calibration); the verdict comes from the same search. Raises QueryError for
        an empty, over-long or wordless question.
        """
        asked = check_query(question, k, mode)
        self._follow_saved()
        contents = self._contents
        candidates = self._candidates(contents, asked, "all")
        return answer(
            asked,
            candidates,
            k,
            mode,
            contents.passages_of,
            contents.vectors_of,
            self.encoder.name,
            lambda: self._baseline(contents),
        )

    def _baseline(self, contents: _Contents) -> verdict.Baseline:
        """The verdict's baseline for these contents: computed on the first verdict after
        each change (the probe questions, one search each), then kept."""
        cached = self._verdict_baseline
        if cached is not None and cached[0] is contents:
            return cached[1]

        baseline = verdict.probe_baseline(
            lambda probe, vector: self._candidates(contents, probe, "all", vector[None, :]),
            contents.passages_of,
            self.encoder,
        )
        self._verdict_baseline = (contents, baseline)
        return baseline

    def _embed_query(self, question: str) -> np.ndarray:
        vector = checked_vectors(
            self.encoder.encode_queries([question]), 1, self.encoder.dim, self.encoder.name
        )
        vector.setflags(write=False)
        return vector

    def _candidates(
        self, contents: _Contents, question: Question, mode: str, query: np.ndarray | None = None
    ) -> Candidates:
        """Every passage as a candidate, with the scores the mode needs (``all``: every score).

        Passage vectors and windows are fetched as the DENSE_CANDIDATES (windows: 4x)
        best; a passage not fetched gets the weakest passage-vector score fetched.
        ``query`` is the question's vector (1 x dim) when it is embedded already.
        """
        count = len(contents.passages)
        keyword = numbers = paragraph = None
        fetched = np.zeros(0, dtype=np.float32)
        windows = np.zeros((0, 4))
        if count and mode != "dense":
            keyword = contents.keyword.scores(question.text)
            if mode != "keyword":
                numbers = contents.keyword.number_matches(question.text)
        if count and mode != "keyword":
            if query is None:
                query = self._query_vector(question.text)
            found_scores, found_ids = contents.paragraph_vectors.search(
                query, min(count, DENSE_CANDIDATES)
            )
            valid = found_ids[0] >= 0
            fetched = found_scores[0][valid]
            paragraph = np.full(count, float(fetched.min()), dtype=np.float32)
            paragraph[found_ids[0][valid]] = fetched
            total_windows = contents.window_vectors.ntotal
            if total_windows:
                window_scores, window_ids = contents.window_vectors.search(
                    query, min(total_windows, 4 * DENSE_CANDIDATES)
                )
                hit = window_ids[0] >= 0
                rows = contents.windows[window_ids[0][hit]]
                windows = np.column_stack([rows, window_scores[0][hit]])
        return Candidates.from_scores(
            np.arange(count),
            keyword,
            paragraph,
            numbers,
            fetched,
            windows,
            traits=contents.traits,
        )

    # ---- disk -----------------------------------------------------------------------

    def manifest(self, contents: _Contents | None = None) -> dict[str, Any]:
        """What this index needs to be reloaded correctly (written beside it on save)."""
        contents = contents or self._contents
        return {
            "encoder": {
                "name": self.encoder.name,
                "dim": self.encoder.dim,
                # What embedded the passages, and what embeds a question (same model).
                "engine": getattr(self.encoder, "engine", "unknown"),
                "query_engine": getattr(self.encoder, "query_engine", "unknown"),
            },
            "chunking": asdict(self.settings),
            "chunker_version": self.chunker_version,
            "keyword": {"tokenizer": self.tokenizer, "library": "bm25s"},
            "vector_index": self.vector_index,
            # What each FAISS file holds (type and parameters): a mismatch on load is an error.
            "vector_indexes": {
                "paragraphs": describe_vector_index(contents.paragraph_vectors),
                "windows": describe_vector_index(contents.window_vectors),
            },
            "counts": {"passages": len(contents.passages), "windows": len(contents.windows)},
            "sources": [asdict(info) for info in contents.sources.values()],
            # What qa.annotation stored with the passages (older: annotated when loaded).
            "annotation_version": ANNOTATION_VERSION,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }

    def _is_from(self, folder: Path) -> bool:
        """True when the contents were loaded from (or saved to) ``folder``."""
        if self._generation is None or self.path is None:
            return False
        return os.path.abspath(self.path) == os.path.abspath(folder)

    def save(self, folder: PathLike | None = None) -> Path:
        """Write the index to ``folder`` (default: where it was loaded from or last saved).

        The write is atomic (the previous content stays until done) and holds the folder's
        write lock, waiting for any other writer. When the folder is where this index came
        from and another process has saved a newer generation since, the files this index
        added or replaced are put onto that newer generation (their vectors are reused):
        no writer's update is lost. An index that did not come from ``folder`` (a new
        build) replaces what is there.
        """
        if folder is None:
            if self.path is None:
                raise ValueError("this index was never loaded or saved: give a folder")
            folder = self.path
        folder = Path(folder)
        with writing(folder), self._write_lock:
            if self._is_from(folder) and is_index_folder(folder):
                self._catch_up(folder)
            contents = self._contents

            def write_files(tmp: Path) -> None:
                with (tmp / "passages.jsonl").open("w", encoding="utf-8") as handle:
                    for passage in contents.passages:
                        record = asdict(passage)
                        handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                # faiss.write_index ignores a failed close (a full disk): write with Python.
                (tmp / "paragraphs.faiss").write_bytes(
                    faiss.serialize_index(contents.paragraph_vectors).tobytes()
                )
                (tmp / "windows.faiss").write_bytes(
                    faiss.serialize_index(contents.window_vectors).tobytes()
                )
                np.save(tmp / "windows.npy", contents.windows.astype(np.int32), allow_pickle=False)
                contents.keyword.save(tmp)

            manifest = self.manifest(contents)
            if self.encoder.name in verdict.CALIBRATIONS:
                # Saved with the index: a verdict after loading need not ask the probes.
                baseline = verdict.baseline_record(self._baseline(contents))
                manifest["verdict_baseline"] = baseline
            target = write_generation(folder, manifest, write_files)
            self.path = folder
            self._generation = target.name
            self._pointer = read_pointer(folder)
            self._changed.clear()
        return folder

    def refresh(self) -> bool:
        """Switch to the newest generation saved in :attr:`path` by any process.

        Files this index added or replaced and has not saved yet are kept (put onto the
        newer generation). Searches already running finish on the old contents. Returns
        True when the contents changed. Raises IndexStoreError when the newer generation
        is damaged or was built with another encoder or settings.
        """
        if self.path is None:
            return False
        with self._write_lock:
            return self._catch_up(self.path)

    def _follow_saved(self) -> None:
        """With :attr:`follow`, refresh at most every FOLLOW_INTERVAL seconds, never waiting."""
        if not self.follow or self.path is None:
            return
        now = time.monotonic()
        if now - self._checked_at < FOLLOW_INTERVAL:
            return
        if not self._write_lock.acquire(blocking=False):
            return  # an add or save is running: it leaves the contents up to date
        try:
            self._checked_at = now
            if read_pointer(self.path) != self._refused:
                self._catch_up(self.path)
        except IndexStoreError as exc:
            # Keep answering from the generation in memory; say so once per new CURRENT.
            log.warning("%s: keeping the loaded index: %s", self.path, exc)
            self._refused = read_pointer(self.path)
        finally:
            self._write_lock.release()

    def _catch_up(self, folder: Path) -> bool:
        """Move onto the live generation of ``folder`` if it is newer (holding _write_lock)."""
        if read_pointer(folder) == self._pointer:
            return False
        wanted = (self.encoder.name, self.encoder.dim, self.settings, self.tokenizer)

        def newer(generation: Path, manifest: dict[str, Any]) -> bool:
            if generation.name == self._generation:
                return False
            if _parse_manifest(generation, manifest)[:4] != wanted:
                raise IndexStoreError(
                    f"{folder} was rebuilt with another encoder, chunking or tokenizer "
                    f"({generation.name}); load it again"
                )
            return True

        generation, manifest, pointer, read = _read_live_contents(folder, newer)
        if read is None:
            self._pointer = pointer
            return False
        contents = read
        if self._changed:
            mine = _rows_of(self._contents, self._changed, self.encoder.dim)
            contents = _merged(
                contents, mine, self._changed, self.encoder.dim, self.vector_index, self.tokenizer
            )
        self.chunker_version = int(manifest.get("chunker_version", 0))
        self._contents = contents
        if not self._changed:
            self._keep_saved_baseline(contents, manifest)
        self._generation = generation.name
        self._pointer = pointer
        return True

    def lacks_verdict_baseline(self) -> bool:
        """True when the encoder has a calibration but the verdict's baseline for the
        current contents is not known (not saved with the index, nor computed since): the
        first verdict then computes it, 0.29 s for the bundled report here (the probe
        questions are embedded, once per process, and asked). A save records it."""
        cached = self._verdict_baseline
        known = cached is not None and cached[0] is self._contents
        return self.encoder.name in verdict.CALIBRATIONS and not known

    def annotated_on_load(self) -> bool:
        """True when the contents come from an index saved before its passages were
        annotated (:mod:`qa.annotation`): they were annotated when loaded, and a save keeps
        that, so the next load need not do it again."""
        return self._contents.annotated_on_load

    def _keep_saved_baseline(self, contents: _Contents, manifest: dict[str, Any]) -> None:
        """Use the verdict baseline saved in the manifest, when it is there and current."""
        saved = verdict.baseline_from_record(manifest.get("verdict_baseline"))
        if saved is not None:
            self._verdict_baseline = (contents, saved)

    @classmethod
    def load(
        cls,
        folder: PathLike,
        model: str | None = None,
        follow: bool = False,
        device: str | None = None,
    ) -> Index:
        """Load an index saved by :meth:`save`.

        ``model``, when given, must be the encoder the index was built with; ``device`` is
        where its encoder runs (see :func:`qa.encoders.load_encoder`). With
        ``follow=True`` the index watches its folder: a search (or a look at
        :attr:`sources`) at most once a second checks CURRENT and switches to a generation
        saved by another process (see :meth:`refresh`). Raises IndexStoreError when the
        folder is missing, damaged, of another format, or built with another encoder.
        """
        folder = Path(folder)
        generation, manifest, pointer = _read_live(folder)
        encoder_name, encoder_dim, settings, tokenizer, sources = _parse_manifest(
            generation, manifest
        )
        if model is not None and model != encoder_name:
            raise IndexStoreError(
                f"{folder} was built with encoder {encoder_name!r}, not {model!r}; "
                f"rebuild it with --model {model} or load it without a model"
            )
        encoder = load_encoder(encoder_name, device)
        if encoder.dim != encoder_dim:
            raise IndexStoreError(
                f"{folder} holds {encoder_dim}-dimensional vectors but encoder "
                f"{encoder_name!r} makes {encoder.dim}-dimensional ones"
            )
        first = (encoder_name, encoder_dim, settings, tokenizer)

        def same_build(generation: Path, manifest: dict[str, Any]) -> bool:
            if _parse_manifest(generation, manifest)[:4] != first:
                raise _Rebuilt
            return True

        try:
            generation, manifest, pointer, read = _read_live_contents(
                folder, same_build, (generation, manifest, pointer)
            )
        except _Rebuilt:  # rebuilt by a writer since we looked: start again
            return cls.load(folder, model, follow, device)
        assert read is not None
        contents = read
        index = cls(encoder, settings, tokenizer, manifest.get("vector_index", "auto"))
        index.chunker_version = int(manifest.get("chunker_version", 0))
        index._contents = contents
        index._keep_saved_baseline(contents, manifest)
        index.path = folder
        index._generation = generation.name
        index._pointer = pointer
        index.follow = follow
        index._checked_at = time.monotonic()
        return index


def _read_live(folder: Path) -> tuple[Path, dict[str, Any], bytes | None]:
    """The live generation, its checked manifest and CURRENT's text, retrying when a
    writer replaces the generation while it is being read."""
    for attempt in range(LOAD_ATTEMPTS):
        pointer = read_pointer(folder)
        try:
            generation = current_generation(folder)
            return generation, read_manifest(generation), pointer
        except IndexStoreError:
            if attempt + 1 == LOAD_ATTEMPTS or read_pointer(folder) == pointer:
                raise
    raise AssertionError("unreachable")


class _Rebuilt(Exception):
    """The live generation was built otherwise than the one a load started from."""


def _read_live_contents(
    folder: Path,
    wanted: Callable[[Path, dict[str, Any]], bool],
    live: tuple[Path, dict[str, Any], bytes | None] | None = None,
) -> tuple[Path, dict[str, Any], bytes | None, _Contents | None]:
    """The live generation of ``folder``, its manifest, CURRENT's text and the data read
    into memory, retrying when a writer replaces the generation (and removes the old one)
    while it is read. ``wanted(generation, manifest)`` is asked first: False leaves the
    data unread (None); it raises to refuse the generation. ``live`` is what
    :func:`_read_live` just gave, when the caller has it (its checksums are not computed
    again)."""
    for attempt in range(LOAD_ATTEMPTS):
        generation, manifest, pointer = live if live and not attempt else _read_live(folder)
        if not wanted(generation, manifest):
            return generation, manifest, pointer, None
        try:
            dim = _parse_manifest(generation, manifest)[1]
            return generation, manifest, pointer, _read_contents(generation, manifest, dim)
        except IndexStoreError:
            if attempt + 1 == LOAD_ATTEMPTS or read_pointer(folder) == pointer:
                raise
    raise AssertionError("unreachable")


def _parse_manifest(
    generation: Path, manifest: dict[str, Any]
) -> tuple[str, int, ChunkingSettings, str, dict[str, SourceInfo]]:
    """Encoder name and dimension, chunking settings, tokenizer and sources of a manifest."""
    try:
        return (
            manifest["encoder"]["name"],
            int(manifest["encoder"]["dim"]),
            ChunkingSettings(**manifest["chunking"]),
            manifest["keyword"]["tokenizer"],
            {s["source"]: SourceInfo(**s) for s in manifest["sources"]},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise IndexStoreError(f"{generation / 'manifest.json'} is damaged: {exc}") from exc


def _read_contents(generation: Path, manifest: dict[str, Any], dim: int) -> _Contents:
    """Read a generation's data files (checked by :func:`read_manifest`) into memory."""
    sources = _parse_manifest(generation, manifest)[4]
    try:
        passages = []
        with (generation / "passages.jsonl").open(encoding="utf-8") as handle:
            for line in handle:
                passages.append(Passage.from_record(json.loads(line)))
        paragraph_vectors = faiss.read_index(str(generation / "paragraphs.faiss"))
        window_vectors = faiss.read_index(str(generation / "windows.faiss"))
        recorded = manifest.get("vector_indexes") or {}
        windows = np.load(generation / "windows.npy", allow_pickle=False)
        keyword = KeywordIndex.load(generation)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise IndexStoreError(f"{generation} is damaged: {exc}") from exc
    if (
        paragraph_vectors.ntotal != len(passages)
        or window_vectors.ntotal != len(windows)
        or keyword.size != len(passages)
        or paragraph_vectors.d != dim
    ):
        raise IndexStoreError(f"{generation} is inconsistent: its files disagree on counts")
    _check_vector_index(
        paragraph_vectors, recorded.get("paragraphs"), generation / "paragraphs.faiss"
    )
    _check_vector_index(window_vectors, recorded.get("windows"), generation / "windows.faiss")
    annotated = int(manifest.get("annotation_version", 0)) < ANNOTATION_VERSION
    if annotated:
        passages, sources = _annotated(passages, sources)
    return _Contents(
        passages=tuple(passages),
        paragraph_vectors=paragraph_vectors,
        window_vectors=window_vectors,
        windows=windows.astype(np.int32),
        keyword=keyword,
        sources=sources,
        annotated_on_load=annotated,
    )


def _annotated(
    passages: list[Passage], sources: dict[str, SourceInfo]
) -> tuple[list[Passage], dict[str, SourceInfo]]:
    """The passages of an index saved before they were annotated, annotated (facts,
    periods against each source's reference date, read from its passages' text: the file's
    own metadata is not read again), and the sources with those dates."""
    by_source: dict[str, list[int]] = {}
    for row, passage in enumerate(passages):
        by_source.setdefault(passage.source, []).append(row)
    done = list(passages)
    dated = dict(sources)
    for source, rows in by_source.items():
        mine = [passages[row] for row in rows]
        info = sources.get(source)
        user = info is not None and info.date_origin == "user"
        reference = info.reference if user and info is not None else document_reference(mine)
        for row, passage in zip(rows, annotate(mine, reference), strict=True):
            done[row] = passage
        if info is not None:
            dated[source] = source_info(source, info.sha256, info.passages, reference, user)
    return done, dated
