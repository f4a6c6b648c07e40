"""What reading the words in translation costs a question, in one run: warm ``Index.ask``
(k=5, with the verdict) over the CMRC 2018 contexts, for the 300 English questions written
for them (across scripts) and every 10th Chinese one (within a script), with the words in
translation read (the ranking's ``translated_evidence`` and the answer line's
``translated_shares``) and with both turned off (the ranking before), alternately, rounds
times. The questions' vectors are embedded once beforehand, so the figures are the search's
own.

    .venv/bin/python benchmarks/across_scripts_speed.py --rounds 3
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CachingEncoder, format_table, percentiles_ms  # noqa: E402


def main() -> None:
    """Print p50 / p95 of each kind of question with and without the words in translation."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from question_sets import question_sets, squad_file

    from qa import answer_line, ranking
    from qa.evaluation import contexts_index, read_squad

    sets = {s.name: s for s in question_sets()}
    if "CMRC, English (tune)" not in sets:
        sys.exit("needs ../shared/eval/cmrc2018")
    questions = sets["CMRC, English (tune)"].questions + sets["CMRC 2018 dev"].questions[::10]
    path = squad_file("cmrc")
    index = contexts_index(path, read_squad(path)[1], "multilingual-e5-small", True)
    index.encoder = CachingEncoder(index.encoder)
    index.encoder.prefill([q.question for q in questions])
    index.ask(questions[0].question)  # the dictionary and the pinyin table read
    reading = (ranking.translated_evidence, answer_line.translated_shares)
    switched_off = (
        lambda *args, **kwargs: None,
        lambda question, texts: [0.0] * len(texts),
    )
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.rounds):
        for label, (evidence, shares) in (("off", switched_off), ("on", reading)):
            ranking.translated_evidence, answer_line.translated_shares = evidence, shares
            for question in questions:
                kind = "English (across)" if question.kind == "english" else "Chinese (within)"
                started = time.perf_counter()
                index.ask(question.question, k=5)
                times.setdefault((kind, label), []).append(time.perf_counter() - started)
    rows = []
    for (kind, label), values in sorted(times.items()):
        p50, p95 = percentiles_ms(values)
        rows.append([kind, label, len(values), f"{p50:.1f}", f"{p95:.1f}"])
    print(format_table(["questions", "words in translation", "n", "p50 ms", "p95 ms"], rows))


if __name__ == "__main__":
    main()
