"""The priors against lead-ins on and off, in one run: hybrid quality and the answer line.

``qa.ranking.LEAD_IN_PRIOR`` damps passages that only announce what follows;
``qa.answer_line.SHORT_SENTENCE_PRIOR`` damps short topic sentences when the answering sentence
is chosen. Every question is asked twice in a row, with both off (x1.0: as before they
existed) and on. The table gives R@1, R@5 and MRR@10, the questions whose answer left the
top 1 / top 5 (lost) or entered it (gained), and "answer line": of the questions whose
answering passage is in the top 10, how many have the answer text in that hit's sentence.

    python benchmarks/lead_in_prior.py                     # dev questions, English held-out
    python benchmarks/lead_in_prior.py --cmrc-contexts 250  # + CMRC 2018 (index of cmrc_sweep.py)
    python benchmarks/lead_in_prior.py --cmrc-contexts 848  # all: the index qa eval caches
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cmrc_sweep import CMRC_DEV, build_or_load, default_folder, load_cmrc  # noqa: E402
from common import DEV_QUESTIONS, format_table, report_question_sets  # noqa: E402

import qa  # noqa: E402
from qa import answer_line, ranking  # noqa: E402
from qa.chunking import search_key  # noqa: E402
from qa.encoders import DEFAULT_ENCODER  # noqa: E402
from qa.evaluation import Question, contexts_index, read_tsv_questions  # noqa: E402


def answer_rank(index: qa.Index, question: Question) -> tuple[int | None, bool]:
    """Rank of the first answering hit in the top 10 (hybrid; None when there is none),
    and whether that hit's answering sentence holds the answer text."""
    hits = index.search(question.question, k=10)
    hit = next((h for h in hits if question.is_answered_by(h)), None)
    if hit is None:
        return None, False
    key, line = search_key(question.answer), search_key(hit.sentence)
    return hit.rank, bool(question.answer) and (key in line or line in key)


def compare(index: qa.Index, questions: Sequence[Question]) -> list[list[object]]:
    """Rows of the table for one question set: off, on, and the lost/gained counts."""
    priors = (ranking.LEAD_IN_PRIOR, answer_line.SHORT_SENTENCE_PRIOR)
    ranks: dict[str, list[int | None]] = {"off": [], "on": []}
    lines: dict[str, int] = {"off": 0, "on": 0}
    for question in questions:
        for name, (lead_in, sentence) in (("off", (1.0, 1.0)), ("on", priors)):
            ranking.LEAD_IN_PRIOR, answer_line.SHORT_SENTENCE_PRIOR = lead_in, sentence
            try:
                rank, in_line = answer_rank(index, question)
            finally:
                ranking.LEAD_IN_PRIOR, answer_line.SHORT_SENTENCE_PRIOR = priors
            ranks[name].append(rank)
            lines[name] += in_line

    def within(rank: int | None, cutoff: int) -> bool:
        return rank is not None and rank <= cutoff

    rows = []
    for name in ("off", "on"):
        mine = ranks[name]
        n = len(mine)
        found = sum(r is not None for r in mine)
        rows.append(
            [
                f"priors {name}",
                n,
                round(sum(within(r, 1) for r in mine) / n, 4),
                round(sum(within(r, 5) for r in mine) / n, 4),
                round(sum(1 / r for r in mine if r is not None) / n, 4),
                f"{lines[name]}/{found}" if questions[0].answer else "-",
            ]
        )
    pairs = list(zip(ranks["off"], ranks["on"], strict=True))
    for cutoff in (1, 5):
        lost = sum(within(a, cutoff) and not within(b, cutoff) for a, b in pairs)
        gained = sum(within(b, cutoff) and not within(a, cutoff) for a, b in pairs)
        rows[1].append(f"-{lost} / +{gained}")
    rows[0].extend(["", ""])
    return rows


def main() -> int:
    """Print the on/off table for the dev questions (and CMRC when asked)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cmrc-contexts", type=int, help="also CMRC, its first N contexts")
    args = parser.parse_args()
    sets: dict[str, tuple[qa.Index, list[Question]]] = {}
    report = qa.default_index()
    if DEV_QUESTIONS.exists():
        dev = read_tsv_questions(DEV_QUESTIONS)
        sets["dev, all"] = (report, dev)
        sets["dev, English"] = (report, [q for q in dev if q.question.isascii()])
        sets["dev, paraphrase (vague) Chinese"] = (
            report,
            [q for q in dev if q.kind == "paraphrase" and not q.question.isascii()],
        )
    report = report_question_sets()
    held_out = report["held-out English"]
    sets["held-out English (scripts/calibrate.py)"] = (report, held_out)
    chinese = report["held-out Chinese"]
    sets["held-out Chinese (scripts/calibrate.py)"] = (report, chinese)
    if args.cmrc_contexts:
        questions, documents = load_cmrc(contexts=args.cmrc_contexts)
        if len(documents) == len(load_cmrc()[1]):  # all of them: the index qa eval caches
            index = contexts_index(CMRC_DEV, documents, DEFAULT_ENCODER, progress=True)
        else:
            index, _ = build_or_load(documents, default_folder(args.cmrc_contexts))
        sets[f"CMRC 2018 dev, first {args.cmrc_contexts} contexts"] = (index, questions)
    headers = ["questions", "run", "n", "R@1", "R@5", "MRR@10", "answer line",
               "top 1 lost/gained", "top 5 lost/gained"]  # fmt: skip
    rows = []
    for name, (index, questions) in sets.items():
        for row in compare(index, questions):
            rows.append([name, *row])
    print(format_table(headers, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
