"""The answer line of ``qa.answer_line.answering_sentence`` under variants of its settings,
in one run (hybrid, top 10).

- ``ANSWER_TYPE_BONUS`` (``--bonus``): added to the score of a sentence that holds what the
  question asks for (a number for 多少, a date for 哪一年, a person's name for 谁, a place
  for 哪里; ``qa.question.asked_type``);
- ``BEST_WINDOW_SHARE`` (``--best-window-share``): how much of a sentence's dense score is
  its best window's, the rest being the mean of its windows;
- ``SHORT_FIGURES_SPARED`` (``--spares-figures 0,1``): whether a short sentence with a
  figure escapes the short-sentence prior.

Every question is asked with each combination in turn; the first is the baseline.
"answer line": of the questions whose answering passage is in the top 10, how many have the
answer text in that hit's sentence; "lost / gained" compares each combination with the
baseline, question by question. The bundled report's question sets, and with ``--cmrc N``
the first N questions of CMRC 2018 dev (its answer spans; its contexts' index is cached as
by ``qa eval``).

    python benchmarks/answer_line.py                       # bonus 0 against the default
    python benchmarks/answer_line.py --bonus 0,0.15,0.3,0.5 --cmrc 3219
    python benchmarks/answer_line.py --bonus 0.2 --best-window-share 0,0.5,1 --cmrc 3219
    python benchmarks/answer_line.py --bonus 0.2 --spares-figures 0,1 --cmrc 3219
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import REPO, format_table, report_question_sets  # noqa: E402

import qa  # noqa: E402
from qa import answer_line  # noqa: E402
from qa.chunking import search_key  # noqa: E402
from qa.encoders import DEFAULT_ENCODER  # noqa: E402
from qa.evaluation import Question, contexts_index, read_squad  # noqa: E402
from qa.question import asked_type  # noqa: E402

CMRC = REPO.parent / "shared" / "eval" / "cmrc2018" / "cmrc2018_dev.json"


def line_holds_answer(index: Any, question: Question, answers: list[str]) -> bool | None:
    """None when no top-10 hit answers; else whether that hit's sentence holds an answer."""
    hits = index.search(question.question, k=10)
    hit = next((h for h in hits if question.is_answered_by(h)), None)
    if hit is None:
        return None
    line = search_key(hit.sentence)
    return any(search_key(a) in line or line in search_key(a) for a in answers if a.strip())


def cmrc_questions(limit: int) -> tuple[Any, list[tuple[Question, list[str]]]]:
    """The CMRC contexts' index and the first ``limit`` questions with their answer texts."""
    questions, documents = read_squad(CMRC)
    data = json.loads(CMRC.read_text(encoding="utf-8"))
    answers = {
        qa_["question"]: [a["text"] for a in qa_["answers"]]
        for article in data["data"]
        for paragraph in article["paragraphs"]
        for qa_ in paragraph["qas"]
    }
    index = contexts_index(CMRC, documents, DEFAULT_ENCODER, progress=True)
    return index, [(q, answers.get(q.question, [])) for q in questions[:limit]]


def numbers(text: str) -> list[float]:
    """A comma-separated list of numbers (an argparse type: a bad one is a usage error)."""
    try:
        return [float(value) for value in text.split(",")]
    except ValueError:
        message = f"not a comma-separated list of numbers: {text!r}"
        raise argparse.ArgumentTypeError(message) from None


def switches(text: str) -> list[bool]:
    """A comma-separated list of 0 and 1 (an argparse type)."""
    values = text.split(",")
    if not values or any(value not in ("0", "1") for value in values):
        raise argparse.ArgumentTypeError(f"not a comma-separated list of 0 and 1: {text!r}")
    return [value == "1" for value in values]


def main() -> int:
    """Print the answer-line table for each combination of the settings."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bonus", type=numbers, default=[0.0, answer_line.ANSWER_TYPE_BONUS])
    parser.add_argument("--cmrc", type=int, default=0, help="also the first N CMRC questions")
    parser.add_argument(
        "--best-window-share",
        type=numbers,
        default=[answer_line.BEST_WINDOW_SHARE],
        help="comma-separated values of qa.answer_line.BEST_WINDOW_SHARE to compare",
    )
    parser.add_argument(
        "--spares-figures",
        type=switches,
        default=[answer_line.SHORT_FIGURES_SPARED],
        help="comma-separated values (0, 1) of qa.answer_line.SHORT_FIGURES_SPARED to compare",
    )
    args = parser.parse_args()
    bonuses, shares, spares = args.bonus, args.best_window_share, args.spares_figures
    sets: list[tuple[str, Any, list[tuple[Question, list[str]]]]] = []
    report = qa.default_index()
    for name, questions in report_question_sets().items():
        sets.append((name, report, [(q, [q.answer]) for q in questions]))
    if args.cmrc and CMRC.exists():
        index, pairs = cmrc_questions(args.cmrc)
        sets.append((f"CMRC 2018 dev, first {len(pairs)}", index, pairs))
    variants = [(sh, b, sp) for sh in shares for b in bonuses for sp in spares]
    kept = (
        answer_line.BEST_WINDOW_SHARE,
        answer_line.ANSWER_TYPE_BONUS,
        answer_line.SHORT_FIGURES_SPARED,
    )
    rows = []
    for name, index, pairs in sets:
        results: dict[tuple[float, float, bool], list[bool | None]] = {v: [] for v in variants}
        for question, answers in pairs:
            for variant in variants:
                (
                    answer_line.BEST_WINDOW_SHARE,
                    answer_line.ANSWER_TYPE_BONUS,
                    answer_line.SHORT_FIGURES_SPARED,
                ) = variant
                try:
                    results[variant].append(line_holds_answer(index, question, answers))
                finally:
                    (
                        answer_line.BEST_WINDOW_SHARE,
                        answer_line.ANSWER_TYPE_BONUS,
                        answer_line.SHORT_FIGURES_SPARED,
                    ) = kept
        kinds = Counter(asked_type(q.question) or "-" for q, _ in pairs)
        asked = ", ".join(f"{k} {n}" for k, n in kinds.most_common())
        base = results[variants[0]]
        for variant in variants:
            mine = results[variant]
            lost = sum(bool(a) and not b for a, b in zip(base, mine, strict=True))
            gained = sum(bool(b) and not a for a, b in zip(base, mine, strict=True))
            found = sum(r is not None for r in mine)
            change = "" if variant == variants[0] else f"-{lost} / +{gained}"
            line = f"{sum(map(bool, mine))}/{found}"
            rows.append([name, *variant, len(pairs), line, change,
                         asked if variant == variants[0] else ""])  # fmt: skip
    header = [
        "questions",
        "best window",
        "bonus",
        "spares figures",
        "n",
        "answer line",
        "lost / gained",
        "asks",
    ]
    print(format_table(header, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
