"""Keyword ranking: BM25 (the ``bm25s`` library) over a Chinese-aware tokenization.

Two tokenizations are offered. ``bigram`` indexes each run of CJK characters as its
characters and overlapping character pairs, and Latin words and numbers whole: it needs no
dictionary and matches words a segmenter would cut differently. ``jieba`` uses jieba's
search-engine segmentation. Both were measured on the development questions (see docs/quality.md).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import unicodedata
from pathlib import Path

import numpy as np

TOKENIZERS = ("bigram", "jieba")
DEFAULT_TOKENIZER = "bigram"

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[0-9]+(?:\.[0-9]+)?%?|[^\W\d_]+", re.UNICODE)
# A token that is a number: a year, an amount, a percentage (as either tokenizer cuts them).
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?%?")
# jieba's lazy dictionary load (and its tagger's) is not thread-safe.
jieba_lock = threading.Lock()


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def _bigram_tokens(text: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    for run in _CJK_RUN.finditer(text):
        tokens.extend(_WORD.findall(text[position : run.start()]))
        chars = run.group()
        tokens.extend(chars)
        tokens.extend(chars[i : i + 2] for i in range(len(chars) - 1))
        position = run.end()
    tokens.extend(_WORD.findall(text[position:]))
    return tokens


def quiet_jieba() -> None:
    """Keep jieba from logging "Building prefix dict ..." on every first use."""
    import jieba

    jieba.setLogLevel(logging.WARNING)  # not "Building prefix dict ..." on every first use


def _jieba_tokens(text: str) -> list[str]:
    import jieba

    quiet_jieba()
    with jieba_lock:
        words = jieba.lcut_for_search(text)
    return [w for w in (word.strip() for word in words) if w and _WORD.search(w)]


def tokenize(text: str, tokenizer: str = DEFAULT_TOKENIZER) -> list[str]:
    """Split text into BM25 tokens with the named tokenizer (``bigram`` or ``jieba``)."""
    folded = _fold(text)
    if tokenizer == "bigram":
        return _bigram_tokens(folded)
    if tokenizer == "jieba":
        return _jieba_tokens(folded)
    raise ValueError(f"unknown tokenizer {tokenizer!r}; choose one of {', '.join(TOKENIZERS)}")


def number_tokens(text: str, tokenizer: str = DEFAULT_TOKENIZER) -> list[str]:
    """The distinct tokens of text that are numbers (years, amounts, percentages), in order."""
    return list(dict.fromkeys(t for t in tokenize(text, tokenizer) if _NUMBER.fullmatch(t)))


class KeywordIndex:
    """A BM25 index over a list of texts; scores every text for a query."""

    def __init__(self, tokenizer: str = DEFAULT_TOKENIZER) -> None:
        if tokenizer not in TOKENIZERS:
            raise ValueError(f"unknown tokenizer {tokenizer!r}; choose one of {TOKENIZERS}")
        self.tokenizer = tokenizer
        self._bm25 = None
        self.size = 0

    @classmethod
    def build(cls, texts: list[str], tokenizer: str = DEFAULT_TOKENIZER) -> KeywordIndex:
        """Tokenize and index the texts."""
        import bm25s

        index = cls(tokenizer)
        # An empty token list would give a document bm25s cannot place; a sentinel keeps
        # row numbers aligned with passages.
        corpus = [tokenize(text, tokenizer) or ["\u0000"] for text in texts]
        index.size = len(corpus)
        if corpus:
            bm25 = bm25s.BM25()
            bm25.index(corpus, show_progress=False)
            index._bm25 = bm25
        return index

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every indexed text for the query (zeros where nothing matches)."""
        if self._bm25 is None:
            return np.zeros(self.size, dtype=np.float32)
        tokens = tokenize(query, self.tokenizer)
        if not tokens:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)

    def number_matches(self, query: str) -> np.ndarray | None:
        """Share of the query's numbers that each indexed text contains; None without any.

        A text contains a token exactly when its BM25 score for that token alone is positive
        (BM25's idf and term-frequency factors are positive for every token it holds).
        """
        numbers = number_tokens(query, self.tokenizer)
        if not numbers:
            return None
        share = np.zeros(self.size, dtype=np.float32)
        if self._bm25 is not None:
            for token in numbers:
                share += np.asarray(self._bm25.get_scores([token]), dtype=np.float32) > 0
        return share / len(numbers)

    def save(self, folder: Path) -> None:
        """Write the BM25 state into ``folder`` (which must exist)."""
        (folder / "keyword.json").write_text(
            json.dumps({"tokenizer": self.tokenizer, "size": self.size}), encoding="utf-8"
        )
        if self._bm25 is not None:
            self._bm25.save(str(folder / "bm25"), show_progress=False)

    @classmethod
    def load(cls, folder: Path) -> KeywordIndex:
        """Read the BM25 state written by :meth:`save`."""
        import bm25s

        meta = json.loads((folder / "keyword.json").read_text(encoding="utf-8"))
        index = cls(meta["tokenizer"])
        index.size = int(meta["size"])
        if index.size:
            index._bm25 = bm25s.BM25.load(str(folder / "bm25"))
        return index
