"""What a question asks, read once before any search: the checks it must pass, the script
it is written in, the kind of answer it wants and the time it names.

This is the top of the query path (see :mod:`qa.answers`): a store turns the
:class:`Question` into candidates, :mod:`qa.ranking` orders them, :mod:`qa.answer_line`
picks each hit's answering sentence and :mod:`qa.verdict` judges the best ones.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from qa.errors import QueryError
from qa.periods import AskedTime, asked_time

MODES = ("hybrid", "dense", "keyword")
MAX_QUESTION_CHARS = 2000
# Lone surrogates (from a bad decode upstream) cannot be encoded as UTF-8 for the encoder.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]")
SCRIPTS = ("han", "latin", "other")

# What a question asks for, by its question words, Simplified and Traditional (誰, 哪裡,
# 什麼時候, 幾) and English. The first kind that matches wins.
_ASKS = {
    "person": re.compile(r"谁|誰|哪位|何人|什么人|什麼人|(?i:\bwho(?:m|se)?\b)"),
    "date": re.compile(
        r"什么时[候间]|什麼時[候間]|何时|何時|哪一?年|哪一?天|几月|幾月|几号|幾號|哪个月|哪個月"
        r"|(?i:\bwhen\b|\bwhat (?:year|date|day|month)\b|\bwhich (?:year|date|day|month)\b)"
    ),
    "place": re.compile(
        r"哪里|哪裡|哪裏|哪儿|哪兒|何处|何處|在哪|什么地方|什麼地方|(?i:\bwhere\b)"
    ),
    "number": re.compile(
        r"多少|[几幾][^乎]|多[大长長高远遠重久宽寬深]"
        r"|(?i:\bhow (?:many|much|long|far|old|tall|big|large)\b"
        r"|\bwhat (?:percentage|share|number|proportion)\b)"
    ),
}


@dataclass(frozen=True)
class Question:
    """A checked question and what it asks: ``text`` (stripped); ``script``, the script
    most of its letters are in (:func:`main_script`), and ``scripts``, every script it has
    letters in; ``asks``, the kind of answer wanted (``person``, ``date``, ``place``,
    ``number`` or None); ``time``, the time it names (resolved against each document's
    reference date by the ranking; None when it names none)."""

    text: str
    script: str
    scripts: frozenset[str]
    asks: str | None
    time: AskedTime | None


def read_question(question: object) -> Question:
    """Check a question (see :func:`check_question`) and read what it asks."""
    text = check_question(question)
    return Question(text, main_script(text), scripts_of(text), asked_type(text), asked_time(text))


def check_question(question: object) -> str:
    """Return the stripped question, or raise QueryError saying what is wrong with it.

    Lone surrogates are replaced by U+FFFD, as in documents (see qa.chunking).
    """
    if not isinstance(question, str):
        raise QueryError(
            f"the question must be text, not {type(question).__name__}", kind="not_text"
        )
    question = _SURROGATE.sub("\ufffd", question).strip()
    if not question:
        raise QueryError("the question is empty", kind="empty")
    if len(question) > MAX_QUESTION_CHARS:
        raise QueryError(
            f"the question is too long ({len(question)} characters; the limit is "
            f"{MAX_QUESTION_CHARS})",
            kind="too_long",
        )
    if not any(unicodedata.category(ch)[0] in "LN" for ch in question):
        raise QueryError(
            "the question has no words in it (only punctuation or symbols)", kind="no_words"
        )
    return question


def check_mode(mode: str) -> str:
    """Return mode if it is a known search mode, else raise QueryError."""
    if mode not in MODES:
        raise QueryError(
            f"unknown search mode {mode!r}; choose one of {', '.join(MODES)}", kind="mode"
        )
    return mode


def check_query(question: object, k: object, mode: str) -> Question:
    """Check a search's question, k and mode; return the question read.

    Raises QueryError for a bad question or mode, ValueError for a k that is not a
    positive integer.
    """
    read = read_question(question)
    check_mode(mode)
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be a positive integer, not {k!r}")
    return read


def asked_type(question: str) -> str | None:
    """What the question asks for: "person", "date", "place", "number", or None."""
    for kind, pattern in _ASKS.items():
        if pattern.search(question):
            return kind
    return None


def main_script(text: str) -> str:
    """The script most of the text's letters are in: ``han`` (Chinese, Japanese, Korean),
    ``latin`` or ``other``."""
    counts = _script_counts(text)
    return max(counts, key=lambda name: counts[name])


def scripts_of(text: str) -> frozenset[str]:
    """Every script the text has letters in (``han``, ``latin``, ``other``)."""
    return frozenset(name for name, count in _script_counts(text).items() if count)


def _script_counts(text: str) -> dict[str, int]:
    counts = {"han": 0, "latin": 0, "other": 0}
    for char in text:
        if _CJK.match(char):
            counts["han"] += 1
        elif char.isalpha():
            latin = char.isascii() or "LATIN" in unicodedata.name(char, "")
            counts["latin" if latin else "other"] += 1
    return counts
