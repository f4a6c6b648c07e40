"""What the answer type costs a search, before and after the facts were stored with the
passages (before, the answer line ran jieba's part-of-speech tagger over every sentence of
every hit for 谁 / 哪里 questions), in one run.

    .venv/bin/python benchmarks/answer_type_speed.py                # 150 + 150 questions
    .venv/bin/python benchmarks/answer_type_speed.py --eval-contexts 100

Prints the warm search p50 / p95 (``Index.search``, k=5, the encoder loaded, every question
new so it is embedded each time) for questions asking who / where / which (谁, 哪里, 哪个
and their Traditional forms) and for the others, over the CMRC 2018 and DRCD contexts; and
the wall time of ``qa eval`` of a SQuAD file made of the first ``--eval-contexts`` CMRC
contexts, run twice in a fresh index root (the first builds its cached index, the second
loads it), for each version.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import format_table, percentiles_ms  # noqa: E402
from versions import BEFORE, ROOTS, run_versions  # noqa: E402

NAMED = re.compile(r"谁|誰|哪里|哪裡|哪裏|哪儿|哪個|哪个")


def _worker(count: int, out: Path) -> None:
    from question_sets import squad_file

    from qa.evaluation import contexts_index, read_squad

    results: dict[str, Any] = {}
    for corpus in ("cmrc", "drcd"):
        path = squad_file(corpus)
        if not path.is_file():
            continue
        questions, documents = read_squad(path)
        index = contexts_index(path, documents, "multilingual-e5-small", True)
        named = [q.question for q in questions if NAMED.search(q.question)][:count]
        others = [q.question for q in questions if not NAMED.search(q.question)][:count]
        for warm in others[-5:]:
            index.search(warm, k=5)
        for group, asked in (("who / where / which", named), ("others", others[:-5])):
            seconds = []
            for question in asked:
                started = time.perf_counter()
                index.search(question, k=5)
                seconds.append(time.perf_counter() - started)
            results[f"{corpus}: {group}"] = seconds
    out.write_text(json.dumps(results), encoding="utf-8")


def _eval_twice(code: Path, contexts: int) -> tuple[float, float]:
    """Seconds of two ``qa eval`` runs of the first CMRC contexts in a fresh index root."""
    from question_sets import CMRC

    data = json.loads(CMRC.read_text(encoding="utf-8"))
    kept, taken = [], 0
    for article in data["data"]:
        if taken >= contexts:
            break
        paragraphs = article["paragraphs"][: contexts - taken]
        taken += len(paragraphs)
        kept.append({**article, "paragraphs": paragraphs})
    with tempfile.TemporaryDirectory() as scratch:
        squad = Path(scratch) / "part.json"
        squad.write_text(json.dumps({"data": kept}, ensure_ascii=False), encoding="utf-8")
        environment = dict(os.environ, PYTHONPATH=str(code), QA_INDEX_ROOT=scratch)
        environment.setdefault("HF_HUB_OFFLINE", "1")
        command = [sys.executable, "-m", "qa.cli", "eval", str(squad), "--json"]
        times = []
        for _ in range(2):
            started = time.perf_counter()
            subprocess.run(command, env=environment, check=True, capture_output=True)
            times.append(time.perf_counter() - started)
    return times[0], times[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=150, help="per group and corpus")
    parser.add_argument("--eval-contexts", type=int, default=100)
    parser.add_argument("--before", default=BEFORE)
    parser.add_argument("--roots", type=Path, default=ROOTS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.questions, args.out)
        return
    script = Path(__file__)
    results = run_versions(
        script, ["--questions", str(args.questions)], args.before, None, args.roots
    )
    rows = []
    for group in results["after"]:
        for version in ("before", "after"):
            seconds = results[version].get(group)
            if seconds:
                p50, p95 = percentiles_ms(seconds)
                rows.append([group, version, len(seconds), p50, p95])
    print(format_table(["questions", "code", "n", "median ms", "p95 ms"], rows))
    if args.eval_contexts:
        from common import REPO

        with tempfile.TemporaryDirectory() as scratch:
            code = Path(scratch) / "before"
            subprocess.run(
                ["git", "worktree", "add", "--detach", str(code), args.before],
                cwd=REPO,
                check=True,
                capture_output=True,
            )
            try:
                timed = {"before": _eval_twice(code, args.eval_contexts)}
            finally:
                subprocess.run(["git", "worktree", "remove", "--force", str(code)], cwd=REPO)
        timed["after"] = _eval_twice(REPO, args.eval_contexts)
        rows = [
            [version, first, second, first / second] for version, (first, second) in timed.items()
        ]
        print()
        print(f"qa eval of the first {args.eval_contexts} CMRC 2018 dev contexts, twice:")
        print(format_table(["code", "first s (builds)", "second s (cached)", "ratio"], rows))


if __name__ == "__main__":
    main()
