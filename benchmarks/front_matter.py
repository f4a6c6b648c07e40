"""Front matter as one passage (chunker version 3) against one passage per line, in one run.

The bundled report starts with a title, a date line and a speaker line. The chunker now
makes them one passage, a line per sentence (``qa.chunking.MAX_FRONT_MATTER_LINES``); set
to 1 it cuts them as before, a passage per line. Both indexes are built in this run (the
same encoder) and asked the same questions, hybrid.

Two tables. Quality: R@1, R@5 and MRR@10 per question set and the questions whose answer
left or entered the top 1 / top 5; "front matter above the answer": questions where a
front-matter passage ranks above the answering passage (or in the top 5 when none answers).
Front matter questions: the rank of the passage holding the asked line and whether that
hit's answering sentence is the line.

    python benchmarks/front_matter.py
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import format_table, report_question_sets  # noqa: E402

import qa  # noqa: E402
from qa import chunking  # noqa: E402
from qa.chunking import chunk_text, search_key  # noqa: E402
from qa.evaluation import Question  # noqa: E402

# (question, the front-matter line that answers it)
FRONT_QUESTIONS = [
    ("谁作的报告？", "市人民政府市长高翔"),
    ("报告人是谁？", "市人民政府市长高翔"),
    ("这份报告是哪天作的？", "2021年4月13日"),
    ("报告是在哪次会议上作的？", "第六届人民代表大会第六次会议"),
    ("Who delivered the report?", "市人民政府市长高翔"),
    ("When was the report delivered?", "2021年4月13日"),
]


def front_keys() -> set[str]:
    """search_key of each front-matter line of the bundled report."""
    text = qa.BUNDLED_REPORT.read_text(encoding="utf-8")
    first = chunk_text(text, "report")[0]
    return {search_key(line) for line in first.text.split("\n")}


def is_front(hit: qa.Hit, keys: set[str]) -> bool:
    """Whether the hit is front matter: one line of it, or the passage of them."""
    lines = {search_key(line) for line in hit.text.split("\n")}
    return lines <= keys


def run(
    index: qa.Index, questions: Sequence[Question], keys: set[str]
) -> tuple[list[int | None], int]:
    """Rank of the first answering hit in the top 10 per question, and how many
    questions have front matter above that hit."""
    ranks: list[int | None] = []
    above = 0
    for question in questions:
        hits = index.search(question.question, k=10)
        hit = next((h for h in hits if question.is_answered_by(h)), None)
        ranks.append(None if hit is None else hit.rank)
        cutoff = 5 if hit is None else hit.rank - 1
        above += any(is_front(h, keys) for h in hits[:cutoff])
    return ranks, above


def within(rank: int | None, cutoff: int) -> bool:
    """Whether a rank is in the top ``cutoff``."""
    return rank is not None and rank <= cutoff


def main() -> int:
    """Build both indexes, ask the questions, print the two tables."""
    argparse.ArgumentParser(description=__doc__.split("\n")[0]).parse_args()
    keys = front_keys()
    saved = chunking.MAX_FRONT_MATTER_LINES
    try:
        chunking.MAX_FRONT_MATTER_LINES = 1
        before = qa.Index.build([qa.BUNDLED_REPORT])
    finally:
        chunking.MAX_FRONT_MATTER_LINES = saved
    after = qa.Index.build([qa.BUNDLED_REPORT])
    runs = [("line per passage (chunker 2)", before), ("front matter one passage (3)", after)]

    sets: dict[str, list[Question]] = report_question_sets()

    quality = []
    front_rows = []
    for name, index in runs:
        for set_name, questions in sets.items():
            ranks, above = run(index, questions, keys)
            n = len(ranks)
            quality.append(
                [set_name, name, n]
                + [round(sum(within(r, c) for r in ranks) / n, 4) for c in (1, 5)]
                + [round(sum(1 / r for r in ranks if r is not None) / n, 4), above, ranks]
            )
        for question, line in FRONT_QUESTIONS:
            hits = index.search(question, k=10)
            holder = next((h for h in hits if search_key(line) in search_key(h.text)), None)
            rank = "-" if holder is None else holder.rank
            is_line = holder is not None and search_key(line) in search_key(holder.sentence)
            front_rows.append([question, name, rank, is_line])

    baseline = {row[0]: row[-1] for row in quality[: len(sets)]}
    rows = []
    for row in quality:
        ranks, old = row[-1], baseline[row[0]]
        changes = []
        for cutoff in (1, 5):
            pairs = list(zip(old, ranks, strict=True))
            lost = sum(within(a, cutoff) and not within(b, cutoff) for a, b in pairs)
            gained = sum(within(b, cutoff) and not within(a, cutoff) for a, b in pairs)
            changes.append(f"-{lost} / +{gained}")
        rows.append([*row[:-1], *changes])
    headers = ["questions", "run", "n", "R@1", "R@5", "MRR@10", "front matter above the answer",
               "top 1 lost/gained", "top 5 lost/gained"]  # fmt: skip
    print(format_table(headers, rows))
    print()
    headers = ["question", "run", "rank of its line", "its sentence is the line"]
    print(format_table(headers, front_rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
