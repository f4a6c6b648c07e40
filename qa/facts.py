"""What kinds of fact each sentence of a passage holds: a number, a date, a person's,
a place's or an organisation's name.

The answer line prefers the sentence that holds what a question asks for (a number for
多少, a name for 谁). Names are found by jieba's part-of-speech tagger, which is slow (about
a quarter of a second over the sentences of five hits), so the facts are computed once per
passage when it is indexed and stored with it (:attr:`qa.chunking.Passage.facts`); the
query path only reads them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

KINDS = ("number", "date", "person", "place", "organisation")

_NUMBER_TEXT = re.compile(
    r"[0-9０-９]|[一二两三四五六七八九十百千万亿]+[个项家名人次座条所万亿元岁年倍%％]"
)
_DATE_TEXT = re.compile(
    r"[0-9０-９]{1,4}\s*[年月日]|[一二三四五六七八九十〇零]+[年月日]|世纪|世紀|年代"
    r"|(?i:\b(?:1[0-9]{3}|20[0-9]{2})\b|\b(?:january|february|march|april|may|june|july"
    r"|august|september|october|november|december)\b)"
)
# jieba's tags of proper names, by kind.
_NAME_TAGS = {
    "nr": "person",
    "nrfg": "person",
    "nrt": "person",
    "ns": "place",
    "nt": "organisation",
}


def sentence_facts(text: str) -> tuple[str, ...]:
    """The kinds of fact a sentence holds, in the order of KINDS (runs jieba's tagger)."""
    found = set(pattern_facts(text))
    found.update(_name_kinds(text))
    return tuple(kind for kind in KINDS if kind in found)


def pattern_facts(text: str) -> tuple[str, ...]:
    """The kinds of fact that patterns alone find in a text: ``number`` and ``date``."""
    kinds = []
    if _NUMBER_TEXT.search(text):
        kinds.append("number")
    if _DATE_TEXT.search(text):
        kinds.append("date")
    return tuple(kinds)


def passage_facts(text: str, sentences: Sequence[tuple[int, int]]) -> tuple[tuple[str, ...], ...]:
    """The facts of each sentence of a passage (its sentences as offsets into ``text``)."""
    spans = sentences or ((0, len(text)),)
    return tuple(sentence_facts(text[start:end]) for start, end in spans)


def _name_kinds(text: str) -> set[str]:
    """The kinds of proper names jieba's part-of-speech tagger finds in text."""
    import jieba.posseg

    from qa.lexical import jieba_lock, quiet_jieba

    if not re.search(r"[\u3400-\u9fff]", text):
        return set()  # the tagger knows Chinese names only
    quiet_jieba()
    with jieba_lock:
        pairs = jieba.posseg.lcut(text)
    return {_NAME_TAGS[pair.flag] for pair in pairs if pair.flag in _NAME_TAGS}
