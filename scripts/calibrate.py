"""Fit and check the found / not-found verdict (``qa.verdict.CALIBRATIONS``) for an encoder.

Every question of a group is asked once of its corpus's index (hybrid, k=5) and the
verdict's features are read from that one search (``qa.verdict.verdict_features``),
relative to that index's baseline (``qa.verdict.probe_baseline``). A logistic model over
them is fitted on the groups marked ``fit`` (answered questions labelled found, off-topic
ones not found) and checked on the groups held out, which come from corpora, languages and
questions the fit never saw. Prints the coefficients to record in ``qa/verdict.py`` and the
table of docs/verdict.md.

    .venv/bin/python scripts/calibrate.py                  # the default encoder
    .venv/bin/python scripts/calibrate.py --recorded       # the table of the recorded one
    .venv/bin/python scripts/calibrate.py --rows rows.json # reuse the features asked before

The corpora: the bundled report, the CMRC 2018 dev contexts, the DRCD test contexts (both
from ``../shared``, skipped when absent) and the hand-written English articles of
``benchmarks/questions/english-docs``. The question sets are those of
``benchmarks/question_sets.py`` and ``benchmarks/questions/off-topic.tsv``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import qa  # noqa: E402
from qa import answers, verdict  # noqa: E402
from qa.encoders import DEFAULT_ENCODER  # noqa: E402
from qa.evaluation import Question, contexts_index, read_squad  # noqa: E402
from qa.question import read_question  # noqa: E402

FEATURES = ("margin", "disagreement", "coverage", "cross_script", "best", "lift", "lift_top")
# The model for questions across scripts (Calibration.across) also reads the words a
# question's best passages hold in translation (qa.dictionary); within a script that
# feature is 0 and the model above judges, as it did before the feature was added.
ACROSS_FEATURES = (*FEATURES, "translated")
# In the fit, an answered question asked in another script than its corpus (English over
# Chinese text, Chinese over English) weighs this many times its share: across scripts the
# features separate answered from off-topic questions less well (the encoder matches across
# languages only roughly), and 2 is where the English off-topic questions held out over the
# report are judged found no more often than by the calibration before (docs/verdict.md).
CROSS_SCRIPT_FOUND_WEIGHT = 2.0
# CMRC questions in the fit: every this many-th; as many others, between them, are checked
# (benchmarks/meaning.py judges all of CMRC and DRCD).
CMRC_FIT_STEP = 10
QUESTION_VECTORS = REPO / "index" / ".meaning-roots" / "question-vectors.npz"


@dataclass
class Row:
    """One question asked of one corpus: its group, whether the corpus answers it, whether
    the group is fitted on, the rank of its answer in the top 5, and its features."""

    group: str
    corpus: str
    question: str
    on_topic: bool
    fitted: bool
    answer_rank: int | None
    features: dict[str, float]


def _groups() -> list[tuple[str, str, list[Question], bool, bool]]:
    """(group, corpus, questions, on topic, fitted) for every group this machine has."""
    from question_sets import off_topic, question_sets

    sets = {s.name: s for s in question_sets()}
    probes = [Question("probe", q) for q in verdict.PROBE_QUESTIONS]
    off_fit, off_held = off_topic("fit"), off_topic("heldout")
    same_genre = off_topic("fit", same_genre=True) + off_topic("heldout", same_genre=True)
    groups: list[tuple[str, str, list[Question], bool, bool]] = []

    def add(name: str, corpus: str, questions: list[Question], on: bool, fitted: bool) -> None:
        if questions:
            groups.append((name, corpus, questions, on, fitted))

    def named(name: str) -> list[Question]:
        return sets[name].questions if name in sets else []

    add("dev", "report", named("dev, keyword") + named("dev, paraphrase"), True, True)
    add("report, English (fitted)", "report", named("report, English (fitted)"), True, True)
    add("time, report (dev)", "report", named("time, report (dev)"), True, True)
    add("report, English held out", "report", named("report, English held out"), True, False)
    add("report, Chinese held out", "report", named("report, Chinese held out"), True, False)
    add("time, report (held out)", "report", named("time, report (held out)"), True, False)
    cmrc = named("CMRC 2018 dev")
    add("CMRC, Chinese (fitted)", "cmrc", cmrc[::CMRC_FIT_STEP], True, True)
    held_cmrc = cmrc[CMRC_FIT_STEP // 2 :: CMRC_FIT_STEP]
    add("CMRC, Chinese (not fitted)", "cmrc", held_cmrc, True, False)
    add("CMRC, English (fitted)", "cmrc", named("CMRC, English (tune)"), True, True)
    drcd = named("DRCD test")
    add(
        "DRCD, Traditional Chinese held out", "drcd", drcd[:: max(1, len(drcd) // 300)], True, False
    )
    add("DRCD, English held out", "drcd", named("DRCD, English held out"), True, False)
    add("English docs, Chinese (fitted)", "english-docs", named("English docs, Chinese (tune)"),
        True, True)  # fmt: skip
    add("English docs, Chinese held out", "english-docs",
        named("English docs, Chinese held out"), True, False)  # fmt: skip
    for corpus in ("report", "cmrc", "drcd", "english-docs"):
        if corpus in {c for _, c, _, _, _ in groups}:
            add(f"off-topic (fitted: the probes), {corpus}", corpus, probes, False, True)
            add(f"off-topic (fitted), {corpus}", corpus, off_fit, False, True)
            add(f"off-topic held out, {corpus}", corpus, off_held, False, False)
    add("same genre, not in the report", "report", same_genre, False, False)
    add("report, off-topic held out (25)", "report", named("report, off-topic held out"),
        False, False)  # fmt: skip
    return groups


def _index(corpus: str) -> Any:
    from question_sets import corpus_files, squad_file

    if corpus == "report":
        return qa.default_index()
    if corpus in ("cmrc", "drcd"):
        path = squad_file(corpus)
        return contexts_index(path, read_squad(path)[1], DEFAULT_ENCODER, progress=True)
    folder = qa.index_root() / ".meaning" / corpus
    if (folder / "CURRENT").exists():
        return qa.Index.load(folder)
    index = qa.Index.build(corpus_files(corpus), progress=True)
    index.save(folder)
    return index


def ask(index: qa.Index, question: Question) -> tuple[int | None, dict[str, float]]:
    """Ask one question once; the rank of its answer in the top 5 and its features."""
    asked = read_question(question.question)
    contents = index._contents
    candidates = index._candidates(contents, asked, "all")
    ranked = answers.rank(asked, candidates, 5, "hybrid", contents.passages_of)
    judged = list(zip(ranked.positions, ranked.passages, strict=True))
    baseline = index._baseline(contents)
    features = verdict.question_features(asked, candidates, judged, baseline, contents.vectors_of)
    assert features is not None
    answered = question.answer not in ("", "-") or bool(question.source)
    rank = next((h.rank for h in ranked.hits if question.is_answered_by(h)), None)
    return (rank if answered else None), features


def collect(corpora: set[str] | None = None) -> list[Row]:
    """Ask every group of every corpus this machine has (a few thousand questions), or of
    the ``corpora`` named."""
    from common import CachingEncoder

    rows: list[Row] = []
    indexes: dict[str, Any] = {}
    groups = [g for g in _groups() if corpora is None or g[1] in corpora]
    for name, corpus, questions, on, fitted in groups:
        index = indexes.get(corpus)
        if index is None:
            index = indexes[corpus] = _index(corpus)
            # Every question of the corpus embedded once, in one go, and kept for next time.
            index.encoder = CachingEncoder(index.encoder)
            asked = [q.question for g in groups if g[1] == corpus for q in g[2]]
            index.encoder.prefill([*asked, *verdict.PROBE_QUESTIONS], QUESTION_VECTORS)
        for question in questions:
            rank, features = ask(index, question)
            rows.append(Row(name, corpus, question.question, on, fitted, rank, features))
        print(f"  {name}: {len(questions)}", file=sys.stderr, flush=True)
    return rows


def fit(
    rows: list[Row],
    features: tuple[str, ...] = FEATURES,
    cross_weight: float = CROSS_SCRIPT_FOUND_WEIGHT,
) -> verdict.Calibration:
    """A logistic regression of on-topic over the features (lightly regularised).

    Each group of (corpus, same or cross script, on or off topic) weighs the same in the
    fit, but for the answered cross-script ones, which weigh ``cross_weight`` times that.
    """
    from sklearn.linear_model import LogisticRegression

    x = np.array([[row.features[name] for name in features] for row in rows])
    y = np.array([row.on_topic for row in rows])
    group = [(row.corpus, row.features["cross_script"], row.on_topic) for row in rows]
    counts = {g: group.count(g) for g in set(group)}
    weight = np.array(
        [
            len(rows) / (len(counts) * counts[g]) * (cross_weight if g[1] and g[2] else 1.0)
            for g in group
        ]
    )
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=10.0, max_iter=5000).fit(x / scale, y, sample_weight=weight)
    weights = model.coef_[0] / scale
    return verdict.Calibration(
        intercept=round(float(model.intercept_[0]), 4),
        weights={name: round(float(w), 4) for name, w in zip(features, weights, strict=True)},
    )


def fit_both(rows: list[Row], keep_within: bool = False) -> verdict.Calibration:
    """The model within a script (FEATURES), fitted on all the rows given (or the recorded
    one, ``keep_within``), with the model across scripts (ACROSS_FEATURES), fitted on the
    rows whose question is in another script than its best passage (the only ones it
    judges): what ``qa.verdict.CALIBRATIONS`` records."""
    if keep_within:
        recorded = verdict.CALIBRATIONS[DEFAULT_ENCODER]
        within = verdict.Calibration(recorded.intercept, recorded.weights)
    else:
        within = fit(rows, FEATURES)
    across = fit([r for r in rows if r.features["cross_script"] >= 1.0], ACROSS_FEATURES)
    return verdict.Calibration(within.intercept, within.weights, across=across)


def table(rows: list[Row], calibration: verdict.Calibration) -> None:
    """The check, a line per group (split into the questions within and across scripts
    where it has both): judged found, and with the answer in the top 3."""
    print(
        "| questions | corpus | fitted | n | answer in top 3 | judged found "
        "| found, answer in top 3 | confidence: min / median / max |"
    )
    print("|---|---|---|---|---|---|---|---|")
    kinds = {(r.group, r.features["cross_script"] >= 1.0) for r in rows}
    for group, across in dict.fromkeys((r.group, r.features["cross_script"] >= 1.0) for r in rows):
        mine = [r for r in rows if (r.group, r.features["cross_script"] >= 1.0) == (group, across)]
        name = group
        if (group, not across) in kinds:
            name += ", across scripts" if across else ", within a script"
        confidence = [calibration.confidence(r.features) for r in mine]
        found = [c >= 0.5 for c in confidence]
        on = mine[0].on_topic
        top3 = [r.answer_rank is not None and r.answer_rank <= 3 for r in mine]
        both = sum(f and t for f, t in zip(found, top3, strict=True))
        print(
            f"| {name} | {mine[0].corpus} | {'yes' if mine[0].fitted else 'no'} | {len(mine)} "
            f"| {sum(top3) if on else '-'} | {sum(found)} ({sum(found) / len(mine):.1%}) "
            f"| {both if on else '-'} | {min(confidence):.2f} / "
            f"{statistics.median(confidence):.2f} / {max(confidence):.2f} |"
        )


def main() -> int:
    """Fit the calibration of the default encoder on the fitted groups and print the check."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--recorded",
        action="store_true",
        help="judge with the calibration recorded in qa.verdict instead of the one fitted now",
    )
    parser.add_argument(
        "--rows", type=Path, help="a file of asked rows: read if there, else written"
    )
    parser.add_argument("--show", action="store_true", help="print every question's features")
    parser.add_argument(
        "--keep-within",
        action="store_true",
        help="refit only the model across scripts; keep the recorded one within a script",
    )
    parser.add_argument(
        "--corpora", help="comma-separated: report, cmrc, drcd, english-docs (default: all)"
    )
    args = parser.parse_args()
    if args.rows is not None and args.rows.is_file():
        rows = [Row(**row) for row in json.loads(args.rows.read_text(encoding="utf-8"))]
    else:
        rows = collect(set(args.corpora.split(",")) if args.corpora else None)
        if args.rows is not None:
            data = json.dumps([asdict(r) for r in rows], ensure_ascii=False)
            args.rows.write_text(data, encoding="utf-8")
    fitted = [r for r in rows if r.fitted]
    if args.recorded:
        # The corpora asked may hold no answered fitted question (--corpora drcd): no fit.
        calibration = verdict.CALIBRATIONS[DEFAULT_ENCODER]
        print(f"encoder {DEFAULT_ENCODER}: the calibration recorded in qa.verdict")
    else:
        calibration = fit_both(fitted, args.keep_within)
        print(f"encoder {DEFAULT_ENCODER}: fitted on {len(fitted)} questions")
    print(f"    {DEFAULT_ENCODER!r}: Calibration(")
    print(f"        intercept={calibration.intercept},")
    print(f"        weights={dict(calibration.weights)},")
    if calibration.across is not None:
        print(f"        across=Calibration(intercept={calibration.across.intercept},")
        print(f"            weights={dict(calibration.across.weights)}),")
    print("    ),")
    print()
    table(rows, calibration)
    if args.show:
        for r in rows:
            values = " ".join(f"{k}={v:.3f}" for k, v in r.features.items())
            confidence = calibration.confidence(r.features)
            print(f"{r.group[:24]:24} rank={r.answer_rank} p={confidence:.2f} {values}", r.question)
    return 0


if __name__ == "__main__":
    sys.exit(main())
