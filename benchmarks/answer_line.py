"""The answer line: the sentence rule of ``qa.search.answering_sentence`` against the one
before it, in one run on the bundled report's index (hybrid, top 10).

Before: a sentence's dense part was the mean of the windows that hold it, so a first (or
last) sentence, held by one window, was judged by that window alone while the sentence it
shares the window with was also judged by its other, weaker window; English questions
(no shared words with the Chinese text) got the first sentence. Now, when no sentence shares
a word with the question, a missing window counts as the weakest of the passage's windows.
Every question is asked with both rules in turn.
"answer line": of the questions whose answering passage is in the top 10, how many have
the answer text in that hit's sentence; "lost / gained" compares the two per question.

    python benchmarks/answer_line.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import format_table, report_question_sets  # noqa: E402

import qa  # noqa: E402
from qa import ranking, search  # noqa: E402
from qa.chunking import Passage, search_key  # noqa: E402
from qa.evaluation import Question  # noqa: E402
from qa.lexical import tokenize  # noqa: E402


def previous_rule(
    passage: Passage, question: str, window_scores: dict[tuple[int, int], float]
) -> tuple[int, int]:
    """The answering sentence as chosen before: mean of the windows that hold it."""
    spans = passage.sentences or ((0, len(passage.text)),)
    if len(spans) == 1:
        return spans[0]
    query_tokens = set(tokenize(question, "bigram"))
    overlap = np.zeros(len(spans))
    total = sum(1.0 if len(t) > 1 else 0.25 for t in query_tokens)
    for i, (start, end) in enumerate(spans):
        shared = query_tokens & set(tokenize(passage.text[start:end], "bigram"))
        if query_tokens:
            overlap[i] = sum(1.0 if len(t) > 1 else 0.25 for t in shared) / total
    dense = np.zeros(len(spans))
    if window_scores:
        sums = np.zeros(len(spans))
        counts = np.zeros(len(spans))
        for (first, last), score in window_scores.items():
            sums[first:last] += score
            counts[first:last] += 1
        dense = search.min_max(np.where(counts > 0, sums / np.maximum(counts, 1), 0.0))
    lengths = np.array([len(passage.text[start:end].strip()) for start, end in spans])
    prior = np.where(lengths < search.SHORT_SENTENCE_CHARS, search.SHORT_SENTENCE_PRIOR, 1.0)
    return spans[int(np.argmax((overlap + dense) * prior))]


def line_holds_answer(index: qa.Index, question: Question) -> bool | None:
    """None when no top-10 hit answers; else whether that hit's sentence holds the answer."""
    hits = index.search(question.question, k=10)
    hit = next((h for h in hits if question.is_answered_by(h)), None)
    if hit is None:
        return None
    key, line = search_key(question.answer), search_key(hit.sentence)
    return key in line or line in key


def main() -> int:
    """Print the before/after answer-line table."""
    index = qa.default_index()
    sets: dict[str, list[Question]] = report_question_sets()
    rules = {"before": previous_rule, "now": search.answering_sentence}
    current = ranking.answering_sentence
    rows = []
    for name, questions in sets.items():
        results: dict[str, list[bool | None]] = {"before": [], "now": []}
        for question in questions:
            for rule, function in rules.items():
                ranking.answering_sentence = function
                try:
                    results[rule].append(line_holds_answer(index, question))
                finally:
                    ranking.answering_sentence = current
        pairs = list(zip(results["before"], results["now"], strict=True))
        lost = sum(bool(a) and not b for a, b in pairs)
        gained = sum(bool(b) and not a for a, b in pairs)
        for rule in rules:
            found = sum(r is not None for r in results[rule])
            change = f"-{lost} / +{gained}" if rule == "now" else ""
            rows.append([name, rule, len(questions), f"{sum(map(bool, results[rule]))}/{found}",
                         change])  # fmt: skip
    print(format_table(["questions", "rule", "n", "answer line", "lost / gained"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
