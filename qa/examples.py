"""Example questions an index can answer, made from its documents' section headings.

A page or a notebook that opens an index wants a few questions to offer a new reader, and
they must belong to that index: a question about the bundled report is no example for an
employee handbook. :func:`example_questions` turns the section headings of the index's
documents into short questions ("休假制度是怎样的？", "What about annual leave?"), asks each
of the index, and keeps those judged found whose answer lies under that heading. An index
without headings, or whose headings answer nothing, has no examples: none is better than
one that gets "not found".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from qa.chunking import Passage

# Questions made and asked at most (each costs one search), and kept at most.
MAX_TRIED = 12
DEFAULT_LIMIT = 4
# A heading, without its numbering, of this many characters at least and at most; longer
# ones are sentences ("（三）坚决打好“三大战役”，决战决胜促攻坚"), not topics.
MIN_HEADING_CHARS = 2
MAX_HEADING_CHARS = 16
# Question words the verdict leaves out of its coverage (qa.ranking's function words), so
# that a question holds the heading's words and little else.
CHINESE_TEMPLATE = "{heading}是怎样的？"
ENGLISH_TEMPLATE = "What about {heading}?"

_CN_NUM = "一二三四五六七八九十百零〇两"
_NUMBERING = re.compile(
    rf"^(?:第[{_CN_NUM}\d]+[编部篇章节条款]\s*"
    rf"|[{_CN_NUM}]+[、.．]\s*"
    rf"|[（(][{_CN_NUM}\d]+[）)]\s*"
    r"|\d+(?:[.．]\d+)*[、.．)）]?\s+"
    r"|\d+[、.．)）]\s*"
    r"|[A-Za-z][.)]\s+)"
)
_BRACKETED = re.compile(r"^【(.+)】$")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_TRAILING = re.compile(r"[\s:：;；,，.。!！?？、]+$")
# A heading with a comma or a colon inside is a slogan or a sentence, not a topic.
_INNER_PUNCTUATION = re.compile(r"[:：;；,，、]")
_ABOUT = re.compile(r"^(?:关于|有关)")


def topic_of_heading(heading: str) -> str | None:
    """A heading as a topic to ask about: numbering ("第二章", "一、", "（三）", "2.1"),
    brackets and a leading 关于 dropped; None when what is left is too short, too long, a
    phrase with commas, or has no letters."""
    text = heading.strip()
    bracketed = _BRACKETED.match(text)
    if bracketed:
        text = bracketed.group(1).strip()
    text = _TRAILING.sub("", _NUMBERING.sub("", text, count=1)).strip()
    text = _ABOUT.sub("", text).strip()
    if not MIN_HEADING_CHARS <= len(text) <= MAX_HEADING_CHARS:
        return None
    if _INNER_PUNCTUATION.search(text):
        return None
    if not any(unicodedata.category(ch)[0] == "L" for ch in text):
        return None
    return text


def question_about(topic: str) -> str:
    """A short question about a topic, in the topic's script (Chinese or English)."""
    template = CHINESE_TEMPLATE if _CJK.search(topic) else ENGLISH_TEMPLATE
    return template.format(heading=topic)


def heading_topics(passages: Sequence[Passage]) -> list[tuple[str, str]]:
    """(heading, topic) of each distinct innermost heading of the passages, taking the
    documents in turn (the first heading of each document, then the second of each, ...),
    so that a few examples cover several documents."""
    per_source: dict[str, list[tuple[str, str]]] = {}
    seen: set[str] = set()
    for passage in passages:
        if not passage.section:
            continue
        heading = passage.section[-1]
        topic = topic_of_heading(heading)
        if topic is None or topic in seen:
            continue
        seen.add(topic)
        per_source.setdefault(passage.source, []).append((heading, topic))
    lists = list(per_source.values())
    longest = max((len(items) for items in lists), default=0)
    return [items[n] for n in range(longest) for items in lists if n < len(items)]


def example_questions(index: Any, limit: int = DEFAULT_LIMIT) -> list[str]:
    """Up to ``limit`` questions that ``index`` answers, made from its section headings.

    ``index`` is a :class:`qa.Index` or a :class:`qa.milvus_store.MilvusIndex` (anything
    with ``passages`` and ``ask``). Each question is asked (at most :data:`MAX_TRIED`
    searches) and kept when the verdict is "found" and the answer's passage lies under the
    heading it was made from; an index whose encoder has no calibration (no verdict) keeps
    those answered under their heading. Empty when nothing qualifies.
    """
    questions: list[str] = []
    for heading, topic in heading_topics(index.passages)[:MAX_TRIED]:
        question = question_about(topic)
        answer = index.ask(question, k=1)
        best = answer.answer
        if answer.found is False or best is None or heading not in best.section:
            continue
        questions.append(question)
        if len(questions) >= limit:
            break
    return questions
