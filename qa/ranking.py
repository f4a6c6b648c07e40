"""The ranking of a question's candidates: fused scores, priors, and the best k.

One ranking for both stores: a store hands over :class:`qa.candidates.Candidates`, this
module orders them. Hybrid mode fuses the keyword and dense scores (a convex combination of
per-question min-max scaled scores; across scripts, where BM25 matches nothing, the words in
translation take its place), gives a share of the score to the numbers the question
names and to the period it asks about, and damps passages that only announce what follows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import numpy as np

from qa.candidates import SCRIPT_CODES, STANCE_CODES, UNKNOWN, Candidates
from qa.chunking import Passage
from qa.dictionary import translated_shares
from qa.question import Question

# Weight of the keyword ranking in the hybrid score (the dense ranking gets the rest);
# chosen on the development questions and checked on CMRC 2018 (see docs/quality.md).
KEYWORD_WEIGHT = 0.3
# Share of the hybrid score that goes to exact matches of the numbers a question names
# (years, amounts, percentages), when it names any. The dense encoder hardly tells "2020"
# from "2021", and within BM25 a number is one token among many, so "2020年地区生产总值"
# found the 2021 targets first. Any value from 0.15 to 0.3 gave the same rankings on the
# 62 development questions and the 3,219 of CMRC 2018.
NUMBER_WEIGHT = 0.2
# Share of the hybrid score that goes to how well a passage's period fits the period the
# question asks about (qa.periods), when the question names a time and a candidate's
# document has a reference date.
TIME_WEIGHT = 0.2
# Passages fetched beyond k in hybrid mode so that the informativeness prior can reorder
# them (a damped lead-in makes room for the next passage).
PRIOR_DEPTH = 10
# Fused score multiplier of a passage that only announces what follows: one sentence
# ending in a colon ("各位代表：") or announcing 以下/如下/下列/"the following". Mild: a
# question about the line itself still finds it. Short front matter (a title, a date line,
# a speaker) is not damped: a further x0.9 for one-sentence passages under 30 characters
# changed no figure of the development questions and pushed the speaker line from 4th to
# 12th for "报告人是谁？". The front matter is one passage (qa.chunking) and gets no prior:
# it ranked above the answer of no development or held-out question, and x0.8 pushed it
# from 2nd to 5th / 6th for "这份报告是哪天作的？" and "Who delivered the report?"
# (benchmarks/front_matter.py).
LEAD_IN_PRIOR = 0.75
_ANNOUNCES = re.compile(r"以下|如下|下列|(?i:\bthe following\b|\bas follows\b)")
_ENDS_WITH_COLON = re.compile(r"[:：]\s*$")

PassagesOf = Callable[[list[int]], Mapping[int, Passage]]


def min_max(scores: np.ndarray) -> np.ndarray:
    """Scale scores to [0, 1] (all zeros when they are all equal)."""
    if scores.size == 0:
        return scores
    low, high = float(scores.min()), float(scores.max())
    if high - low < 1e-12:
        return np.zeros_like(scores)
    return (scores - low) / (high - low)


def fuse(
    keyword: np.ndarray,
    dense: np.ndarray,
    keyword_weight: float | np.ndarray = KEYWORD_WEIGHT,
    numbers: np.ndarray | None = None,
    number_weight: float = NUMBER_WEIGHT,
    translated: np.ndarray | None = None,
) -> np.ndarray:
    """Convex combination of per-query min-max normalised keyword and dense scores.

    ``keyword_weight`` is one weight, or one per passage (see :func:`keyword_weights`).
    ``translated``, where not NaN, is the share of the question's words a passage holds as
    written or in translation, set when some of the best passages are in another script
    than the question (:func:`translated_evidence`): it takes the keyword score's place
    (with the keyword weight: :func:`scores` gives it).
    ``numbers``, when the question names numbers, is the share of them each passage
    contains (0 to 1); it then takes ``number_weight`` of the score, the other two the rest.
    """
    lexical = min_max(keyword)
    if translated is not None:
        # Across scripts the words in translation stand where BM25 has nothing to match.
        lexical = np.where(np.isnan(translated), lexical, np.nan_to_num(translated))
    fused = keyword_weight * lexical + (1.0 - keyword_weight) * min_max(dense)
    if numbers is None:
        return fused
    return (1.0 - number_weight) * fused + number_weight * numbers


def keyword_weights(
    question: Question, candidates: Candidates, keyword_weight: float = KEYWORD_WEIGHT
) -> float | np.ndarray:
    """The keyword ranking's weight for each candidate: ``keyword_weight`` where the
    passage is written in a script the question has letters in, 0 where it is not (an
    English question over a Chinese passage, or the other way round): BM25 cannot match
    across scripts, and its zero would pull the passage down against the few that share a
    number or a stray Latin word with the question; such a passage is ranked by its
    vectors. One weight for all when the store gives no scripts or the question has no
    letters."""
    traits = candidates.traits
    if traits is None or not question.scripts:
        return keyword_weight
    shared = np.isin(traits.script, [SCRIPT_CODES[s] for s in question.scripts])
    if shared.all():
        return keyword_weight
    return np.where(shared, keyword_weight, 0.0)


def time_fit(question: Question, candidates: Candidates) -> np.ndarray | None:
    """How well each candidate's period fits the question's, 0 to 1 (NaN: not known), or
    None when nothing can be told (the question names no time, or no candidate's document
    has a reference date and a known period).

    The question's time is read against each candidate's document's reference date (去年
    is 2020 in a document of 2021). The fit is the share of years the asked period and the
    passage's have in common (2020 against 2020: 1; against 2016-2020: 0.2; against 2021:
    0), and 0 when the question's stance (目标 / 完成了) and the passage's are both known and
    differ; a question with a stance and no period that can be read (a relative time in a
    document without a date, or a stance alone) is told by the stances alone.
    """
    asked = question.time
    traits = candidates.traits
    if asked is None or traits is None or not traits.references:
        return None
    fit = np.full(len(candidates), np.nan)
    wanted = STANCE_CODES[asked.stance] if asked.stance else 0
    for at, reference in enumerate(traits.references):
        rows = traits.reference == at
        period = asked.period(reference)
        known = rows & (traits.first_year != UNKNOWN)
        if period is not None:
            first, last = traits.first_year[known], traits.last_year[known]
            common = np.minimum(last, period.last) - np.maximum(first, period.first) + 1
            span = np.maximum(last, period.last) - np.minimum(first, period.first) + 1
            fit[known] = np.where(common > 0, common / span, 0.0)
        elif wanted:
            with_stance = rows & (traits.stance != 0)
            fit[with_stance] = 1.0
        if wanted:
            conflict = rows & (traits.stance != 0) & (traits.stance != wanted)
            fit[conflict] = 0.0
    if np.isnan(fit).all():
        return None
    return fit


def translated_evidence(
    question: Question,
    candidates: Candidates,
    positions: list[int],
    passages: Mapping[int, Passage],
    keyword_weight: float = KEYWORD_WEIGHT,
) -> np.ndarray | None:
    """The keyword evidence when some of ``positions`` hold passages in a script the
    question has no letters in (keyword weight 0, :func:`keyword_weights`): for each of
    them, the share of the question's words the passage holds as written or in translation
    (:func:`qa.dictionary.translated_shares`: "jobs" as 就业, "Zou You" as 邹由, 城镇 as
    "towns"); NaN for the other candidates. All of ``positions`` get it, those in the
    question's script too: one scale for both (BM25 scaled over the candidates would give
    the best of the few passages in the question's script full marks). None when every
    passage is in a script of the question's, so such a question ranks exactly as before."""
    weights = keyword_weights(question, candidates, keyword_weight)
    if not isinstance(weights, np.ndarray):
        return None
    present = [n for n in positions if int(candidates.keys[n]) in passages]
    if not any(weights[n] == 0.0 for n in present):
        return None
    texts = []
    for n in present:
        passage = passages[int(candidates.keys[n])]
        texts.append(f"{passage.section_path}\n{passage.text}")
    evidence = np.full(len(candidates), np.nan)
    evidence[present] = translated_shares(question.text, texts)
    return evidence


def scores(
    question: Question,
    candidates: Candidates,
    mode: str,
    keyword_weight: float = KEYWORD_WEIGHT,
    translated: np.ndarray | None = None,
) -> np.ndarray:
    """Each candidate's score in the mode: dense, keyword (BM25) or fused (hybrid: with the
    number and time shares, before the lead-in prior; ``translated``: see :func:`fuse`)."""
    dense = candidates.dense()
    if mode == "dense":
        assert dense is not None, "dense mode needs the vector scores"
        return dense
    keyword = candidates.keyword
    assert keyword is not None, f"{mode} mode needs the keyword scores"
    if mode == "keyword":
        return keyword
    assert dense is not None, "hybrid mode needs the vector scores"
    numbers = candidates.numbers
    weights = keyword_weights(question, candidates, keyword_weight)
    count = len(candidates)
    if candidates.unlisted:
        floor = float(candidates.fetched.min()) if len(candidates.fetched) else 0.0
        keyword = np.append(keyword, 0.0)
        dense = np.append(dense, floor)
        if numbers is not None:
            numbers = np.append(numbers, 0.0)
        if isinstance(weights, np.ndarray):
            weights = np.append(weights, keyword_weight)
        if translated is not None:
            translated = np.append(translated, np.nan)
    if translated is not None:
        weights = np.where(np.isnan(translated), weights, keyword_weight)
    fused = fuse(keyword, dense, weights, numbers, translated=translated)[:count]
    fit = time_fit(question, candidates)
    if fit is None:
        return fused
    return (1.0 - TIME_WEIGHT) * fused + TIME_WEIGHT * np.nan_to_num(fit, nan=0.0)


def informativeness(passage: Passage) -> float:
    """Prior weight of a passage in hybrid ranking: 1 for content, less for a lead-in.

    A one-sentence passage that ends with a colon or announces what follows (以下, 如下,
    下列, "the following") is a lead-in: it stays findable, the prior only damps it.
    """
    text = passage.text.strip()
    if len(passage.sentences) <= 1 and (_ENDS_WITH_COLON.search(text) or _ANNOUNCES.search(text)):
        return LEAD_IN_PRIOR
    return 1.0


def best_candidates(
    question: Question,
    candidates: Candidates,
    k: int,
    mode: str,
    passages_of: PassagesOf,
    keyword_weight: float = KEYWORD_WEIGHT,
) -> list[tuple[int, float, Passage]]:
    """The k best candidates, best first: (candidate position, final score, passage).

    ``passages_of`` returns the passages of the given keys (a key missing from its answer,
    deleted since the search, is left out). In hybrid mode the best ``k + PRIOR_DEPTH`` are
    ranked again with the words in translation of those in another script than the
    question (:func:`translated_evidence`), and their scores multiplied by
    :func:`informativeness` before the cut.
    """
    if not len(candidates):
        return []
    values = scores(question, candidates, mode, keyword_weight)
    order = leading(values, mode, k)
    passages = passages_of([int(candidates.keys[n]) for n in order])
    present = [int(n) for n in order if int(candidates.keys[n]) in passages]
    if mode == "hybrid":
        evidence = translated_evidence(question, candidates, present, passages, keyword_weight)
        if evidence is not None:
            values = scores(question, candidates, mode, keyword_weight, evidence)
    final = {n: float(values[n]) for n in present}
    if mode == "hybrid":
        for n in present:
            final[n] *= informativeness(passages[int(candidates.keys[n])])
        present.sort(key=lambda n: -final[n])  # stable: ties keep the fused order
    return [(n, final[n], passages[int(candidates.keys[n])]) for n in present[:k]]


def leading(values: np.ndarray, mode: str, k: int) -> np.ndarray:
    """Positions of the candidates whose passages a ranking of k in the mode reads."""
    depth = k + PRIOR_DEPTH if mode == "hybrid" else k
    return np.argsort(-values, kind="stable")[:depth]


def has_both_scores(candidates: Candidates) -> bool:
    """True when the candidates carry keyword and vector scores (hybrid can be ranked)."""
    has_keyword, has_vectors = candidates.keyword is not None, candidates.paragraph is not None
    return bool(len(candidates)) and has_keyword and has_vectors
