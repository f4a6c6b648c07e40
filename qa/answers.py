"""What a search gives back, and the query path from top to bottom.

A question flows down one way (:func:`answer`): what it asks (:mod:`qa.question`: checks,
script, answer type, time) → the store's candidates (:mod:`qa.candidates`) → their ranking
(:mod:`qa.ranking`) → each hit's answer line (:mod:`qa.answer_line`) → the verdict
(:mod:`qa.verdict`) → an :class:`Answer` of :class:`Hit` s, with how the question's time was
read (:class:`TimeReading`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from qa.answer_line import answering_sentence, trimmed
from qa.candidates import Candidates
from qa.chunking import Passage
from qa.periods import Period
from qa.question import Question
from qa.ranking import (
    KEYWORD_WEIGHT,
    PassagesOf,
    best_candidates,
    has_both_scores,
    leading,
    scores,
    time_fit,
)
from qa.verdict import VERDICT_DEPTH, Baseline, judge


@dataclass(frozen=True)
class Hit:
    """One ranked passage, with where it came from and the sentence that answers.

    ``sentence_start``/``sentence_end`` are character offsets of ``sentence`` in ``text``;
    ``page``/``last_page`` the passage's first and last page in its document (None for a
    document without pages).
    """

    rank: int
    score: float
    text: str
    source: str
    section: str
    paragraph: int
    sentence: str
    sentence_start: int
    sentence_end: int
    page: int | None = None
    last_page: int | None = None

    @property
    def page_label(self) -> str:
        """Where the passage is in its document's pages: "p. 5", "p. 5–6", or ""."""
        return page_label(self.page, self.last_page)

    def to_dict(self) -> dict[str, Any]:
        """The hit as a JSON-serialisable dict."""
        return asdict(self)


def page_label(page: int | None, last_page: int | None = None) -> str:
    """ "p. 5" for a passage on page 5, "p. 5–6" across two pages, "" without pages."""
    if page is None:
        return ""
    if last_page is None or last_page == page:
        return f"p. {page}"
    return f"p. {page}\u2013{last_page}"


@dataclass(frozen=True)
class TimeReading:
    """How the time a question names was read for the document of its answer.

    ``asked``: the time expressions as written (``去年``); ``period``: the years they mean
    against that document's reference date (``2020``; None when they are relative and the
    document has no date); ``reference``: the document's reference date (``2021-04-13``) or
    None; ``passage_period``: the years the answer's passage speaks of, when known;
    ``fits``: whether that passage's period and stance fit the question (None: not known);
    ``stance``: ``results`` or ``targets`` when the question asks for one.
    """

    asked: str
    period: str | None
    reference: str | None
    passage_period: str | None
    fits: bool | None
    stance: str | None = None

    def describe(self, language: str = "zh") -> str:
        """One line for a reader: ``去年 → 2020年`` (``去年 → 2020`` in English), that the
        document has no date to read it against, or the stance a question without a time
        asks for (问的是计划目标 / "asks for targets")."""
        if not self.asked:
            wanted = {"targets": ("计划目标", "targets"), "results": ("已取得的结果", "results")}
            words = wanted.get(self.stance or "", ("", ""))
            return f"问的是{words[0]}" if language == "zh" else f"asks for {words[1]}"
        if self.period is None:
            if language == "zh":
                return f"{self.asked} → 无法确定（文档没有日期）"
            return f"{self.asked} → cannot be told (the document has no date)"
        years = self.period + ("年" if language == "zh" else "")
        if self.asked.replace(" ", "") in (years, self.period, f"{self.period}年"):
            return years  # 2020年 reads as itself
        return f"{self.asked} → {years}"

    def to_dict(self) -> dict[str, Any]:
        """The reading as a JSON-serialisable dict."""
        return asdict(self)


@dataclass(frozen=True)
class Answer:
    """The answer to a question: the verdict, the answer line's hit, and all the hits.

    ``found`` is None when there is no calibration for the index's encoder (or the
    ranking gave no dense scores to judge by): no judgement, never a guess; ``confidence``
    is then None too. ``answer`` is the best hit (its ``sentence`` is the answer line),
    None when there are no hits. ``time`` is how the question's time was read for the
    answer's document (None when the question names no time).
    """

    question: str
    found: bool | None
    confidence: float | None
    answer: Hit | None
    hits: list[Hit]
    time: TimeReading | None = None

    def to_dict(self) -> dict[str, Any]:
        """The answer as a JSON-serialisable dict."""
        return {
            "question": self.question,
            "found": self.found,
            "confidence": self.confidence,
            "answer": None if self.answer is None else self.answer.to_dict(),
            "hits": [hit.to_dict() for hit in self.hits],
            "time": None if self.time is None else self.time.to_dict(),
        }


@dataclass(frozen=True)
class Ranked:
    """The best candidates of a ranking: hits, each hit's passage and candidate position."""

    hits: list[Hit]
    passages: list[Passage]
    positions: list[int]


def make_hit(rank: int, score: float, passage: Passage, start: int, end: int) -> Hit:
    """The hit of a ranked passage whose answering sentence is ``text[start:end]``, trimmed
    of the whitespace, list number and clause mark around it (see
    :func:`qa.answer_line.trimmed`)."""
    start, end = trimmed(passage.text, start, end)
    return Hit(
        rank=rank,
        score=round(float(score), 6),
        text=passage.text,
        source=passage.source,
        section=passage.section_path,
        paragraph=passage.paragraph,
        sentence=passage.text[start:end],
        sentence_start=start,
        sentence_end=end,
        page=passage.page,
        last_page=passage.last_page,
    )


def rank(
    question: Question,
    candidates: Candidates,
    k: int,
    mode: str,
    passages_of: PassagesOf,
    keyword_weight: float = KEYWORD_WEIGHT,
) -> Ranked:
    """The k best candidates (:func:`qa.ranking.best_candidates`) as hits with their
    answering sentences, best first."""
    hits: list[Hit] = []
    kept: list[Passage] = []
    positions: list[int] = []
    ordered = best_candidates(question, candidates, k, mode, passages_of, keyword_weight)
    for n, score, passage in ordered:
        # Keyword mode reads no vectors, even when ask fetched them for its verdict.
        windows = candidates.windows_of(n) if mode != "keyword" else {}
        start, end = answering_sentence(passage, question, windows)
        hits.append(make_hit(len(hits) + 1, score, passage, start, end))
        kept.append(passage)
        positions.append(n)
    return Ranked(hits, kept, positions)


def answer(
    question: Question,
    candidates: Candidates,
    k: int,
    mode: str,
    passages_of: PassagesOf,
    vectors_of: Callable[[list[int]], np.ndarray],
    encoder: str,
    baseline: Callable[[], Baseline],
) -> Answer:
    """The Answer to a question from its candidates: the k best in the mode as hits (the
    best is the answer line), how its time was read, and the verdict (``vectors_of(keys)``
    gives the vectors of the passages it judges).

    The verdict reads the VERDICT_DEPTH best of the hybrid ranking, the one its calibration
    was fitted on, whatever k and mode were asked: ``ask(q, k=1)`` and ``ask(q,
    mode="keyword")`` judge as ``ask(q)`` does. Both rankings come from the same
    candidates, and their passages are fetched with one call of ``passages_of``.
    """
    verdict_too = (mode != "hybrid" or k < VERDICT_DEPTH) and has_both_scores(candidates)
    passages_of = _fetching_once(question, candidates, verdict_too, passages_of)
    ranked = rank(question, candidates, k, mode, passages_of)
    if not ranked.hits:
        return Answer(question.text, False, 0.0, None, [])
    judged = list(zip(ranked.positions, ranked.passages, strict=True))
    if verdict_too:
        ordered = best_candidates(question, candidates, VERDICT_DEPTH, "hybrid", passages_of)
        judged = [(n, p) for n, _, p in ordered]
    reading, fit = time_reading(question, candidates, ranked.positions[0], ranked.passages[0])
    found, confidence = judge(
        question, candidates, judged[:VERDICT_DEPTH], encoder, baseline, vectors_of, fit
    )
    return Answer(question.text, found, confidence, ranked.hits[0], list(ranked.hits), reading)


def time_reading(
    question: Question, candidates: Candidates, position: int, passage: Passage
) -> tuple[TimeReading | None, float | None]:
    """How the question's time reads for the candidate at ``position`` (its document's
    reference date, its passage's period), and how well the two fit (None: not known; a
    passage whose own words name the years asked is not known to speak of another period,
    whatever its section's period)."""
    named = Period(*passage.named) if passage.named is not None else None
    asked = question.time
    if asked is None:
        return None, None
    reference = candidates.reference_of(position)
    period = asked.period(reference)
    spoken = candidates.period_of(position)
    fits = time_fit(question, candidates)
    fit = None if fits is None or np.isnan(fits[position]) else float(fits[position])
    if fit == 0.0 and period is not None and named is not None and period.share(named) > 0:
        fit = None  # it names the years asked: not known to speak of another period
    reading = TimeReading(
        asked=asked.text(),
        period=None if period is None else period.label("en"),
        reference=None if reference is None else reference.iso(),
        passage_period=None if spoken is None else Period(*spoken).label("en"),
        fits=None if fit is None else fit > 0.0,
        stance=asked.stance,
    )
    return reading, fit


def unjudged_answer(question: Question, hits: list[Hit]) -> Answer:
    """An Answer with no verdict (``found`` None): for hits whose scores no calibration
    knows (Milvus's own fusion)."""
    if not hits:
        return Answer(question.text, False, 0.0, None, [])
    return Answer(question.text, None, None, hits[0], list(hits))


def _fetching_once(
    question: Question,
    candidates: Candidates,
    verdict_too: bool,
    passages_of: PassagesOf,
) -> Callable[[list[int]], Mapping[int, Passage]]:
    """``passages_of`` for one answer: the first call also fetches the passages the
    verdict's hybrid ranking reads (a store like Milvus pays a round trip per call); later
    calls fetch only keys not asked for yet."""
    wanted: list[int] = []
    if verdict_too:
        order = leading(scores(question, candidates, "hybrid"), "hybrid", VERDICT_DEPTH)
        wanted = [int(candidates.keys[n]) for n in order]
    known: dict[int, Passage] = {}
    asked: set[int] = set()

    def fetch(keys: list[int]) -> Mapping[int, Passage]:
        missing = [key for key in dict.fromkeys([*keys, *wanted]) if key not in asked]
        if missing:
            known.update(passages_of(missing))
            asked.update(missing)
        return {key: known[key] for key in keys if key in known}

    return fetch
