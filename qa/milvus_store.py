"""The qa index in Milvus: passages, sentence windows and vectors on a cluster or in a file.

:class:`MilvusIndex` has the public methods of :class:`qa.Index` (``build``, ``add``,
``add_documents``, ``save``, ``load``, ``search``, ``ask``, ``passages``, ``sources``,
``len``) and returns the same :class:`qa.Hit` and :class:`qa.Answer`. Reading, chunking,
embedding and the contextual text are the core's own code, and so is the ranking
(:mod:`qa.ranking`: the dense score of a passage, the fusion, the answering sentence, the
hits and the verdict); what differs is where passages, windows and vectors live and who
computes BM25 (Milvus).

Stores are named by URI:

- ``milvus-lite:PATH.db`` (optionally ``milvus-lite:PATH.db#COLLECTION``): a local
  milvus-lite file, opened in this process (one process at a time);
- ``milvus://HOST:PORT/COLLECTION`` (``milvus+https://`` for TLS): a Milvus server or
  cluster. Credentials come from the environment only: ``MILVUS_TOKEN``, or
  ``MILVUS_USER`` and ``MILVUS_PASSWORD``; ``MILVUS_DB`` names a database.

Layout: three collections, ``NAME`` (passages), ``NAME_windows`` and ``NAME_sources``.

- ``NAME``: one row per passage: its text, source, section path (JSON), paragraph number,
  first and last page (0 for a document without pages; a store made before pages were
  kept has no such fields, marked by the absence of the ``qa.pages`` property, and its
  passages have no page), sentence offsets (JSON), the text BM25 sees (``bm25_text``)
  with the sparse vector that Milvus's BM25 function makes from it (``sparse``), and the
  paragraph vector (``vector``); and what :mod:`qa.annotation` works out once per passage:
  the script of its text (``script``), the period it speaks of (``first_year``,
  ``last_year``, -1 when not known) and the years its text names (``named_first``,
  ``named_last``), its stance (``stance``: 0 not known, 1 results, 2
  targets) and the facts of each sentence (``facts``, JSON). A store made before these
  were kept has none of them (no ``qa.annotations`` property): it is searched as before,
  without the scripts or times of its passages, and its answer lines see numbers and dates
  but no names; ``--rebuild`` makes it anew.
  The collection properties record the format version, the encoder name and dimension,
  the chunking settings, the tokenizer and the vector index kind.
- ``NAME_windows``: one row per two-sentence window: its passage id, first and end
  sentence, and vector. Windows are a collection of their own because a passage has any
  number of them (none when it has two sentences or fewer) and they are searched on their
  own, as in the core; a Milvus collection has a fixed number of vector fields per row.
- ``NAME_sources``: one row per indexed file: its SHA-256, counts and reference date
  (``date``, ``date_origin``; "" for none, in a store with annotations). A file's row is
  written only after all its passages and windows are inserted, and removed before they
  are replaced, so an interrupted build is finished by running it again.

Keyword ranking follows the index's tokenizer, as in the core: ``bigram`` (the default)
gives Milvus the core's character-bigram tokens, each spelled as a short ASCII word so
that any Milvus analyzer keeps it whole, and Milvus computes BM25 over them; ``jieba``
gives Milvus the contextual text itself under its built-in jieba analyzer.

Hybrid fusion (``fusion``): ``"qa"`` (the default) asks Milvus for the best BM25,
paragraph and window candidates (a fixed number, whatever the size of the collection) and
ranks them with :mod:`qa.ranking`, exactly as the FAISS store does;
``"milvus"`` lets Milvus fuse BM25 and the paragraph vectors itself (``hybrid_search``
with a weighted ranker). Milvus cannot fuse the window scores, which live in another
collection, so ``"milvus"`` ranks a little worse (docs/milvus.md has the figures).
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import json
import logging
import os
import re
import socket
import threading
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from tqdm.auto import tqdm

from qa import verdict
from qa.annotation import ANNOTATION_VERSION, annotate, document_reference
from qa.answer_line import answering_sentence
from qa.answers import Answer, Hit, answer, make_hit, rank, unjudged_answer
from qa.candidates import SCRIPT_CODES, STANCE_CODES, UNKNOWN, Candidates, PassageTraits
from qa.chunking import (
    CHUNKER_VERSION,
    ChunkingSettings,
    Passage,
    sentence_windows,
)
from qa.encoders import DEFAULT_ENCODER, Encoder, load_encoder
from qa.errors import DocumentError, IndexStoreError, QAError
from qa.index import (
    DENSE_CANDIDATES,
    VECTOR_INDEX_KINDS,
    AddReport,
    EmbeddedFile,
    EmbeddingCheckpoint,
    Index,
    SourceInfo,
    check_chunker_version,
    contextual_text,
    date_setting,
    documents_to_add,
    source_info,
    source_named,
)
from qa.ingest import Document, SkippedFile, collect_files, iter_documents
from qa.lexical import DEFAULT_TOKENIZER, TOKENIZERS, number_tokens, tokenize
from qa.periods import ReferenceDate
from qa.question import Question, check_query
from qa.ranking import KEYWORD_WEIGHT

PathLike = str | os.PathLike[str]
ProgressCallback = Callable[[int, int], None]

log = logging.getLogger(__name__)

# Version of the collection layout below; a store of another version is refused.
FORMAT_VERSION = 1
# The passages collection's property holding the verdict's baseline (MilvusIndex._baseline).
BASELINE_PROPERTY = "qa.verdict_baseline"
DEFAULT_COLLECTION = "qa"
LITE_PREFIX = "milvus-lite:"
SERVER_SCHEMES = {"milvus": "http", "milvus+http": "http", "milvus+https": "https"}
FUSIONS = ("qa", "milvus")
# Seconds to wait for a server to answer the first call, and for any later call.
CONNECT_TIMEOUT = 10.0
CALL_TIMEOUT = 300.0
# Rows per insert call, and texts embedded (then inserted and committed) per group of
# files: an interrupted build loses at most one group.
INSERT_BATCH = 512
GROUP_TEXTS = 2048
# Candidates fetched per query: BM25 and paragraph vectors as in the core, windows 4x.
WINDOW_CANDIDATES = 4 * DENSE_CANDIDATES
MAX_TOP_K = 16384  # Milvus's limit on one search
# Vectors of fetched passages kept for the verdict's lift features (MilvusIndex._vectors_of).
VECTORS_KEPT = 4096
MAX_QUERY_ROWS = 16384  # and on one query
QUERY_RANGE_ROWS = 4096  # rows expected per id range when reading a whole collection
# A cluster build's lock on a store (MilvusIndex.build_lock): renewed this often by its
# holder (seconds), and taken over when not renewed for BUILD_LOCK_STALE seconds (its
# holder died).
BUILD_LOCK_BEAT = 20.0
BUILD_LOCK_STALE = 120.0
# Weights of Milvus's weighted ranker (fusion="milvus"), which maps each score into [0, 1]
# its own way (BM25: 2/pi * atan(s); inner product: 1/2 + atan(s)/pi). Chosen on the
# development questions with the bigram tokenizer (docs/milvus.md).
MILVUS_KEYWORD_WEIGHT = 0.2
# BM25 parameters: bm25s's, as in the core. Milvus's scores carry BM25's (k1 + 1) factor,
# which bm25s leaves out: they are divided by it so that both stores score alike.
BM25_K1 = 1.5
BM25_B = 0.75
# Longest text a VARCHAR field holds (bytes), and so the longest passage (max_chars) and
# the most bigram words a passage can give.
MAX_VARCHAR = 65535
MAX_PASSAGE_CHARS = 16000
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,199}$")
_INT63 = (1 << 63) - 1

_PASSAGE_FIELDS = ["id", "source", "ordinal", "section", "paragraph", "sentences", "text"]
_PAGE_FIELDS = ["page", "last_page"]
# What qa.annotation adds to a passage (stores with the qa.annotations property).
_TRAIT_FIELDS = ["source_id", "script", "first_year", "last_year", "stance"]
_ANNOTATION_FIELDS = [*_TRAIT_FIELDS[1:], "named_first", "named_last", "facts"]
_SOURCE_FIELDS = ["id", "source", "sha256", "passages", "windows", "added"]
_DATE_FIELDS = ["date", "date_origin"]


@dataclass(frozen=True)
class StoreLocation:
    """Where a Milvus store is: the URI as given, what the client connects to, the collection."""

    uri: str
    client_uri: str
    collection: str
    lite_path: Path | None = None

    @property
    def windows(self) -> str:
        """Name of the windows collection."""
        return f"{self.collection}_windows"

    @property
    def source_table(self) -> str:
        """Name of the sources collection."""
        return f"{self.collection}_sources"


def is_store_uri(text: str | os.PathLike[str]) -> bool:
    """True when ``text`` names a Milvus store (``milvus-lite:...`` or ``milvus://...``)."""
    text = str(text)
    return text.startswith(LITE_PREFIX) or any(text.startswith(f"{s}://") for s in SERVER_SCHEMES)


def parse_store_uri(uri: str) -> StoreLocation:
    """Parse a store URI; raise IndexStoreError saying what is wrong with it.

    ``milvus-lite:PATH.db[#COLLECTION]`` or ``milvus[+https]://HOST[:PORT][/COLLECTION]``;
    the collection defaults to ``qa``. User names and passwords are refused in the URI:
    they come from ``MILVUS_TOKEN`` or ``MILVUS_USER``/``MILVUS_PASSWORD``.
    """
    uri = str(uri).strip()
    if uri.startswith(LITE_PREFIX):
        rest = uri[len(LITE_PREFIX) :]
        path_text, _, collection = rest.partition("#")
        collection = collection or DEFAULT_COLLECTION
        if not path_text.endswith(".db"):
            raise IndexStoreError(
                f"{uri}: a milvus-lite store is a file whose name ends in .db "
                "(e.g. milvus-lite:index/docs.db)"
            )
        path = Path(path_text).expanduser().resolve()
        location = StoreLocation(uri, str(path), collection, path)
    else:
        parts = urlsplit(uri)
        scheme = SERVER_SCHEMES.get(parts.scheme)
        if scheme is None or not parts.hostname:
            raise IndexStoreError(
                f"{uri}: not a store URI; use milvus://HOST:PORT/COLLECTION or milvus-lite:PATH.db"
            )
        if parts.username or parts.password:
            raise IndexStoreError(
                f"{parts.scheme}://...: credentials do not belong in the URI; set MILVUS_TOKEN "
                "or MILVUS_USER and MILVUS_PASSWORD in the environment"
            )
        try:
            port = parts.port or 19530
        except ValueError as exc:
            raise IndexStoreError(f"{uri}: bad port ({exc})") from exc
        collection = parts.path.strip("/") or DEFAULT_COLLECTION
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        location = StoreLocation(uri, f"{scheme}://{host}:{port}", collection)
    if not _NAME.match(location.collection):
        raise IndexStoreError(
            f"{uri}: {location.collection!r} is not a valid collection name (letters, digits "
            "and '_', starting with a letter or '_', at most 200)"
        )
    return location


def _reason(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return " ".join(str(message).split())


def _pymilvus() -> Any:
    try:
        import pymilvus
    except ImportError as exc:
        raise IndexStoreError(
            "the Milvus store needs pymilvus (and milvus-lite for local files): "
            "pip install 'qa[milvus]'"
        ) from exc
    return pymilvus


def _connect(location: StoreLocation) -> Any:
    """A MilvusClient for the location, with credentials from the environment."""
    pymilvus = _pymilvus()
    if location.lite_path is not None:
        try:
            import milvus_lite  # noqa: F401
        except ImportError as exc:
            raise IndexStoreError(
                f"{location.uri}: milvus-lite is not installed: pip install milvus-lite"
            ) from exc
    if location.lite_path is not None:
        holder = _lite_holder(location.lite_path)
        if holder is not None:
            raise IndexStoreError(
                f"{location.uri} is open in another process ({holder}): milvus-lite lets one "
                "process open a file at a time; stop that process, or keep the store on a "
                "Milvus server (milvus://HOST:PORT/COLLECTION) for several processes"
            )
    options: dict[str, Any] = {}
    if location.lite_path is not None:
        # The in-process milvus-lite server answers keepalive pings with "too many pings".
        options["grpc_options"] = {"grpc.keepalive_time_ms": 2**31 - 1}
    token = os.environ.get("MILVUS_TOKEN", "")
    user = os.environ.get("MILVUS_USER", "")
    password = os.environ.get("MILVUS_PASSWORD", "")
    try:
        return pymilvus.MilvusClient(
            uri=location.client_uri,
            user=user,
            password=password,
            token=token,
            db_name=os.environ.get("MILVUS_DB", ""),
            timeout=CONNECT_TIMEOUT,
            **options,
        )
    except Exception as exc:
        hint = ""
        if location.lite_path is not None:
            hint = " (milvus-lite lets one process open a file at a time: is another using it?)"
        raise IndexStoreError(
            f"cannot open Milvus at {location.uri}: {_reason(exc)}{hint}"
        ) from exc


def _lite_holder(path: Path) -> str | None:
    """Who holds milvus-lite's lock on a store file when another process does (from
    /proc/locks, so Linux only), as "pid N: command"; None when no one else does."""
    try:
        info = os.stat(path / "LOCK")  # milvus-lite 3 keeps its data in a folder
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return None
    wanted = f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}:{info.st_ino}"
    for line in lines:
        # "1: FLOCK  ADVISORY  WRITE 19933 fe:00:2146355 0 EOF"; a waiter's line has "->".
        fields = line.split()
        if len(fields) < 6 or fields[1] != "FLOCK" or fields[5] != wanted:
            continue
        pid = fields[4]
        if pid == str(os.getpid()):
            return None  # this process has it open: pymilvus reuses its server
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").strip()
        except OSError:
            command = b""
        shown = " ".join(command.decode("utf-8", "replace").split())[:200]
        return f"pid {pid}: {shown}" if shown else f"pid {pid}"
    return None


def _stable_id(*parts: object) -> int:
    """A 63-bit id from the parts, the same in every process."""
    digest = hashlib.blake2b("\0".join(map(str, parts)).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") & _INT63


def source_id(source: str) -> int:
    """The id of a source file's row, and of its passages' and windows' ``source_id``."""
    return _stable_id("source", source)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def bigram_words(text: str) -> str:
    """The core's bigram tokens of a text, each as a 12-letter ASCII word, space-separated.

    Milvus analyzers cut Chinese text their own way; words of hex digits pass through any
    of them whole, so Milvus's BM25 sees exactly the core's tokens.
    """
    words = [
        "t" + hashlib.blake2b(token.encode("utf-8"), digest_size=6).hexdigest()[:11]
        for token in tokenize(text, "bigram")
    ]
    # 13 bytes a word: a passage of MAX_PASSAGE_CHARS gives at most ~2 words a character.
    return " ".join(words[: MAX_VARCHAR // 13])


def _analyzer(tokenizer: str) -> dict[str, Any]:
    if tokenizer == "jieba":
        return {"tokenizer": "jieba"}
    return {"tokenizer": "standard"}


@dataclass
class _Entry:
    """One file's passages and vectors, ready to insert."""

    source: str
    sha256: str
    passages: list[Passage]
    passage_vectors: np.ndarray
    windows: np.ndarray  # (n, 3): passage number in this file, first sentence, end sentence
    window_vectors: np.ndarray
    date: str | None = None
    date_origin: str | None = None


class MilvusIndex:
    """A qa index kept in Milvus (a cluster, or a milvus-lite file); see the module docstring.

    Open one with :meth:`load`, :meth:`create` or :meth:`build`; search it with
    :meth:`search`. Changes go to Milvus as they are made: :meth:`save` only flushes.
    """

    def __init__(
        self,
        location: StoreLocation,
        client: Any,
        encoder: Encoder,
        settings: ChunkingSettings,
        tokenizer: str,
        vector_index: str,
    ) -> None:
        self.location = location
        self.uri = location.uri
        self.encoder = encoder
        self.settings = settings
        self.tokenizer = tokenizer
        self.vector_index = vector_index
        self.chunker_version = CHUNKER_VERSION
        self.fusion = "qa"
        # For callers that expect qa.Index's attribute; a Milvus store has no folder.
        self.path: Path | None = None
        self._client = client
        # Whether the passages collection has the page fields (not in older stores), and
        # the annotation fields and the sources' dates (neither in older stores).
        self._has_pages = True
        self._annotated = True
        # The reference date of each source id, read once (this process's writes renew it).
        self._references: dict[int, ReferenceDate | None] | None = None
        # The vectors of the passages fetched last, for the verdict (bounded; any thread).
        self._vectors: collections.OrderedDict[int, np.ndarray] = collections.OrderedDict()
        self._vectors_lock = threading.Lock()
        self._verdict_baseline: verdict.Baseline | None = None

    # ---- opening --------------------------------------------------------------------

    @classmethod
    def load(cls, uri: str, model: str | None = None) -> MilvusIndex:
        """Open the qa index at ``uri`` (see :func:`parse_store_uri`).

        ``model``, when given, must be the encoder the index was built with. Raises
        IndexStoreError when Milvus cannot be reached, the collection is missing or is not
        a qa index, or it was built with another encoder or format.
        """
        location = parse_store_uri(uri)
        if location.lite_path is not None and not location.lite_path.exists():
            raise IndexStoreError(f"no index at {uri}: {location.lite_path} does not exist")
        client = _connect(location)
        properties = _read_properties(client, location)
        if properties is None:
            raise IndexStoreError(_missing_message(client, location))
        return cls._open(location, client, properties, model)

    @classmethod
    def create(
        cls,
        uri: str,
        model: str = DEFAULT_ENCODER,
        settings: ChunkingSettings | None = None,
        tokenizer: str = DEFAULT_TOKENIZER,
        vector_index: str = "auto",
        replace: bool = False,
    ) -> MilvusIndex:
        """The index at ``uri`` ready for :meth:`add`: a new one, or the one already there.

        An existing index must have been built with the same encoder, chunking and
        tokenizer (else IndexStoreError); ``replace=True`` drops it first. A collection of
        that name that is not a qa index is never touched.
        """
        settings = settings or ChunkingSettings()
        if tokenizer not in TOKENIZERS:
            raise ValueError(f"unknown tokenizer {tokenizer!r}; choose one of {TOKENIZERS}")
        if vector_index not in VECTOR_INDEX_KINDS:
            raise ValueError(f"unknown vector index {vector_index!r}; choose {VECTOR_INDEX_KINDS}")
        if vector_index == "compressed":
            raise IndexStoreError(
                "the Milvus store indexes vectors with flat or hnsw (--vector-index); "
                "compressed is the FAISS folder's index for tens of millions of vectors "
                "(docs/milvus.md says what a Milvus server uses at that size)"
            )
        if settings.max_chars > MAX_PASSAGE_CHARS:
            raise IndexStoreError(
                f"a Milvus store holds passages of at most {MAX_PASSAGE_CHARS} characters; "
                f"max_chars is {settings.max_chars}"
            )
        location = parse_store_uri(uri)
        if location.lite_path is not None:
            try:
                location.lite_path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise IndexStoreError(f"cannot create {location.lite_path}: {exc}") from exc
        client = _connect(location)
        properties = _read_properties(client, location)
        if properties is not None and replace:
            _drop_collections(client, location)
            properties = None
        if properties is not None:
            index = cls._open(location, client, properties, model)
            if index.settings != settings or index.tokenizer != tokenizer:
                raise IndexStoreError(
                    f"{uri} was built with other chunking or tokenizer settings "
                    f"({asdict(index.settings)}, {index.tokenizer}); use --rebuild to start over"
                )
            return index
        encoder = load_encoder(model)
        if vector_index == "auto":
            # milvus-lite searches a flat index fastest; a server gets a graph that scales.
            vector_index = "flat" if location.lite_path is not None else "hnsw"
        index = cls(location, client, encoder, settings, tokenizer, vector_index)
        try:
            index._create_collections()
            return index
        except (_CreatedElsewhere, IndexStoreError):
            # Two processes creating one store at once: the one that finishes first wins
            # and the other opens it (a failure with no store made is still an error).
            properties = _created_elsewhere(client, location)
            if properties is None:
                raise
        index = cls._open(location, client, properties, model)
        if index.settings != settings or index.tokenizer != tokenizer:
            raise IndexStoreError(
                f"{uri} was just created by another process with other chunking or "
                f"tokenizer settings ({asdict(index.settings)}, {index.tokenizer})"
            )
        return index

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
        *,
        uri: str,
        replace: bool = False,
    ) -> MilvusIndex:
        """Read, chunk and embed documents into the index at ``uri`` (see :meth:`create`).

        Files already indexed unchanged are skipped. Raises DocumentError when a path is
        missing or nothing is readable, IndexStoreError when Milvus fails.
        """
        index = cls.create(uri, model, settings, tokenizer, vector_index, replace=replace)
        index.add(paths, progress=progress, checkpoint=checkpoint)
        if not len(index):
            raise DocumentError("the documents hold no text to index")
        return index

    @classmethod
    def _open(
        cls,
        location: StoreLocation,
        client: Any,
        properties: dict[str, str],
        model: str | None,
    ) -> MilvusIndex:
        uri = location.uri
        version = properties.get("qa.format")
        if version != str(FORMAT_VERSION):
            raise IndexStoreError(
                f"{uri} has qa store format {version}, this qa reads format {FORMAT_VERSION}; "
                "rebuild it with --rebuild"
            )
        try:
            encoder_name = properties["qa.encoder"]
            encoder_dim = int(properties["qa.dim"])
            settings = ChunkingSettings(**json.loads(properties["qa.chunking"]))
            tokenizer = properties["qa.tokenizer"]
            vector_index = properties["qa.vector_index"]
            chunker_version = int(properties.get("qa.chunker_version", "0"))
        except (KeyError, TypeError, ValueError) as exc:
            raise IndexStoreError(
                f"{uri}: the collection's qa properties are damaged: {exc}"
            ) from exc
        if tokenizer not in TOKENIZERS:
            raise IndexStoreError(f"{uri}: unknown tokenizer {tokenizer!r} in its properties")
        if model is not None and model != encoder_name:
            raise IndexStoreError(
                f"{uri} was built with encoder {encoder_name!r}, not {model!r}; "
                f"rebuild it with --model {model} --rebuild or open it without a model"
            )
        for name, role in ((location.windows, "windows"), (location.source_table, "sources")):
            if _read_properties(client, location, name, role) is None:
                raise IndexStoreError(f"{uri} is incomplete: its collection {name!r} is missing")
        encoder = load_encoder(encoder_name)
        if encoder.dim != encoder_dim:
            raise IndexStoreError(
                f"{uri} holds {encoder_dim}-dimensional vectors but encoder "
                f"{encoder_name!r} makes {encoder.dim}-dimensional ones"
            )
        index = cls(location, client, encoder, settings, tokenizer, vector_index)
        index.chunker_version = chunker_version
        index._has_pages = properties.get("qa.pages") == "1"
        index._annotated = properties.get("qa.annotations") == str(ANNOTATION_VERSION)
        for name in (location.collection, location.windows, location.source_table):
            index._call("load_collection", name)
        index._keep_recorded_baseline(properties)
        return index

    def _create_collections(self) -> None:
        """Create the sources, windows and passages collections (passages last: its
        properties mark a complete store)."""
        pymilvus = _pymilvus()
        data_type = pymilvus.DataType
        location = self.location
        dim = self.encoder.dim
        common = {"qa.format": str(FORMAT_VERSION)}

        sources = self._client.create_schema(auto_id=False)
        sources.add_field("id", data_type.INT64, is_primary=True)
        sources.add_field("source", data_type.VARCHAR, max_length=4096)
        sources.add_field("sha256", data_type.VARCHAR, max_length=64)
        sources.add_field("passages", data_type.INT64)
        sources.add_field("windows", data_type.INT64)
        sources.add_field("added", data_type.INT64)
        if self._annotated:
            sources.add_field("date", data_type.VARCHAR, max_length=16)
            sources.add_field("date_origin", data_type.VARCHAR, max_length=16)
        # Milvus wants a vector field in every collection; this one is never searched.
        sources.add_field("marker", data_type.FLOAT_VECTOR, dim=2)
        self._create(location.source_table, sources, {"marker": ("FLAT", "L2")}, "sources", common)

        windows = self._client.create_schema(auto_id=False)
        windows.add_field("id", data_type.INT64, is_primary=True)
        windows.add_field("passage_id", data_type.INT64)
        windows.add_field("source_id", data_type.INT64)
        windows.add_field("first_sentence", data_type.INT64)
        windows.add_field("end_sentence", data_type.INT64)
        windows.add_field("vector", data_type.FLOAT_VECTOR, dim=dim)
        vector_index = "HNSW" if self.vector_index == "hnsw" else "FLAT"
        self._create(location.windows, windows, {"vector": (vector_index, "IP")}, "windows", common)

        passages = self._client.create_schema(auto_id=False)
        passages.add_field("id", data_type.INT64, is_primary=True)
        passages.add_field("source_id", data_type.INT64)
        passages.add_field("source", data_type.VARCHAR, max_length=4096)
        passages.add_field("ordinal", data_type.INT64)
        passages.add_field("section", data_type.VARCHAR, max_length=MAX_VARCHAR)
        passages.add_field("paragraph", data_type.INT64)
        if self._has_pages:
            passages.add_field("page", data_type.INT64)
            passages.add_field("last_page", data_type.INT64)
        passages.add_field("sentences", data_type.VARCHAR, max_length=MAX_VARCHAR)
        passages.add_field("text", data_type.VARCHAR, max_length=MAX_VARCHAR)
        passages.add_field(
            "bm25_text",
            data_type.VARCHAR,
            max_length=MAX_VARCHAR,
            enable_analyzer=True,
            analyzer_params=_analyzer(self.tokenizer),
        )
        passages.add_field("sparse", data_type.SPARSE_FLOAT_VECTOR)
        if self._annotated:
            passages.add_field("script", data_type.INT8)
            passages.add_field("first_year", data_type.INT16)
            passages.add_field("last_year", data_type.INT16)
            passages.add_field("named_first", data_type.INT16)
            passages.add_field("named_last", data_type.INT16)
            passages.add_field("stance", data_type.INT8)
            passages.add_field("facts", data_type.VARCHAR, max_length=MAX_VARCHAR)
        passages.add_field("vector", data_type.FLOAT_VECTOR, dim=dim)
        passages.add_function(
            pymilvus.Function(
                name="bm25",
                function_type=pymilvus.FunctionType.BM25,
                input_field_names=["bm25_text"],
                output_field_names=["sparse"],
            )
        )
        properties = dict(
            common,
            **{
                "qa.encoder": self.encoder.name,
                "qa.dim": str(dim),
                "qa.chunking": json.dumps(asdict(self.settings)),
                "qa.chunker_version": str(self.chunker_version),
                "qa.tokenizer": self.tokenizer,
                "qa.analyzer": json.dumps(_analyzer(self.tokenizer)),
                "qa.vector_index": self.vector_index,
            },
        )
        if self._has_pages:
            properties["qa.pages"] = "1"
        if self._annotated:
            properties["qa.annotations"] = str(ANNOTATION_VERSION)
        self._create(
            location.collection,
            passages,
            {"vector": (vector_index, "IP"), "sparse": ("SPARSE_INVERTED_INDEX", "BM25")},
            "passages",
            properties,
        )

    def _create(
        self,
        name: str,
        schema: Any,
        indexes: dict[str, tuple[str, str]],
        role: str,
        properties: dict[str, str],
    ) -> None:
        existing = _read_properties(self._client, self.location, name, role)
        if existing is not None:
            if name == self.location.collection or self._call(
                "has_collection", self.location.collection
            ):
                raise _CreatedElsewhere  # another process has just made the store
            # Left by a create that stopped before the passages collection was made.
            self._call("drop_collection", name)
        index_params = self._client.prepare_index_params()
        for field_name, (index_type, metric) in indexes.items():
            params: dict[str, Any] = {}
            if index_type == "HNSW":
                params = {"M": 32, "efConstruction": 80}
            elif metric == "BM25":
                params = {"bm25_k1": BM25_K1, "bm25_b": BM25_B}
            index_params.add_index(field_name, index_type=index_type, metric_type=metric, **params)
        self._call(
            "create_collection",
            name,
            schema=schema,
            index_params=index_params,
            consistency_level="Strong",
            properties=dict(properties, **{"qa.role": role}),
        )

    def close(self) -> None:
        """Close the connection to Milvus."""
        with contextlib.suppress(Exception):  # closing is best effort
            self._client.close()

    def __enter__(self) -> MilvusIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- adding ---------------------------------------------------------------------

    def add(
        self,
        paths: Sequence[PathLike] | PathLike,
        progress: bool | ProgressCallback = False,
        checkpoint: PathLike | None = None,
    ) -> AddReport:
        """Add files or folders; unchanged files are skipped, changed files replaced.

        Files are written to Milvus in groups as they are embedded, each file's passages
        replaced as a whole (delete by source, then insert); a file counts as indexed only
        once all its rows are in, so an interrupted run is finished by running it again.
        ``progress`` is True for progress bars on stderr or a callback ``(done, total)``
        over texts embedded; ``checkpoint`` is a folder for vectors computed so far (see
        :class:`qa.index.EmbeddingCheckpoint`). Raises DocumentError when a path is missing
        or nothing is readable, IndexStoreError when Milvus fails.
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
        report = AddReport()
        known = self._source_rows()
        check_chunker_version(self.chunker_version, bool(known), self.uri)
        todo = [
            (document.source, document.sha256, passages, info)
            for document, passages, info in documents_to_add(
                documents, known, self.settings, report
            )
        ]
        report.skipped[:0] = skipped
        if todo:
            self._embed_and_write(todo, progress, checkpoint)
        return report

    def copy_from(self, index: Index, progress: bool = False) -> AddReport:
        """Copy the files of a FAISS-backed :class:`qa.Index` in, with their vectors.

        Nothing is embedded again; the index must use the same encoder and chunking.
        Files already here unchanged are skipped, changed ones replaced.
        """
        if index.chunker_version != self.chunker_version:
            raise IndexStoreError(
                f"cannot copy an index chunked by chunker version {index.chunker_version} "
                f"into {self.uri} (chunker version {self.chunker_version}); rebuild it first"
            )
        if index.encoder.name != self.encoder.name or index.settings != self.settings:
            raise IndexStoreError(
                f"cannot copy an index built with encoder {index.encoder.name!r} and "
                f"{asdict(index.settings)} into {self.uri} "
                f"({self.encoder.name!r}, {asdict(self.settings)})"
            )
        contents = index._contents  # the core keeps its vectors in FAISS indexes
        count = contents.paragraph_vectors.ntotal
        paragraph_vectors = contents.paragraph_vectors.reconstruct_n(0, count)
        window_count = contents.window_vectors.ntotal
        window_vectors = (
            contents.window_vectors.reconstruct_n(0, window_count)
            if window_count
            else np.zeros((0, self.encoder.dim), dtype=np.float32)
        )
        windows = np.asarray(contents.windows, dtype=np.int64).reshape(-1, 3)
        rows_by_source: dict[str, list[int]] = {}
        for row, passage in enumerate(contents.passages):
            rows_by_source.setdefault(passage.source, []).append(row)
        known = self._source_rows()
        report = AddReport()
        entries: list[_Entry] = []
        for info in index.sources:
            mine = known.get(info.source)
            if mine is not None and mine.sha256 == info.sha256:
                report.unchanged.append(info.source)
                continue
            (report.replaced if mine is not None else report.added).append(info.source)
            rows = np.array(rows_by_source.get(info.source, []), dtype=np.int64)
            local = np.full(count, -1, dtype=np.int64)
            local[rows] = np.arange(len(rows))
            chosen = np.isin(windows[:, 0], rows) if len(windows) else np.zeros(0, dtype=bool)
            file_windows = windows[chosen].copy()
            file_windows[:, 0] = local[file_windows[:, 0]]
            entries.append(
                _Entry(
                    info.source,
                    info.sha256,
                    [contents.passages[r] for r in rows],
                    paragraph_vectors[rows] if len(rows) else np.zeros((0, self.encoder.dim)),
                    file_windows,
                    window_vectors[chosen],
                    info.date,
                    info.date_origin,
                )
            )
        total = sum(len(e.passages) + len(e.windows) for e in entries)
        with tqdm(
            total=total, desc="inserting", unit="row", disable=not progress, dynamic_ncols=True
        ) as bar:
            group: list[_Entry] = []
            size = 0
            for entry in entries:
                group.append(entry)
                size += len(entry.passages) + len(entry.windows)
                if size >= GROUP_TEXTS:
                    self._write(group, bar)
                    group, size = [], 0
            if group:
                self._write(group, bar)
        return report

    def write_embedded(self, files: Sequence[EmbeddedFile]) -> None:
        """Write files chunked and embedded elsewhere (a cluster build's workers), each
        replacing its older rows, each recorded once all its rows are in."""
        self._write([_Entry(**vars(file)) for file in files], tqdm(disable=True))

    @property
    def lock_collection(self) -> str:
        """The collection that a cluster build holding this store's build lock creates."""
        return f"{self.location.collection}_build_lock"

    @contextlib.contextmanager
    def build_lock(self, owner: str) -> Iterator[None]:
        """Hold the store's build lock: one cluster build at a time writes a store.

        The lock is a collection of its own (creating a collection is atomic in Milvus),
        recording who holds it; its holder renews it every BUILD_LOCK_BEAT seconds, and a
        lock not renewed for BUILD_LOCK_STALE seconds (its holder died) is taken over.
        Raises IndexStoreError naming the holder when another build holds it.
        """
        name = self.lock_collection
        record = {
            "token": uuid.uuid4().hex,
            "owner": owner,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "since": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        self._take_build_lock(name, record)
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(BUILD_LOCK_BEAT):
                with contextlib.suppress(IndexStoreError):  # renewing is best effort
                    self._call(
                        "alter_collection_properties",
                        name,
                        properties={"qa.lock": json.dumps(dict(record, beat=time.time()))},
                    )

        beat = threading.Thread(target=renew, name="qa-build-lock", daemon=True)
        beat.start()
        try:
            yield
        finally:
            stop.set()
            beat.join()
            holder = self._build_lock_holder(name)
            if holder is not None and holder.get("token") == record["token"]:
                self._call("drop_collection", name)

    def _build_lock_holder(self, name: str) -> dict[str, Any] | None:
        if not self._call("has_collection", name):
            return None
        properties = self._call("describe_collection", name).get("properties") or {}
        try:
            holder = json.loads(properties.get("qa.lock", ""))
        except ValueError:
            holder = None
        return holder if isinstance(holder, dict) else {}

    def _take_build_lock(self, name: str, record: dict[str, Any]) -> None:
        pymilvus = _pymilvus()
        for _attempt in range(3):
            holder = self._build_lock_holder(name)
            if holder is not None and holder.get("token") == record["token"]:
                return
            if holder is not None:
                age = time.time() - float(holder.get("beat", 0))
                if age < BUILD_LOCK_STALE:
                    raise IndexStoreError(
                        f"{self.uri} is being written by another cluster build "
                        f"({holder.get('owner', '?')}, pid {holder.get('pid', '?')} on "
                        f"{holder.get('host', '?')}, since {holder.get('since', '?')}); "
                        "two builds never write one store at once: wait for it to finish"
                    )
                log.warning(
                    "%s: taking over the build lock of a build gone for %.0f s", self.uri, age
                )
                with contextlib.suppress(IndexStoreError):
                    self._call("drop_collection", name)
            schema = self._client.create_schema(auto_id=False)
            schema.add_field("id", pymilvus.DataType.INT64, is_primary=True)
            schema.add_field("marker", pymilvus.DataType.FLOAT_VECTOR, dim=2)
            index_params = self._client.prepare_index_params()
            index_params.add_index("marker", index_type="FLAT", metric_type="L2")
            with contextlib.suppress(IndexStoreError):  # another build created it first
                self._call(
                    "create_collection",
                    name,
                    schema=schema,
                    index_params=index_params,
                    properties={
                        "qa.role": "build_lock",
                        "qa.lock": json.dumps(dict(record, beat=time.time())),
                    },
                )
        raise IndexStoreError(f"{self.uri}: cannot take the build lock ({name})")

    def _embed_and_write(
        self,
        todo: list[tuple[str, str, list[Passage], SourceInfo]],
        progress: bool | ProgressCallback,
        checkpoint: PathLike | None,
    ) -> None:
        """Embed files in groups of about GROUP_TEXTS texts; write each group to Milvus."""
        window_size = self.settings.window_sentences
        sizes = [
            sum(1 + len(sentence_windows(p, window_size)) for p in passages)
            for _, _, passages, _ in todo
        ]
        total = sum(sizes)
        # The core's embedding (batches, checkpoint, errors), on a scratch in-memory index.
        embedder = Index(self.encoder, self.settings, self.tokenizer)
        store = EmbeddingCheckpoint(Path(checkpoint), self.encoder) if checkpoint else None
        show = progress is True
        embed_bar = tqdm(
            total=total, desc="embedding", unit="text", disable=not show, dynamic_ncols=True
        )
        insert_bar = tqdm(
            total=total, desc="inserting", unit="row", disable=not show, dynamic_ncols=True
        )
        finished = 0
        try:
            for group in _groups(list(zip(todo, sizes, strict=True)), GROUP_TEXTS):
                passages = [p for (_, _, ps, _), _ in group for p in ps]
                group_total = sum(size for _, size in group)
                last = 0

                def step(done: int, _total: int, base: int = finished) -> None:
                    nonlocal last
                    embed_bar.update(done - last)
                    last = done
                    if callable(progress):
                        progress(base + done, total)

                vectors, window_rows, window_vectors = embedder.embed_passages(
                    passages, step, store
                )
                embed_bar.update(group_total - last)  # texts found in the checkpoint
                entries = []
                offset = 0
                for (source, sha256, ps, info), _ in group:
                    low = np.searchsorted(window_rows[:, 0], offset, side="left")
                    high = np.searchsorted(window_rows[:, 0], offset + len(ps), side="left")
                    file_windows = window_rows[low:high].copy()
                    file_windows[:, 0] -= offset
                    entries.append(
                        _Entry(
                            source,
                            sha256,
                            ps,
                            vectors[offset : offset + len(ps)],
                            file_windows,
                            window_vectors[low:high],
                            info.date,
                            info.date_origin,
                        )
                    )
                    offset += len(ps)
                self._write(entries, insert_bar)
                finished += group_total
        finally:
            embed_bar.close()
            insert_bar.close()

    def _write(self, entries: list[_Entry], bar: Any) -> None:
        """Replace the rows of these files: forget them, delete, insert, then record them."""
        self._verdict_baseline = None
        self._references = None
        location = self.location
        ids = [source_id(e.source) for e in entries]
        # From here until the last step the files are not recorded: a rerun redoes them.
        self._call("delete", location.source_table, ids=ids)
        id_list = ", ".join(map(str, ids))
        self._call("delete", location.collection, filter=f"source_id in [{id_list}]")
        self._call("delete", location.windows, filter=f"source_id in [{id_list}]")
        passage_rows: list[dict[str, Any]] = []
        window_rows: list[dict[str, Any]] = []
        for entry, sid in zip(entries, ids, strict=True):
            passage_ids = [
                _stable_id("passage", entry.source, entry.sha256, n)
                for n in range(len(entry.passages))
            ]
            for n, passage in enumerate(entry.passages):
                contextual = contextual_text(passage)
                row = {
                    "id": passage_ids[n],
                    "source_id": sid,
                    "source": passage.source,
                    "ordinal": n,
                    "section": json.dumps(list(passage.section), ensure_ascii=False),
                    "paragraph": passage.paragraph,
                    "sentences": json.dumps([list(s) for s in passage.sentences]),
                    "text": passage.text,
                    "bm25_text": self._bm25_text(contextual),
                    "vector": entry.passage_vectors[n].tolist(),
                }
                if self._has_pages:
                    row["page"] = passage.page or 0
                    row["last_page"] = passage.last_page or 0
                if self._annotated:
                    row.update(_annotation_fields(passage))
                passage_rows.append(row)
            for (n, first, end), vector in zip(entry.windows, entry.window_vectors, strict=True):
                window_rows.append(
                    {
                        "id": _stable_id("window", passage_ids[n], first),
                        "passage_id": passage_ids[n],
                        "source_id": sid,
                        "first_sentence": int(first),
                        "end_sentence": int(end),
                        "vector": vector.tolist(),
                    }
                )
        for name, rows in ((location.collection, passage_rows), (location.windows, window_rows)):
            for start in range(0, len(rows), INSERT_BATCH):
                batch = rows[start : start + INSERT_BATCH]
                self._call("insert", name, batch)
                bar.update(len(batch))
        now = time.time_ns()
        records = [
            {
                "id": sid,
                "source": entry.source,
                "sha256": entry.sha256,
                "passages": len(entry.passages),
                "windows": len(entry.windows),
                "added": now + n,
                "marker": [0.0, 0.0],
                **(
                    {"date": entry.date or "", "date_origin": entry.date_origin or ""}
                    if self._annotated
                    else {}
                ),
            }
            for n, (entry, sid) in enumerate(zip(entries, ids, strict=True))
        ]
        self._call("upsert", location.source_table, records)

    def set_date(self, source: str, date: str | None) -> SourceInfo:
        """Set the reference date of an indexed document, as :meth:`qa.Index.set_date`
        (``YYYY-MM-DD``, ``YYYY-MM``, ``YYYY``, None for no date, ``"auto"`` for the one its
        text states): its passages' rows get their periods again (the same rows otherwise,
        written with one upsert), then its source row the date. Raises DocumentError for a
        date that is not one or a document the store does not hold, IndexStoreError for a
        store made before dates were kept."""
        if not self._annotated:
            raise IndexStoreError(
                f"{self.uri} was made before qa kept dates; rebuild it (qa build ... --store "
                f"{self.uri} --rebuild) to set them"
            )
        known = self._source_rows()
        info = known[source_named(known, source)]
        reference, user = date_setting(date)
        sid = source_id(info.source)
        fields = [*self._passage_fields, "source_id", "bm25_text", "vector"]
        rows = self._call(
            "query",
            self.location.collection,
            filter=f"source_id == {sid}",
            output_fields=fields,
            limit=MAX_QUERY_ROWS,
        )
        rows.sort(key=lambda row: int(row["ordinal"]))
        passages = [_passage(row) for row in rows]
        if not user:
            reference = document_reference(passages)
        for row, passage in zip(rows, annotate(passages, reference, facts=False), strict=True):
            row.update(_annotation_fields(passage))
        self._verdict_baseline = None
        self._references = None
        if rows:
            self._call("upsert", self.location.collection, rows)
        record = source_info(info.source, info.sha256, info.passages, reference, user)
        stored = self._call(
            "query",
            self.location.source_table,
            filter=f"id == {sid}",
            output_fields=[*_SOURCE_FIELDS, "marker"],
        )
        for row in stored:
            row.update(date=record.date or "", date_origin=record.date_origin or "")
        self._call("upsert", self.location.source_table, stored)
        return record

    def _bm25_text(self, text: str) -> str:
        """What Milvus's analyzer reads for BM25: see the module docstring."""
        if self.tokenizer == "bigram":
            return bigram_words(text)
        return _fold(text)

    def save(self, target: str | None = None) -> str:
        """Flush Milvus's buffers (rows are already stored as they are added); return the URI.

        ``target``, when given, must be this store's URI: a Milvus store is not copied.
        """
        if target is not None and str(target) != self.uri:
            raise IndexStoreError(
                f"{self.uri} cannot be saved to {target}: build that store from the documents"
            )
        for name in (self.location.collection, self.location.windows, self.location.source_table):
            self._call("flush", name)
        return self.uri

    def drop(self) -> None:
        """Delete the index's collections from Milvus."""
        _drop_collections(self._client, self.location)

    # ---- reading --------------------------------------------------------------------

    def _source_rows(self) -> dict[str, SourceInfo]:
        fields = _SOURCE_FIELDS + (_DATE_FIELDS if self._annotated else [])
        rows = sorted(
            self._query_all(self.location.source_table, fields),
            key=lambda row: row["added"],
        )
        return {
            row["source"]: SourceInfo(
                row["source"],
                row["sha256"],
                int(row["passages"]),
                row.get("date") or None,
                row.get("date_origin") or None,
            )
            for row in rows
        }

    def _reference_of(self, source: int) -> ReferenceDate | None:
        """The reference date of a source id (read once per process and write)."""
        if self._references is None:
            self._references = {
                source_id(info.source): info.reference for info in self._source_rows().values()
            }
        return self._references.get(source)

    @property
    def sources(self) -> list[SourceInfo]:
        """The indexed source files, in the order they were (last) added."""
        return list(self._source_rows().values())

    @property
    def passages(self) -> tuple[Passage, ...]:
        """All passages of recorded files, by file (in :attr:`sources` order), then position."""
        order = {source: n for n, source in enumerate(self._source_rows())}
        rows = [
            row
            for row in self._query_all(self.location.collection, self._passage_fields)
            if row["source"] in order
        ]
        rows.sort(key=lambda row: (order[row["source"]], row["ordinal"]))
        return tuple(_passage(row) for row in rows)

    def __len__(self) -> int:
        return self._count(self.location.collection)

    def _count(self, name: str) -> int:
        result = self._call("query", name, filter="", output_fields=["count(*)"])
        return int(result[0]["count(*)"]) if result else 0

    def _query_all(self, name: str, fields: list[str]) -> Iterator[dict[str, Any]]:
        """Every row of a collection, read in id ranges of at most MAX_QUERY_ROWS rows.

        Ids are uniform 63-bit hashes, so equal ranges hold about equal numbers of rows;
        a range that comes back full is split and read again.
        """
        total = self._count(name)
        if not total:
            return
        parts = -(-total // QUERY_RANGE_ROWS)
        step = (_INT63 + 1) // parts
        ranges = [(n * step, (n + 1) * step - 1) for n in range(parts)]
        ranges[-1] = (ranges[-1][0], _INT63)
        while ranges:
            low, high = ranges.pop(0)
            rows = self._call(
                "query",
                name,
                filter=f"id >= {low} and id <= {high}",
                output_fields=fields,
                limit=MAX_QUERY_ROWS,
            )
            if len(rows) >= MAX_QUERY_ROWS and high > low:
                middle = (low + high) // 2
                ranges[:0] = [(low, middle), (middle + 1, high)]
                continue
            yield from rows

    # ---- searching ------------------------------------------------------------------

    def search(
        self,
        question: str,
        k: int = 5,
        mode: str = "hybrid",
        keyword_weight: float = KEYWORD_WEIGHT,
    ) -> list[Hit]:
        """Return the k passages that best answer the question, best first (as qa.Index).

        ``mode`` is ``hybrid`` (default), ``dense`` or ``keyword``; hybrid fusion is done as
        :attr:`fusion` says (module docstring). Raises QueryError for an empty, over-long
        or wordless question, IndexStoreError when Milvus fails.
        """
        asked = check_query(question, k, mode)
        k = min(k, MAX_TOP_K)
        if self._milvus_fuses() and mode == "hybrid":
            return self._milvus_fused_hits(asked, k)
        candidates = self._candidates(asked, mode, k)
        return rank(asked, candidates, k, mode, self._get_passages, keyword_weight).hits

    def ask(self, question: str, k: int = 5, mode: str = "hybrid") -> Answer:
        """Answer the question as :meth:`qa.Index.ask`: the hits and the verdict, from one
        round of searches. With ``fusion="milvus"`` in hybrid mode no verdict is made
        (``found`` is None): Milvus's fused scores are not calibrated.
        """
        asked = check_query(question, k, mode)
        k = min(k, MAX_TOP_K)
        if self._milvus_fuses() and mode == "hybrid":
            return unjudged_answer(asked, self._milvus_fused_hits(asked, k))
        candidates = self._candidates(asked, "all", k)
        return answer(
            asked,
            candidates,
            k,
            mode,
            self._get_passages,
            self._vectors_of,
            self.encoder.name,
            self._baseline,
        )

    def _baseline(self) -> verdict.Baseline:
        """The verdict's baseline (see :func:`qa.verdict.probe_baseline`): computed on the
        first verdict, then kept until this object writes to the store, and recorded in the
        passages collection's properties with the sources it was computed on, so that a
        later load of the unchanged store does not ask the probes again. Rows that other
        processes add later are not in it until the store is loaded again: it is a
        median over questions nothing answers, which a few more passages hardly move."""
        if self._verdict_baseline is not None:
            return self._verdict_baseline
        before = self._contents_fingerprint()
        baseline = verdict.probe_baseline(
            lambda probe, vector: self._candidates(probe, "all", 5, vector),
            self._get_passages,
            self.encoder,
        )
        if self._contents_fingerprint() == before:  # no writer changed the store meanwhile
            record = {**verdict.baseline_record(baseline), "contents": before}
            try:
                self._call(
                    "alter_collection_properties",
                    self.location.collection,
                    properties={BASELINE_PROPERTY: json.dumps(record)},
                )
            except IndexStoreError as exc:  # answering matters more than the record
                log.warning("%s: the verdict's baseline was not recorded: %s", self.uri, exc)
        self._verdict_baseline = baseline
        return baseline

    def _contents_fingerprint(self, sources: dict[str, SourceInfo] | None = None) -> str:
        """A checksum of the indexed sources (names, checksums, passage counts)."""
        known = sources if sources is not None else self._source_rows()
        rows = sorted((i.source, i.sha256, i.passages) for i in known.values())
        return hashlib.sha256(json.dumps(rows).encode("utf-8")).hexdigest()[:16]

    def _keep_recorded_baseline(self, properties: dict[str, str]) -> None:
        """Use the baseline recorded in the properties when the sources are still those;
        keep the sources' reference dates (both from one read of the sources)."""
        sources = self._source_rows()
        self._references = {source_id(i.source): i.reference for i in sources.values()}
        if self.encoder.name not in verdict.CALIBRATIONS or BASELINE_PROPERTY not in properties:
            return
        try:
            record = json.loads(properties[BASELINE_PROPERTY])
        except ValueError:
            return
        if isinstance(record, dict) and record.get("contents") == self._contents_fingerprint(
            sources
        ):
            self._verdict_baseline = verdict.baseline_from_record(record)

    def _milvus_fuses(self) -> bool:
        if self.fusion not in FUSIONS:
            raise ValueError(f"unknown fusion {self.fusion!r}; choose one of {FUSIONS}")
        return self.fusion == "milvus"

    def _candidates(
        self, question: Question, mode: str, k: int, query: np.ndarray | None = None
    ) -> Candidates:
        """The candidates of a question with the scores the mode needs (``all``: every
        score): Milvus's best BM25 (k of them in keyword mode), paragraph and window
        matches, as many as the core fetches. ``query`` is the question's vector when it
        is embedded already."""
        if mode == "keyword":
            best = self._keyword_scores(question.text, k)
            return Candidates.from_scores(list(best), list(best.values()))
        keyword: dict[int, float] = {}
        numbers = None
        traits: dict[int, dict[str, Any]] = {}
        if mode != "dense":
            keyword = self._keyword_scores(question.text, DENSE_CANDIDATES, traits)
            numbers = self._number_matches(question.text)
        if query is None:
            query = self.encoder.encode_queries([question.text])[0]
        paragraph, complete, windows = self._dense_candidates(query, traits)
        ids = list(dict.fromkeys([*paragraph, *windows, *keyword]))
        floor = min(paragraph.values()) if paragraph else 0.0
        position = {pid: n for n, pid in enumerate(ids)}
        return Candidates.from_scores(
            ids,
            keyword=None if mode == "dense" else [keyword.get(pid, 0.0) for pid in ids],
            paragraph=[paragraph.get(pid, floor) for pid in ids],
            numbers=None if numbers is None else [numbers.get(pid, 0.0) for pid in ids],
            fetched=list(paragraph.values()),
            windows=[
                (position[pid], first, end, score)
                for pid, spans in windows.items()
                for (first, end), score in spans.items()
            ],
            unlisted=not complete,
            traits=self._traits(ids, traits) if self._annotated else None,
        )

    def _traits(self, ids: list[int], rows: dict[int, dict[str, Any]]) -> PassageTraits:
        """The traits of candidate passages from their annotation columns (a candidate only
        a window found, not among the passages fetched, has none known)."""
        unknown: dict[str, Any] = {}
        found = [rows.get(pid, unknown) for pid in ids]
        return PassageTraits.of(
            [_SCRIPTS.get(int(row.get("script", UNKNOWN)), "") for row in found],
            [
                (int(row["first_year"]), int(row["last_year"]))
                if int(row.get("first_year", UNKNOWN)) >= 0
                else None
                for row in found
            ],
            [_STANCES.get(int(row.get("stance", 0))) for row in found],
            [
                self._reference_of(int(row["source_id"])) if "source_id" in row else None
                for row in found
            ],
        )

    def _milvus_fused_hits(self, question: Question, k: int) -> list[Hit]:
        """Hits of Milvus's own fusion (``fusion="milvus"``), with answering sentences."""
        query = self.encoder.encode_queries([question.text])[0]
        ranked = self._milvus_hybrid(question.text, query, k)
        windows = self._windows_of([pid for pid, _ in ranked], query)
        passages = self._get_passages([pid for pid, _ in ranked])
        hits: list[Hit] = []
        for pid, score in ranked:
            passage = passages.get(pid)
            if passage is None:  # deleted by another writer since the search
                continue
            start, end = answering_sentence(passage, question, windows.get(pid, {}))
            hits.append(make_hit(len(hits) + 1, score, passage, start, end))
        return hits

    def _keyword_query(self, question: str) -> str:
        return self._bm25_text(question)

    def _keyword_scores(
        self, question: str, limit: int, traits: dict[int, dict[str, Any]] | None = None
    ) -> dict[int, float]:
        """BM25 score of the best ``limit`` passages (Milvus's own BM25 over ``bm25_text``);
        with ``traits``, each passage's annotation columns are put there by id."""
        text = self._keyword_query(question)
        if not text.strip():
            return {}
        wanted = traits is not None and self._annotated
        result = self._call(
            "search",
            self.location.collection,
            data=[text],
            anns_field="sparse",
            limit=limit,
            output_fields=["id", *(_TRAIT_FIELDS if wanted else [])],
            search_params={"metric_type": "BM25"},
        )
        if wanted and traits is not None:
            _collect(result[0], traits)
        # milvus-lite reports BM25 as a negative distance, a server as a positive score.
        scale = 1.0 / (BM25_K1 + 1.0)
        return {int(hit["id"]): abs(float(hit["distance"])) * scale for hit in result[0]}

    def _number_matches(self, question: str) -> dict[int, float] | None:
        """Share of the question's numbers each passage holds (as the core's
        ``KeywordIndex.number_matches``; passages found by BM25 on each number alone)."""
        numbers = number_tokens(question, self.tokenizer)
        if not numbers:
            return None
        share: dict[int, float] = {}
        for token in numbers:
            for pid in self._keyword_scores(token, DENSE_CANDIDATES):
                share[pid] = share.get(pid, 0.0) + 1.0 / len(numbers)
        return share

    def _vector_params(self, limit: int) -> dict[str, Any]:
        params: dict[str, Any] = {"metric_type": "IP"}
        if self.vector_index == "hnsw":
            params["params"] = {"ef": max(limit, 128)}
        return params

    def _dense_candidates(
        self, query: np.ndarray, traits: dict[int, dict[str, Any]] | None = None
    ) -> tuple[dict[int, float], bool, dict[int, dict[tuple[int, int], float]]]:
        """Paragraph and window scores of the best candidates, as the core fetches them.

        Returns the paragraph scores by passage id, whether they are all of the
        collection's, and the window scores by passage id and (first, end) sentence; with
        ``traits``, each passage's annotation columns are put there by id.
        """
        vector = [query.tolist()]
        wanted = traits is not None and self._annotated
        found = self._call(
            "search",
            self.location.collection,
            data=vector,
            anns_field="vector",
            limit=DENSE_CANDIDATES,
            output_fields=["id", *(_TRAIT_FIELDS if wanted else [])],
            search_params=self._vector_params(DENSE_CANDIDATES),
        )[0]
        if wanted and traits is not None:
            _collect(found, traits)
        paragraph = {int(hit["id"]): float(hit["distance"]) for hit in found}
        matches = self._call(
            "search",
            self.location.windows,
            data=vector,
            anns_field="vector",
            limit=WINDOW_CANDIDATES,
            output_fields=["passage_id", "first_sentence", "end_sentence"],
            search_params=self._vector_params(WINDOW_CANDIDATES),
        )[0]
        windows: dict[int, dict[tuple[int, int], float]] = {}
        for hit in matches:
            entity = hit["entity"]
            span = (int(entity["first_sentence"]), int(entity["end_sentence"]))
            windows.setdefault(int(entity["passage_id"]), {})[span] = float(hit["distance"])
        return paragraph, len(found) < DENSE_CANDIDATES, windows

    def _milvus_hybrid(self, question: str, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Milvus fuses BM25 and paragraph-vector rankings itself (hybrid_search)."""
        pymilvus = _pymilvus()
        requests = [
            pymilvus.AnnSearchRequest(
                data=[self._keyword_query(question)],
                anns_field="sparse",
                param={"metric_type": "BM25"},
                limit=DENSE_CANDIDATES,
            ),
            pymilvus.AnnSearchRequest(
                data=[query.tolist()],
                anns_field="vector",
                param=self._vector_params(DENSE_CANDIDATES),
                limit=DENSE_CANDIDATES,
            ),
        ]
        ranker = pymilvus.WeightedRanker(
            MILVUS_KEYWORD_WEIGHT, 1.0 - MILVUS_KEYWORD_WEIGHT, norm_score=True
        )
        result = self._call(
            "hybrid_search",
            self.location.collection,
            requests,
            ranker,
            limit=k,
            output_fields=["id"],
        )
        return [(int(hit["id"]), float(hit["distance"])) for hit in result[0]]

    def _windows_of(
        self, passage_ids: list[int], query: np.ndarray
    ) -> dict[int, dict[tuple[int, int], float]]:
        """Scores of every window of the given passages (for their answering sentences)."""
        if not passage_ids:
            return {}
        result = self._call(
            "search",
            self.location.windows,
            data=[query.tolist()],
            anns_field="vector",
            filter=f"passage_id in [{', '.join(map(str, passage_ids))}]",
            limit=MAX_TOP_K,
            output_fields=["passage_id", "first_sentence", "end_sentence"],
            search_params=self._vector_params(MAX_TOP_K),
        )[0]
        windows: dict[int, dict[tuple[int, int], float]] = {}
        for hit in result:
            entity = hit["entity"]
            span = (int(entity["first_sentence"]), int(entity["end_sentence"]))
            windows.setdefault(int(entity["passage_id"]), {})[span] = float(hit["distance"])
        return windows

    def _get_passages(self, ids: list[int]) -> dict[int, Passage]:
        """The passages of these ids, and their vectors kept for the verdict
        (:meth:`_vectors_of`), in one ``get``."""
        if not ids:
            return {}
        fields = [*self._passage_fields, "vector"]
        rows = self._call("get", self.location.collection, ids=ids, output_fields=fields)
        with self._vectors_lock:
            for row in rows:
                self._vectors[int(row["id"])] = np.asarray(row["vector"], dtype=np.float32)
                self._vectors.move_to_end(int(row["id"]))
            while len(self._vectors) > VECTORS_KEPT:
                self._vectors.popitem(last=False)
        return {int(row["id"]): _passage(row) for row in rows}

    def _vectors_of(self, ids: list[int]) -> np.ndarray:
        """The vectors of passages fetched by :meth:`_get_passages` (fetched again, in one
        ``get``, when no longer kept)."""
        with self._vectors_lock:
            missing = [pid for pid in ids if pid not in self._vectors]
        if missing:
            rows = self._call(
                "get", self.location.collection, ids=missing, output_fields=["id", "vector"]
            )
            with self._vectors_lock:
                for row in rows:
                    self._vectors[int(row["id"])] = np.asarray(row["vector"], dtype=np.float32)
        with self._vectors_lock:
            zero = np.zeros(self.encoder.dim, dtype=np.float32)
            return np.stack([self._vectors.get(pid, zero) for pid in ids])

    @property
    def _passage_fields(self) -> list[str]:
        fields = _PASSAGE_FIELDS + (_PAGE_FIELDS if self._has_pages else [])
        return fields + (_ANNOTATION_FIELDS if self._annotated else [])

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return _call(self._client, self.location, method, *args, **kwargs)


def _call(client: Any, location: StoreLocation, method: str, *args: Any, **kwargs: Any) -> Any:
    """Call a MilvusClient method with a timeout; any failure becomes one IndexStoreError."""
    kwargs.setdefault("timeout", CALL_TIMEOUT)
    try:
        return getattr(client, method)(*args, **kwargs)
    except QAError:
        raise
    except Exception as exc:
        action = method.replace("_", " ")
        raise IndexStoreError(f"Milvus {action} on {location.uri} failed: {_reason(exc)}") from exc


def _read_properties(
    client: Any, location: StoreLocation, name: str | None = None, role: str = "passages"
) -> dict[str, str] | None:
    """The qa properties of a collection; None when it does not exist.

    Raises IndexStoreError when it exists but is not a qa collection of that role.
    """
    name = name or location.collection
    if not _call(client, location, "has_collection", name):
        return None
    description = _call(client, location, "describe_collection", name)
    properties = {str(k): str(v) for k, v in (description.get("properties") or {}).items()}
    if properties.get("qa.role") != role:
        raise IndexStoreError(
            f"{location.uri}: collection {name!r} is not a qa {role} collection "
            "(it was not made by qa); choose another collection name"
        )
    return properties


class _CreatedElsewhere(Exception):
    """Another process created the store's collections while this one was creating them."""


# Seconds a store creation that lost a race waits for the winner's passages collection.
CREATE_RACE_SECONDS = 30.0


def _created_elsewhere(client: Any, location: StoreLocation) -> dict[str, str] | None:
    """The properties of the store once another process has finished creating it, or None."""
    deadline = time.monotonic() + CREATE_RACE_SECONDS
    while True:
        try:
            names = (location.collection, location.windows, location.source_table)
            if not any(_call(client, location, "has_collection", name) for name in names):
                return None  # nobody is creating it: the failure was this process's own
            properties = _read_properties(client, location)
            if properties is not None:
                return properties
        except IndexStoreError:
            return None
        if time.monotonic() > deadline:
            return None
        time.sleep(0.2)


def _drop_collections(client: Any, location: StoreLocation) -> None:
    for name in (location.collection, location.windows, location.source_table):
        if _call(client, location, "has_collection", name):
            _call(client, location, "drop_collection", name)


def _missing_message(client: Any, location: StoreLocation) -> str:
    try:
        names = sorted(_call(client, location, "list_collections"))
    except IndexStoreError:
        names = []
    indexes = [n for n in names if f"{n}_windows" in names and f"{n}_sources" in names]
    there = ", ".join(indexes) if indexes else "none"
    return (
        f"no qa index at {location.uri}: there is no collection {location.collection!r} "
        f"(qa indexes there: {there}); build one with qa build --store {location.uri}"
    )


def _passage(row: dict[str, Any]) -> Passage:
    first, last = int(row.get("first_year", -1)), int(row.get("last_year", -1))
    named_first, named_last = int(row.get("named_first", -1)), int(row.get("named_last", -1))
    return Passage(
        text=row["text"],
        source=row["source"],
        section=tuple(json.loads(row["section"])),
        paragraph=int(row["paragraph"]),
        sentences=tuple((int(s), int(e)) for s, e in json.loads(row["sentences"])),
        page=int(row.get("page") or 0) or None,
        last_page=int(row.get("last_page") or 0) or None,
        facts=tuple(tuple(kinds) for kinds in json.loads(row.get("facts") or "[]")),
        period=(first, last) if first >= 0 else None,
        named=(named_first, named_last) if named_first >= 0 else None,
        stance=_STANCES.get(int(row.get("stance", 0))),
        script=_SCRIPTS.get(int(row.get("script", -1)), ""),
    )


_STANCES = {code: stance for stance, code in STANCE_CODES.items() if stance}
_SCRIPTS = {code: script for script, code in SCRIPT_CODES.items()}


def _annotation_fields(passage: Passage) -> dict[str, Any]:
    """The annotation columns of a passage's row."""
    first, last = passage.period if passage.period is not None else (UNKNOWN, UNKNOWN)
    named_first, named_last = passage.named if passage.named is not None else (UNKNOWN, UNKNOWN)
    return {
        "script": SCRIPT_CODES.get(passage.script, UNKNOWN),
        "first_year": first,
        "last_year": last,
        "named_first": named_first,
        "named_last": named_last,
        "stance": STANCE_CODES.get(passage.stance, 0),
        "facts": json.dumps([list(kinds) for kinds in passage.facts]),
    }


def _collect(hits: Iterable[Any], traits: dict[int, dict[str, Any]]) -> None:
    """Put the annotation columns of searched passages into ``traits``, by id."""
    for hit in hits:
        entity = hit.get("entity") or {}
        traits.setdefault(
            int(hit["id"]), {name: entity[name] for name in _TRAIT_FIELDS if name in entity}
        )


def _groups(items: list[Any], size: int) -> Iterator[list[Any]]:
    """Consecutive ``(item, weight)`` pairs gathered until their weights reach ``size``."""
    group: list[Any] = []
    weight = 0
    for item in items:
        group.append(item)
        weight += item[1]
        if weight >= size:
            yield group
            group, weight = [], 0
    if group:
        yield group
