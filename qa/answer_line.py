"""The answer line: the sentence of a passage that answers the question.

A sentence scores by the share of the question's words it holds (in translation when the
question is in another script), the dense score of the
sentence windows that hold it and whether it holds the kind of fact the question asks for
(read from the passage's stored facts: :mod:`qa.facts`); a short topic line is damped.
The sentence is then trimmed of what is not part of its statement: the whitespace around
it, a list number it starts with (``（5）``, ``3.``, ``(20)``) and a clause mark it ends with.
"""

from __future__ import annotations

import re

import numpy as np

from qa.chunking import Passage
from qa.dictionary import translated_shares, translates
from qa.facts import pattern_facts
from qa.lexical import tokenize
from qa.question import Question, main_script
from qa.ranking import min_max

# A sentence shorter than this many characters (a topic line: "一是脱贫攻坚取得全面胜利。",
# "——这是生态明珠成色更美的五年。") has its answering score multiplied by the prior: it
# opens a passage and shares the passage's best window with the sentence that holds the
# facts, so it won ties it should lose. Measured with benchmarks/lead_in_prior.py's
# questions: the answer text in the answer line for 57 -> 59 of 62 development questions
# whose passage was found, 8 -> 14 of 20 English held-out ones, Chinese held-out 9 of 9.
SHORT_SENTENCE_CHARS = 20
SHORT_SENTENCE_PRIOR = 0.7
# ... but not a short sentence with a figure in digits when the question shares words with
# the passage: "固定资产投资增长70.5%。" is a fact, not a topic line. benchmarks/answer_line.py
# --spares-figures 0,1: CMRC 2018 dev answer lines 2,307 -> 2,330 of 3,216 (6 lost, 29
# gained), 1 development question gained, nothing lost on the report's sets. Sparing them
# also for English questions (no shared words) lost "What was Leping's GDP in 2020?" to a
# short sentence with another figure.
SHORT_FIGURES_SPARED = True
_DIGIT = re.compile(r"[0-9０-９]")
# Added to the answering score of a sentence that holds what the question asks for: a
# number for "多少 / how many", a date for "哪一年 / when", a person's or a place's name
# (jieba's tagger) for "谁 / who" and "哪里 / where". benchmarks/answer_line.py, all 3,219
# CMRC 2018 dev questions: the answer in the answer line for 2,276 of the 3,216 whose
# passage is in the top 10 without it; 2,295 with 0.2 (5 lost, 24 gained), 2,298 with 0.4
# (18 lost, 40 gained), 2,283 with 1.0. No change on the report's development questions.
ANSWER_TYPE_BONUS = 0.2
# A sentence's dense score, where it shares words with the question: this share of the best
# window that holds it, plus the rest of the mean of those windows. The mean alone gave a
# passage's first and last sentences (held by one window each) the passage's extreme
# scores: the edge sentence of the best window won over the inner one that answers. The best
# window alone ties the two sentences of a window, leaving the words to decide. Measured with
# benchmarks/answer_line.py (CMRC 2018 dev, 3,216 questions whose passage is in the top
# 10): the answer in the answer line for 2,295 with 0 (the mean), 2,307 with 0.5 (31 lost,
# 43 gained), 2,309 with 1 (88 lost, 102 gained, and 1 of the 22 dev paraphrases lost); the
# report's question sets unchanged with 0.5.
BEST_WINDOW_SHARE = 0.5
# A list number opening a sentence: （5）, (20), 3., 3、, ①; and a clause mark closing one.
_LIST_NUMBER = re.compile(
    r"\s*(?:[（(]\s*[0-9一二三四五六七八九十]{1,3}\s*[）)]|[0-9]{1,3}\s*[.．、](?![0-9])"
    r"|[①-⑳])\s*"
)
_CLAUSE_END = re.compile(r"[；;，,、：:]\s*$")


def token_weight(tokens: set[str]) -> float:
    """The weight of a set of tokens when shares of a question are counted: a pair of
    characters or a word counts 1, a single character 1/4 (pairs carry meaning)."""
    return sum(1.0 if len(token) > 1 else 0.25 for token in tokens)


def holds(passage: Passage, sentence: int, kind: str) -> bool:
    """True when sentence number ``sentence`` of the passage holds a fact of the kind
    (``number``, ``date``, ``person``, ``place``, ``organisation``): from the facts stored
    with the passage, or, for a passage stored without them, from patterns alone (numbers
    and dates; no names: the query path runs no tagger)."""
    if len(passage.facts) > sentence:
        return kind in passage.facts[sentence]
    spans = passage.sentences or ((0, len(passage.text)),)
    start, end = spans[sentence]
    return kind in pattern_facts(passage.text[start:end])


def answering_sentence(
    passage: Passage, question: Question, window_scores: dict[tuple[int, int], float]
) -> tuple[int, int]:
    """Pick the sentence of a passage that best answers the question; return its offsets.

    A sentence scores by the share of the question's tokens it contains plus the dense
    score of the sentence windows that hold it (BEST_WINDOW_SHARE of the best one, the rest
    of their mean; min-max scaled within the passage),
    plus ANSWER_TYPE_BONUS when it holds what the question asks for (``question.asks``),
    times SHORT_SENTENCE_PRIOR when it is shorter than SHORT_SENTENCE_CHARS (unless it holds
    a figure and words are shared: SHORT_FIGURES_SPARED). When no
    sentence shares a token with the question, a window missing for a sentence (at the
    passage's edges, or not fetched) counts as the passage's weakest one.
    """
    spans = passage.sentences or ((0, len(passage.text)),)
    if len(spans) == 1:
        return spans[0]
    overlap = np.zeros(len(spans))
    if translates(question.script, main_script(passage.text)):
        # Across scripts the shared words are those held in translation (就业 for "jobs",
        # 邹由 for "Zou You"): qa.dictionary, as the ranking reads them.
        sentences = [passage.text[start:end] for start, end in spans]
        overlap[:] = translated_shares(question.text, sentences)
    else:
        query_tokens = set(tokenize(question.text, "bigram"))
        total = token_weight(query_tokens)
        for i, (start, end) in enumerate(spans):
            sentence_tokens = set(tokenize(passage.text[start:end], "bigram"))
            if query_tokens:
                overlap[i] = token_weight(query_tokens & sentence_tokens) / total
    dense = np.zeros(len(spans))
    if window_scores:
        sums = np.zeros(len(spans))
        counts = np.zeros(len(spans))
        top = np.full(len(spans), -np.inf)
        for (first, last), score in window_scores.items():
            sums[first:last] += score
            counts[first:last] += 1
            top[first:last] = np.maximum(top[first:last], score)
        if overlap.any():
            top = np.where(counts > 0, top, 0.0)
            mean = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
            pooled = BEST_WINDOW_SHARE * top + (1 - BEST_WINDOW_SHARE) * mean
            dense = min_max(pooled)
        else:
            # No shared words (an English question about a Chinese text): the windows
            # decide alone, and every sentence is judged by as many of them: a sentence
            # fewer windows hold (at an edge of the passage, or whose windows were not
            # fetched) gets the weakest score for each one missing. Else the first
            # sentence, judged by the best window alone when it shares it with the one that
            # answers (which is also judged by its weaker other window), won. Doing the
            # same when words are shared lost 3 and gained 1 answer lines of the 62 dev
            # questions (benchmarks/answer_line.py).
            sums += (counts.max() - counts) * min(window_scores.values())
            dense = min_max(sums)
    lengths = np.array([len(passage.text[start:end].strip()) for start, end in spans])
    short = lengths < SHORT_SENTENCE_CHARS
    if SHORT_FIGURES_SPARED and overlap.any():
        short &= ~np.array([bool(_DIGIT.search(passage.text[s:e])) for s, e in spans])
    prior = np.where(short, SHORT_SENTENCE_PRIOR, 1.0)
    kind = question.asks if ANSWER_TYPE_BONUS else None
    typed = np.zeros(len(spans))
    if kind is not None:
        typed = np.array([holds(passage, i, kind) for i in range(len(spans))], dtype=float)
    best = int(np.argmax((overlap + dense + ANSWER_TYPE_BONUS * typed) * prior))
    return spans[best]


def trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    """The offsets of ``text[start:end]`` without what is not part of its statement: the
    whitespace around it (the line break after a line of front matter, the space after an
    English sentence), a list number it starts with (（5）完成第三小学… → 完成第三小学…) and a
    clause mark it ends with (…；). A sentence that is nothing but those is kept whole."""
    sentence = text[start:end]
    if not sentence.strip():
        return start, end
    start += len(sentence) - len(sentence.lstrip())
    end -= len(sentence) - len(sentence.rstrip())
    number = _LIST_NUMBER.match(text, start, end)
    if number and number.end() < end:
        start = number.end()
    mark = _CLAUSE_END.search(text, start, end)
    if mark and mark.start() > start:
        end = mark.start()
    return start, end
