"""The Milvus store (milvus-lite) beside the FAISS store: build and query figures, quality.

    python benchmarks/milvus_vs_faiss.py                  # the bundled report, dev questions
    python benchmarks/milvus_vs_faiss.py --cmrc           # + CMRC 2018 dev contexts (slow)
    python benchmarks/milvus_vs_faiss.py --cmrc --cmrc-contexts 300 --json out.json
    python benchmarks/milvus_vs_faiss.py --cmrc --cmrc-contexts 300 --variants bigram:qa

Both stores hold the same vectors: the FAISS index is the cached one (``qa.default_index()``
for the report; for CMRC the index of ``benchmarks/cmrc_sweep.py``, ``<index root>/
cmrc2018-dev[-N]``, built by whichever script runs first, ~15-40 min for all contexts here,
and loaded in seconds afterwards) and the Milvus store is filled from it with
:meth:`qa.milvus_store.MilvusIndex.copy_from`, so nothing is embedded twice. Build figures
are therefore the store's own work: FAISS makes its vector and BM25 indexes and saves the
folder; Milvus inserts the rows (computing BM25 itself) and flushes.

Query figures: every question is asked once per mode and store (R@1/3/5/10, MRR@10, as
``qa eval``; the first 1000 CMRC questions unless told otherwise, ``--cmrc-questions 0``
for all), then latency is the median and p95 over further rounds of the first 100.
Questions are embedded once and cached (for CMRC in ``cmrc2018-dev[-N].queries.npz``
beside the index, shared with cmrc_sweep.py), so latency is the store's work, not the
encoder's (the same for both). Milvus variants: tokenizer ``bigram`` (the default, the
core's tokens) and ``jieba`` (Milvus's own analyzer); hybrid fusion ``qa`` (default,
:func:`qa.ranking.fuse`) and ``milvus`` (Milvus's ``hybrid_search`` with its weighted
ranker). Fusion changes only hybrid mode and dense mode reads no tokens, so dense is
measured on the first Milvus store only and the ``milvus`` fusion in hybrid mode only:
Milvus queries are slow on milvus-lite (a hybrid CMRC question took about 0.5 s here, and
``--cmrc`` with 1000 questions 37 minutes).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cmrc_sweep import build_or_load, default_folder, load_cmrc, query_cache_file  # noqa: E402
from common import (  # noqa: E402
    DEV_QUESTIONS,
    CachingEncoder,
    format_table,
    percentiles_ms,
    write_json,
)

import qa  # noqa: E402
from qa.answers import Hit  # noqa: E402
from qa.evaluation import Question, read_tsv_questions, score  # noqa: E402
from qa.index import contextual_text, make_vector_index  # noqa: E402
from qa.lexical import KeywordIndex  # noqa: E402
from qa.milvus_store import MilvusIndex  # noqa: E402
from qa.question import MODES  # noqa: E402

METRICS = ("R@1", "R@3", "R@5", "R@10", "MRR@10")
TOLERANCE = 0.03
LATENCY_QUESTIONS = 100


def folder_mb(path: Path) -> float:
    """Size of the files under a folder (or one file), in MiB."""
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 2**20


def faiss_store_work(index: qa.Index, folder: Path) -> float:
    """Seconds the FAISS store takes to make its indexes from the vectors and save them."""
    contents = index._contents
    paragraphs = contents.paragraph_vectors.reconstruct_n(0, contents.paragraph_vectors.ntotal)
    windows = contents.window_vectors.reconstruct_n(0, contents.window_vectors.ntotal)
    start = time.perf_counter()
    make_vector_index(paragraphs, index.encoder.dim, index.vector_index)
    make_vector_index(windows, index.encoder.dim, index.vector_index)
    KeywordIndex.build([contextual_text(p) for p in contents.passages], index.tokenizer)
    index.save(folder)
    return time.perf_counter() - start


def cmrc_faiss_index(contexts: int | None) -> tuple[qa.Index, list[Question], Path]:
    """The CMRC dev contexts' FAISS index, its questions and its folder.

    The index is cmrc_sweep.py's (same contexts, chunking and encoder): loaded when saved,
    else embedded once and saved there for both scripts.
    """
    questions, documents = load_cmrc(contexts=contexts)
    folder = default_folder(contexts)
    start = time.perf_counter()
    index, stats = build_or_load(documents, folder)
    action = "embedded" if stats else "loaded"
    print(
        f"CMRC: {len(documents)} contexts, {len(questions)} questions; index {folder} "
        f"{action} in {time.perf_counter() - start:.0f} s",
        flush=True,
    )
    return index, questions, folder


Search = Callable[[str, int, str], list[Hit]]


def measure(
    search: Search, questions: Sequence[Question], rounds: int, modes: Sequence[str] = MODES
) -> dict[str, Any]:
    """Quality (every question) and latency (the first LATENCY_QUESTIONS) of each mode."""
    result: dict[str, Any] = {}
    texts = [q.question for q in questions[:LATENCY_QUESTIONS]]
    for mode in modes:

        def top10(question: str, mode: str = mode) -> list[Hit]:
            return search(question, 10, mode)

        start = time.perf_counter()
        metrics = score(questions, top10)
        first = time.perf_counter() - start
        times = []
        for _ in range(rounds):
            for text in texts:
                start = time.perf_counter()
                search(text, 5, mode)
                times.append(time.perf_counter() - start)
        median, p95 = percentiles_ms(times) if times else (first * 1000 / len(texts), 0.0)
        result[mode] = {
            "metrics": metrics,
            "median_ms": median,
            "p95_ms": p95,
            "quality_seconds": first,
            "latency_seconds": sum(times),
        }
    return result


def compare(
    name: str,
    faiss_index: qa.Index,
    questions: Sequence[Question],
    tmp: Path,
    rounds: int,
    variants: Sequence[tuple[str, str]],
    query_cache: Path | None = None,
) -> dict[str, Any]:
    """Build both stores from one set of vectors, measure them, print the tables.

    ``query_cache`` (an .npz file) keeps the question vectors between runs.
    """
    faiss_index.encoder = CachingEncoder(faiss_index.encoder)
    start = time.perf_counter()
    faiss_index.encoder.prefill([q.question for q in questions], query_cache)
    print(f"{name}: {len(questions)} question vectors in {time.perf_counter() - start:.0f} s")
    counts = faiss_index.manifest()["counts"]
    faiss_seconds = faiss_store_work(faiss_index, tmp / f"{name}-faiss")
    builds = [
        [
            "FAISS folder",
            faiss_index.tokenizer,
            counts["passages"],
            counts["windows"],
            faiss_seconds,
            folder_mb(tmp / f"{name}-faiss"),
        ]
    ]
    stores: dict[str, Any] = {"FAISS": (faiss_index.search, MODES)}
    dense_measured = False
    for tokenizer, fusion in variants:
        label = f"Milvus {tokenizer}" + ("" if fusion == "qa" else f", fusion={fusion}")
        path = tmp / f"{name}-{tokenizer}.db"
        if fusion == "qa" or not path.exists():
            store = MilvusIndex.create(
                f"milvus-lite:{path}",
                faiss_index.encoder.name,
                faiss_index.settings,
                tokenizer,
                replace=True,
            )
            start = time.perf_counter()
            store.copy_from(faiss_index)
            store.save()
            seconds = time.perf_counter() - start
            row = ["Milvus (milvus-lite)", tokenizer, len(store), counts["windows"], seconds]
            builds.append([*row, folder_mb(path)])
        else:
            store = MilvusIndex.load(f"milvus-lite:{path}")
        store.encoder = faiss_index.encoder  # the same cached question vectors
        store.fusion = fusion
        # Fusion only changes hybrid mode, and dense mode reads no tokens: dense is measured
        # on the first Milvus store only, keyword on each tokenizer's (Milvus is slow).
        modes = ["hybrid"]
        if fusion == "qa":
            modes += ["keyword"] if dense_measured else ["dense", "keyword"]
            dense_measured = True
        stores[label] = (store.search, modes)

    print(f"\n## {name}: build from the same vectors (the store's own work)")
    headers = ["store", "BM25 tokens", "passages", "windows", "seconds", "MiB on disk"]
    print(format_table(headers, builds))

    results = {}
    for label, (search, modes) in stores.items():
        start = time.perf_counter()
        results[label] = measure(search, questions, rounds, modes)
        print(f"{name}: {label} measured in {time.perf_counter() - start:.0f} s", flush=True)
    print(f"\n## {name}: quality ({len(questions)} questions; Δ = Milvus − FAISS)")
    rows = []
    for mode in MODES:
        base = results["FAISS"][mode]["metrics"]["overall"]
        for label, result in results.items():
            if mode not in result:
                continue
            overall = result[mode]["metrics"]["overall"]
            deltas = [overall[m] - base[m] for m in METRICS]
            worst = max(abs(d) for d in deltas)
            verdict = "" if label == "FAISS" else ("ok" if worst <= TOLERANCE else "OUT")
            rows.append(
                [mode, label]
                + [f"{overall[m]:.3f}" for m in METRICS]
                + ["" if label == "FAISS" else f"{worst:+.3f}".replace("+", ""), verdict]
            )
    print(format_table(["mode", "store", *METRICS, "max |Δ|", "within 0.03"], rows))

    print(f"\n## {name}: warm query latency, ms (k=5, {rounds} rounds, question vectors cached)")
    rows = []
    for mode in MODES:
        for label, result in results.items():
            if mode not in result:
                continue
            rows.append([mode, label, result[mode]["median_ms"], result[mode]["p95_ms"]])
    print(format_table(["mode", "store", "median", "p95"], rows))
    return {"builds": builds, "results": results}


def main(argv: Sequence[str] | None = None) -> int:
    """Measure both stores; print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cmrc", action="store_true", help="also the CMRC 2018 dev contexts")
    parser.add_argument("--cmrc-contexts", type=int, help="only the first N CMRC contexts")
    parser.add_argument(
        "--cmrc-questions",
        type=int,
        default=1000,
        help="CMRC questions asked (default: 1000; 0 for all)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="latency rounds (default: 3)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--variants",
        default="bigram:qa,bigram:milvus,jieba:qa,jieba:milvus",
        help="Milvus stores as tokenizer:fusion, comma-separated (default: all four; "
        "bigram:qa is the default store)",
    )
    args = parser.parse_args(argv)
    variants = [
        (tokenizer, fusion)
        for tokenizer, _, fusion in (v.partition(":") for v in args.variants.split(","))
    ]
    if any(t not in ("bigram", "jieba") or f not in ("qa", "milvus") for t, f in variants):
        parser.error(f"--variants: each is tokenizer:fusion, not {args.variants!r}")
    figures: dict[str, Any] = {}
    tmp = Path(tempfile.mkdtemp(prefix="qa-milvus-bench-"))
    try:
        report = qa.default_index()
        questions = read_tsv_questions(DEV_QUESTIONS)
        figures["report"] = compare("report", report, questions, tmp, args.rounds, variants)
        if args.cmrc:
            index, cmrc_questions, folder = cmrc_faiss_index(args.cmrc_contexts)
            if args.cmrc_questions:
                cmrc_questions = cmrc_questions[: args.cmrc_questions]
            figures["cmrc"] = compare(
                "cmrc", index, cmrc_questions, tmp, 1, variants, query_cache_file(folder)
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        write_json(args.json, _plain(figures))
    return 0


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


if __name__ == "__main__":
    sys.exit(main())
