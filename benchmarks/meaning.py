"""Before and after, in one run: every question set of ``benchmarks/question_sets.py`` asked
of the code at a git ref (``--before``, default the commit before issue 19's work) and of
the working tree, in hybrid, dense and keyword mode, with the verdict.

    .venv/bin/python benchmarks/meaning.py                  # both, all sets
    .venv/bin/python benchmarks/meaning.py --only after     # the working tree alone
    .venv/bin/python benchmarks/meaning.py --sets time      # sets whose name holds "time"
    .venv/bin/python benchmarks/meaning.py --every 4        # every 4th of CMRC and DRCD

Each version runs in a process of its own with an index root of its own under ``--roots``
(``benchmarks/versions.py``): the contexts indexes of CMRC 2018 and DRCD are built there once
(about 15 minutes each on 2 cores), or copied from ``--seed`` when that root holds them. Prints, per
set and mode, R@1, R@5 and MRR@10 before and after, the share of answerable questions judged
found (off-topic sets: judged not found), the answer text in the answer line (sets whose
questions give one), and the questions whose first-ranked answer or verdict changed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import format_table  # noqa: E402
from versions import BEFORE, ROOTS, run_versions  # noqa: E402

MODES = ("hybrid", "dense", "keyword")


# Sets larger than this are the ones ``--every`` samples (CMRC 2018 dev and DRCD test).
LARGE = 1000


def _worker(sets_filter: str, out: Path, vectors: Path, every: int = 1) -> None:
    """Ask every set of the code on ``sys.path`` (this process's qa) and write the rows;
    of a set larger than ``LARGE``, only every ``every``-th question (the 1st, the
    ``every+1``-th, ...), the same ones for each version."""
    from question_sets import corpus_files, question_sets, squad_file

    import qa
    from qa.chunking import search_key
    from qa.evaluation import contexts_index, read_squad
    from qa.index import Index

    indexes: dict[str, Any] = {}

    def index_of(corpus: str) -> Any:
        if corpus in indexes:
            return indexes[corpus]
        if corpus == "report":
            index = qa.default_index()
        elif corpus in ("cmrc", "drcd"):
            path = squad_file(corpus)
            index = contexts_index(path, read_squad(path)[1], "multilingual-e5-small", True)
        else:
            folder = qa.index_root() / ".meaning" / corpus
            files = corpus_files(corpus)
            index = None
            if (folder / "CURRENT").exists():
                index = Index.load(folder)
                if len(index.sources) != len(files):
                    index = None
            if index is None:
                index = Index.build(files, progress=True)
                index.save(folder)
        indexes[corpus] = index
        return index

    from common import CachingEncoder

    chosen = [
        s for s in question_sets() if not sets_filter or sets_filter.lower() in s.name.lower()
    ]
    for qset in chosen:
        if len(qset.questions) > LARGE:
            qset.questions = qset.questions[::every]
    results: dict[str, Any] = {}
    for qset in chosen:
        fresh = qset.corpus not in indexes
        index = index_of(qset.corpus)
        if fresh:
            # Every question of the corpus embedded once, in one go, kept for the next run
            # (both versions embed questions with the same model and engine).
            index.encoder = CachingEncoder(index.encoder)
            asked = [q.question for s in chosen if s.corpus == qset.corpus for q in s.questions]
            index.encoder.prefill(asked, vectors)
        rows = []
        started = time.perf_counter()
        for question in qset.questions:
            row: dict[str, Any] = {"q": question.question, "label": question.label}
            # ask(k=10) gives the hybrid search's hits and the verdict, from one search.
            answer = index.ask(question.question, k=10)
            if qset.answerable:
                for mode in MODES:
                    hits = answer.hits
                    if mode != "hybrid":
                        hits = index.search(question.question, k=10, mode=mode)
                    row[mode] = next((h.rank for h in hits if question.is_answered_by(h)), None)
            row["found"] = answer.found
            row["confidence"] = answer.confidence
            if qset.answerable and question.answer and answer.answer is not None:
                answered = question.is_answered_by(answer.answer)
                row["line"] = answered and search_key(question.answer) in search_key(
                    answer.answer.sentence
                )
            rows.append(row)
        results[qset.name] = {
            "held_out": qset.held_out,
            "answerable": qset.answerable,
            "seconds": round(time.perf_counter() - started, 1),
            "rows": rows,
        }
        print(f"  {qset.name}: {len(rows)} questions", file=sys.stderr, flush=True)
    out.write_text(json.dumps(results, ensure_ascii=False), encoding="utf-8")


def _metrics(rows: list[dict[str, Any]], mode: str) -> tuple[float, float, float]:
    ranks = [r.get(mode) for r in rows]
    n = len(ranks) or 1
    r1 = sum(1 for r in ranks if r == 1) / n
    r5 = sum(1 for r in ranks if r is not None and r <= 5) / n
    mrr = sum(1 / r for r in ranks if r is not None) / n
    return r1, r5, mrr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default=BEFORE, help="git ref of the code before")
    parser.add_argument("--only", choices=("before", "after"))
    parser.add_argument("--sets", default="", help="only sets whose name holds this text")
    parser.add_argument("--roots", type=Path, default=ROOTS)
    parser.add_argument("--seed", type=Path, help="an index root to copy contexts indexes from")
    parser.add_argument("--json", type=Path, help="also write the rows of both versions here")
    parser.add_argument(
        "--every", type=int, default=1, help=f"every N-th question of sets of over {LARGE}"
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--vectors", type=Path, default=ROOTS / "question-vectors.npz",
                        help="where the questions' vectors are kept between runs")  # fmt: skip
    args = parser.parse_args()
    if args.worker:
        _worker(args.sets, args.out, args.vectors, args.every)
        return
    if args.every < 1:
        parser.error("--every must be 1 or more")
    worker = ["--sets", args.sets, "--vectors", str(args.vectors), "--every", str(args.every)]
    results = run_versions(Path(__file__), worker, args.before, args.only, args.roots, args.seed)
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False), encoding="utf-8")
    _report(results)


def _report(results: dict[str, Any]) -> None:
    versions = list(results)
    names = list(results[versions[-1]])
    table = []
    for name in names:
        for version in versions:
            data = results[version].get(name)
            if data is None:
                continue
            rows = data["rows"]
            judged = [r["found"] for r in rows]
            if data["answerable"]:
                found = sum(1 for f in judged if f) / len(rows)
            else:
                found = sum(1 for f in judged if f is False) / len(rows)
            lines = [r["line"] for r in rows if "line" in r]
            cells: list[Any] = [name, version, len(rows)]
            for mode in MODES:
                if data["answerable"]:
                    r1, r5, mrr = _metrics(rows, mode)
                    cells.append(f"{r1:.3f} / {r5:.3f} / {mrr:.3f}")
                else:
                    cells.append("-")
            verdict = f"{found:.3f}" + (" (not found)" if not data["answerable"] else "")
            cells.append(verdict)
            cells.append(f"{sum(lines)}/{len(lines)}" if lines else "-")
            cells.append("held out" if data["held_out"] else "tuned on")
            table.append(cells)
    headers = ["set", "code", "n", *(f"{m} R@1 / R@5 / MRR@10" for m in MODES)]
    headers += ["judged found", "answer line", ""]
    print(format_table(headers, table))
    if len(versions) == 2:
        _changes(results)


def _changes(results: dict[str, Any]) -> None:
    before, after = results["before"], results["after"]
    for name, data in after.items():
        old = before.get(name)
        if old is None:
            continue
        lost = gained = 0
        flips: list[str] = []
        for was, now in zip(old["rows"], data["rows"], strict=True):
            if data["answerable"]:
                if was.get("hybrid") == 1 and now.get("hybrid") != 1:
                    lost += 1
                    ranks = f"{was.get('hybrid')} -> {now.get('hybrid')}"
                    flips.append(f"  - R@1 lost: {now['q']} ({ranks})")
                if was.get("hybrid") != 1 and now.get("hybrid") == 1:
                    gained += 1
            if was["found"] != now["found"]:
                flips.append(f"  ~ verdict {was['found']} -> {now['found']}: {now['q']}")
        if lost or gained or flips:
            print(f"{name}: hybrid R@1 lost {lost}, gained {gained}")
            for line in flips[:12]:
                print(line)
            if len(flips) > 12:
                print(f"  ... and {len(flips) - 12} more")


if __name__ == "__main__":
    main()
