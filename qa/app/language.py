"""Which language a request is answered in, and the page's words in it.

``qa serve --lang`` forces one language for everyone; otherwise each request is answered
in the language its browser prefers (the Accept-Language header): Chinese when Chinese is
preferred over English, else English.
"""

from __future__ import annotations

from typing import Any

from qa.app.core import MAX_QUESTION_CHARS, QAError
from qa.app.texts import LANGUAGES, MESSAGES

# Limits that the worded errors name (qa.app.library and qa.app.handlers enforce them).
MAX_K = 20
MAX_UPLOAD_FILES = 20


def say(language: str, key: str, **values: object) -> str:
    """The message ``key`` in ``language`` (English for an unknown one), filled in."""
    table = MESSAGES.get(language, MESSAGES["en"])
    return table[key].format(**values) if values else table[key]


def language_of(accept_language: str | None) -> str:
    """The interface language for an Accept-Language header: "zh" when Chinese is preferred
    over English, else "en"."""
    best, best_q = "en", 0.0
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        base = tag.strip().lower().split("-")[0]
        if base not in LANGUAGES:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        q -= position * 1e-6  # equal weights: the first listed wins
        if q > best_q:
            best, best_q = base, q
    return best


def request_language(request: Any, forced: str | None = None) -> str:
    """The language to answer a request in: ``forced`` (``--lang``), else the browser's."""
    if forced is not None:
        return forced
    headers = getattr(request, "headers", None)
    return language_of(headers.get("accept-language") if headers is not None else None)


def check_lang(lang: str | None) -> str | None:
    """Return lang if it is None or a language of the interface, else raise QAError."""
    if lang is not None and lang not in LANGUAGES:
        raise QAError(f"unknown language {lang!r}; choose one of {', '.join(LANGUAGES)}")
    return lang


def error_text(exc: QAError, language: str) -> str:
    """What a QAError says on the page: its own (English) message in English, the message
    of its kind (``error_<kind>`` in MESSAGES) in another language when there is one."""
    key = f"error_{exc.kind}"
    if language == "en" or key not in MESSAGES.get(language, {}):
        return str(exc)
    return say(language, key, limit=MAX_QUESTION_CHARS, max_k=MAX_K, max_files=MAX_UPLOAD_FILES)


def count_text(count: int, singular: str, plural: str, language: str = "en") -> str:
    """``count`` with its noun: ``passage_count`` for one, ``passages_count`` for more."""
    return say(language, singular if count == 1 else plural, count=count)


def passages_text(count: int, language: str = "en") -> str:
    """ "1 passage", "5 passages", "5 段"."""
    return count_text(count, "passage_count", "passages_count", language)


def documents_text(count: int, language: str = "en") -> str:
    """ "1 document", "3 documents", "3 个文档"."""
    return count_text(count, "document_count", "documents_count", language)
