"""Vector search at scale: a synthetic corpus of N passage vectors (default 1,000,000 × 384).

For the exact FAISS index (flat inner product) and approximate ones (HNSW, IVF), prints
build time, memory, single-query latency (median and p95) and recall@10 against exact
search. The approximate indexes are swept over their search-time knob (HNSW efSearch, IVF
nprobe); the build-time parameters are flags.

    python benchmarks/scale.py --n 100000                 # a quick look
    python benchmarks/scale.py                            # 1M vectors: HNSW build is long
    python benchmarks/scale.py --n 50000 --kinds flat,ivf --json out.json

With ``--data real`` the corpus is grown from real multilingual-e5-small vectors (the FAISS
files given by ``--real``, e.g. an index of CMRC 2018 contexts) and the queries are real
questions (``--queries-from``, CMRC 2018 dev), as benchmarks/real_vectors.py says; it also
prints the nearest-neighbour similarities of the real and the generated vectors.
``--kinds compressed`` measures qa's compressed index (qa.index.make_vector_index), swept over
``--nprobe``.

The vectors are float32 unit vectors generated in chunks. ``--data clustered`` (default)
draws them around random cluster centres (each vector = centre + Gaussian noise of norm
``--spread``, normalised), which is closer to real embeddings than ``--data uniform``
(uniform on the sphere, the hardest case for any approximate index). Queries are fresh
draws from the same distribution, never corpus vectors.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import real_vectors  # noqa: E402
from common import CMRC_DEV, format_table, peak_rss_mb, percentiles_ms, write_json  # noqa: E402

from qa.index import HNSW_THRESHOLD, describe_vector_index, make_vector_index  # noqa: E402

CHUNK = 100_000


class SyntheticVectors:
    """A reproducible distribution of unit vectors: uniform, or clustered around centres."""

    def __init__(
        self,
        dim: int = 384,
        data: str = "clustered",
        clusters: int = 1000,
        spread: float = 1.0,
        seed: int = 0,
    ) -> None:
        if data not in ("clustered", "uniform"):
            raise ValueError(f"unknown data {data!r}")
        self.dim, self.data, self.spread = dim, data, spread
        rng = np.random.default_rng(seed)
        self.centres = _normalise(rng.standard_normal((clusters, dim), dtype=np.float32))

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw n unit vectors as an (n, dim) float32 array."""
        noise = rng.standard_normal((n, self.dim), dtype=np.float32)
        if self.data == "uniform":
            return _normalise(noise)
        noise *= self.spread / np.sqrt(self.dim)
        noise += self.centres[rng.integers(0, len(self.centres), n)]
        return _normalise(noise)

    def corpus(self, n: int, seed: int = 1, chunk: int = CHUNK) -> np.ndarray:
        """n vectors, generated chunk by chunk into one preallocated float32 array."""
        rng = np.random.default_rng(seed)
        out = np.empty((n, self.dim), dtype=np.float32)
        for start in range(0, n, chunk):
            end = min(n, start + chunk)
            out[start:end] = self.sample(end - start, rng)
        return out


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


@dataclass
class Result:
    """One index configuration's measurements."""

    index: str
    params: str
    build_s: float
    size_mb: float
    median_ms: float
    p95_ms: float
    recall_at_10: float
    candidates_median_ms: float | None = None
    candidates_p95_ms: float | None = None
    candidates_filled: float | None = None


def exact_neighbours(corpus: np.ndarray, queries: np.ndarray, k: int = 10) -> np.ndarray:
    """The exact top-k inner-product neighbours of each query (batched flat search)."""
    index = faiss.IndexFlatIP(corpus.shape[1])
    index.add(corpus)
    _, ids = index.search(queries, k)
    return ids


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean share of the true top-k that the approximate top-k contains."""
    k = truth.shape[1]
    return float(np.mean([len(set(f[:k]) & set(t)) / k for f, t in zip(found, truth, strict=True)]))


def single_query_latency(index: Any, queries: np.ndarray, k: int) -> list[float]:
    """Seconds taken by each query searched alone (as an interactive user would)."""
    index.search(queries[:1], k)  # warm up
    times = []
    for row in range(len(queries)):
        start = time.perf_counter()
        index.search(queries[row : row + 1], k)
        times.append(time.perf_counter() - start)
    return times


def measure(
    name: str,
    params: str,
    built: tuple[Any, float, float],
    queries: np.ndarray,
    truth: np.ndarray,
    latency_queries: int,
    candidates: int | None = None,
) -> Result:
    """Latency (single queries) and recall@10 (all queries) of a built index.

    ``built`` is (index, build seconds, size in MiB). With ``candidates`` (``qa`` fetches
    1000 passage and 4000 window candidates per question), also the latency of fetching
    that many neighbours in full (HNSW's ``efSearch`` raised to ``candidates`` for it)
    and the share of the list FAISS fills when asked at the configured ``efSearch``
    (HNSW returns at most about ``efSearch`` results per graph search).
    """
    index, build_s, size_mb = built
    _, found = index.search(queries, 10)
    median, p95 = percentiles_ms(single_query_latency(index, queries[:latency_queries], 10))
    result = Result(name, params, build_s, size_mb, median, p95, recall_at_k(found, truth))
    if candidates:
        sample = queries[: max(10, latency_queries // 4)]
        _, ids = index.search(sample, candidates)
        result.candidates_filled = float((ids >= 0).mean())
        hnsw = getattr(index, "hnsw", None)
        ef = hnsw.efSearch if hnsw is not None else 0
        if hnsw is not None:
            hnsw.efSearch = max(ef, candidates)
        try:
            timing = percentiles_ms(single_query_latency(index, sample, candidates))
        finally:
            if hnsw is not None:
                hnsw.efSearch = ef
        result.candidates_median_ms, result.candidates_p95_ms = timing
    return result


def index_size_mb(index: Any) -> float:
    """Size of the serialised index in MiB: what it holds in memory, vectors and graph."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "index.faiss"
        faiss.write_index(index, str(path))
        return path.stat().st_size / 2**20


def _timed_build(build: Any) -> tuple[Any, float, float]:
    gc.collect()
    start = time.perf_counter()
    index = build()
    seconds = time.perf_counter() - start
    return index, seconds, index_size_mb(index)


def hnsw_index(corpus: np.ndarray, m: int, ef_construction: int) -> Any:
    """An HNSW inner-product index; qa's own ``make_vector_index`` when its defaults match."""
    dim = corpus.shape[1]
    probe = make_vector_index(np.zeros((0, dim), dtype=np.float32), dim, "hnsw")
    if probe.hnsw.nb_neighbors(1) == m and probe.hnsw.efConstruction == ef_construction:
        return make_vector_index(corpus, dim, "hnsw")
    index = faiss.IndexHNSWFlat(dim, m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = ef_construction
    index.add(corpus)
    return index


def ivf_index(corpus: np.ndarray, nlist: int, train_size: int, seed: int = 0) -> Any:
    """An IVF-flat inner-product index trained on a random sample of the corpus."""
    dim = corpus.shape[1]
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(seed)
    sample = corpus[np.sort(rng.choice(len(corpus), min(len(corpus), train_size), replace=False))]
    index.train(sample)
    index.add(corpus)
    return index


def run(
    n: int,
    dim: int = 384,
    data: str = "clustered",
    spread: float = 1.0,
    clusters: int = 1000,
    queries: int = 1000,
    latency_queries: int = 200,
    kinds: Iterable[str] = ("flat", "hnsw", "ivf"),
    hnsw_m: int = 32,
    ef_construction: int = 80,
    ef_search: Sequence[int] = (64, 128, 256),
    nlist: int | None = None,
    nprobe: Sequence[int] = (8, 16, 32, 64),
    candidates: int | None = None,
    log: Any = print,
    real: Sequence[Path] = (),
    queries_from: Path = CMRC_DEV,
    mix: float = 0.5,
    noise: float = 0.15,
    neighbours: int = 10,
    extra: dict[str, Any] | None = None,
) -> list[Result]:
    """Generate the corpus, build each kind of index and measure it; returns the results."""
    kinds = list(kinds)
    start = time.perf_counter()
    if data == "real":
        seen = real_vectors.read_vectors(list(real))
        dim = seen.shape[1]
        corpus = real_vectors.grow(seen, n, neighbours, mix, noise)
        cache = Path(tempfile.gettempdir()) / f"qa-scale-queries-{queries}.npz"
        query_vectors = real_vectors.real_queries(queries_from, queries, cache)
        sample = corpus[np.random.default_rng(3).choice(n, min(n, len(seen)), replace=False)]
        similarities = {
            "real": real_vectors.summary(real_vectors.neighbour_similarities(seen)),
            "generated (sample of as many)": real_vectors.summary(
                real_vectors.neighbour_similarities(np.ascontiguousarray(sample))
            ),
        }
        log(f"{len(seen)} real vectors; nearest-neighbour cosine:")
        for name, row in similarities.items():
            log(f"  {name}: {row}")
        if extra is not None:
            extra["real_vectors"] = len(seen)
            extra["neighbour_similarities"] = similarities
    else:
        distribution = SyntheticVectors(dim, data, clusters, spread)
        corpus = distribution.corpus(n)
        query_vectors = distribution.sample(queries, np.random.default_rng(2))
    log(f"generated {n} × {dim} {data} vectors in {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    truth = exact_neighbours(corpus, query_vectors)
    log(f"exact top-10 of {queries} queries in {time.perf_counter() - start:.1f} s")
    results: list[Result] = []

    def record(name: str, params: str, built: tuple[Any, float, float]) -> None:
        results.append(
            measure(name, params, built, query_vectors, truth, latency_queries, candidates)
        )
        row = asdict(results[-1])
        log(format_table(list(row), [list(row.values())]))

    if "flat" in kinds:
        record("flat", "exact", _timed_build(lambda: make_vector_index(corpus, dim, "flat")))

    if "hnsw" in kinds:
        built = _timed_build(lambda: hnsw_index(corpus, hnsw_m, ef_construction))
        log(f"HNSW M={hnsw_m} efConstruction={ef_construction}: built in {built[1]:.1f} s")
        for ef in ef_search:
            built[0].hnsw.efSearch = ef
            record("hnsw", f"M={hnsw_m} efC={ef_construction} efSearch={ef}", built)
        del built

    if "ivf" in kinds:
        lists = nlist or max(16, int(4 * np.sqrt(n)))
        built = _timed_build(lambda: ivf_index(corpus, lists, train_size=max(50 * lists, 100_000)))
        log(f"IVF nlist={lists}: trained and filled in {built[1]:.1f} s")
        for probes in nprobe:
            built[0].nprobe = probes
            record("ivf", f"nlist={lists} nprobe={probes}", built)
        del built

    if "compressed" in kinds:
        built = _timed_build(lambda: make_vector_index(corpus, dim, "compressed"))
        ivf = faiss.downcast_index(built[0])
        factory = describe_vector_index(ivf)["factory"]
        log(f"{factory}: trained and filled in {built[1]:.1f} s")
        for probes in nprobe:
            ivf.nprobe = probes
            record("compressed (qa)", f"{factory} nprobe={probes}", built)
        del built
    return results


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the scale benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="corpus vectors")
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--data", choices=("clustered", "uniform", "real"), default="clustered")
    parser.add_argument(
        "--real",
        type=lambda text: [Path(p) for p in text.split(",") if p],
        default=[],
        help="with --data real: FAISS files of real vectors, comma-separated",
    )
    parser.add_argument("--queries-from", type=Path, default=CMRC_DEV)
    parser.add_argument("--mix", type=float, default=0.5, help="least weight of the real vector")
    parser.add_argument("--noise", type=float, default=0.15, help="norm of the added noise")
    parser.add_argument("--neighbours", type=int, default=10)
    parser.add_argument("--spread", type=float, default=1.0, help="cluster noise norm")
    parser.add_argument("--clusters", type=int, help="clusters (default: n / 1000)")
    parser.add_argument("--queries", type=int, default=1000, help="queries for recall")
    parser.add_argument("--latency-queries", type=int, default=200, help="timed one by one")
    parser.add_argument("--kinds", default="flat,hnsw,ivf")
    parser.add_argument("--hnsw-m", type=int, default=32)
    parser.add_argument("--ef-construction", type=int, default=80)
    parser.add_argument("--ef-search", type=_ints, default=[64, 128, 256])
    parser.add_argument("--nlist", type=int, help="IVF lists (default 4·√n)")
    parser.add_argument("--nprobe", type=_ints, default=[8, 16, 32, 64])
    parser.add_argument(
        "--candidates", type=int, help="also time fetching this many neighbours (qa: 1000, 4000)"
    )
    parser.add_argument("--threads", type=int, help="FAISS OpenMP threads (default: all)")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    if args.threads:
        faiss.omp_set_num_threads(args.threads)
    clusters = args.clusters or max(1, args.n // 1000)
    extra: dict[str, Any] = {}
    print(
        f"scale: n={args.n} dim={args.dim} data={args.data} spread={args.spread} "
        f"clusters={clusters}; qa's HNSW_THRESHOLD={HNSW_THRESHOLD}; "
        f"FAISS threads={faiss.omp_get_max_threads()}"
    )
    results = run(
        n=args.n,
        dim=args.dim,
        data=args.data,
        spread=args.spread,
        clusters=clusters,
        queries=args.queries,
        latency_queries=args.latency_queries,
        kinds=args.kinds.split(","),
        hnsw_m=args.hnsw_m,
        ef_construction=args.ef_construction,
        ef_search=args.ef_search,
        nlist=args.nlist,
        nprobe=args.nprobe,
        candidates=args.candidates,
        real=args.real,
        queries_from=args.queries_from,
        mix=args.mix,
        noise=args.noise,
        neighbours=args.neighbours,
        extra=extra,
    )
    rows = [asdict(r) for r in results]
    print(
        f"\n## Scale: {args.n} × {args.dim} {args.data} vectors (peak RSS {peak_rss_mb():.0f} MiB)"
    )
    print(format_table(list(rows[0]), [list(r.values()) for r in rows]))
    if args.json:
        settings = {k: v for k, v in vars(args).items() if k != "json"}
        settings["real"] = [str(p) for p in args.real]
        settings["queries_from"] = str(args.queries_from)
        write_json(
            args.json,
            {"args": settings, "results": rows, "peak_rss_mb": peak_rss_mb(), **extra},
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
