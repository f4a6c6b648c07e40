"""What a store hands over for one question: its candidates and their scores.

A store (:class:`qa.Index` over FAISS and bm25s, :class:`qa.milvus_store.MilvusIndex` over
Milvus) finds the candidates of a question: keyword scores, passage-vector scores, the
sentence windows that matched, number matches, and what it knows of each candidate's
passage (:class:`PassageTraits`: its script, the period it speaks of, its document's
reference date). Everything after that, ranking, answer lines and the verdict, is the same
code for both stores.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from qa.periods import RESULTS, TARGETS, ReferenceDate

SCRIPT_CODES = {"han": 0, "latin": 1, "other": 2}
STANCE_CODES = {None: 0, RESULTS: 1, TARGETS: 2}
UNKNOWN = -1


@dataclass(frozen=True)
class PassageTraits:
    """What is known of each candidate's passage, by candidate position.

    ``script``: the code (SCRIPT_CODES) of the script most of its text is in;
    ``first_year``/``last_year``: the period it speaks of (UNKNOWN when not known);
    ``stance``: STANCE_CODES of whether it reports results or sets targets;
    ``reference``: the position in ``references`` of its document's reference date
    (UNKNOWN for a document without one).
    """

    script: np.ndarray
    first_year: np.ndarray
    last_year: np.ndarray
    stance: np.ndarray
    reference: np.ndarray
    references: tuple[ReferenceDate, ...] = ()

    def take(self, positions: np.ndarray) -> PassageTraits:
        """The traits of the given positions, in that order."""
        return PassageTraits(
            self.script[positions],
            self.first_year[positions],
            self.last_year[positions],
            self.stance[positions],
            self.reference[positions],
            self.references,
        )

    @classmethod
    def of(
        cls,
        scripts: Sequence[str],
        periods: Sequence[tuple[int, int] | None],
        stances: Sequence[str | None],
        references: Sequence[ReferenceDate | None],
    ) -> PassageTraits:
        """Traits from one value per passage (a reference date may repeat)."""
        distinct: dict[ReferenceDate, int] = {}
        for reference in references:
            if reference is not None:
                distinct.setdefault(reference, len(distinct))
        return cls(
            script=np.array([SCRIPT_CODES.get(s, 2) for s in scripts], dtype=np.int8),
            first_year=np.array([p[0] if p else UNKNOWN for p in periods], dtype=np.int32),
            last_year=np.array([p[1] if p else UNKNOWN for p in periods], dtype=np.int32),
            stance=np.array([STANCE_CODES.get(s, 0) for s in stances], dtype=np.int8),
            reference=np.array(
                [UNKNOWN if r is None else distinct[r] for r in references], dtype=np.int32
            ),
            references=tuple(distinct),
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
    0 and the weakest dense score. ``traits`` is what the store knows of each candidate's
    passage (None: nothing; the ranking then neither weighs scripts nor time).
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
    traits: PassageTraits | None = None

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
        traits: PassageTraits | None = None,
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
            traits=traits,
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

    def reference_of(self, position: int) -> ReferenceDate | None:
        """The reference date of the document of one candidate, if known."""
        if self.traits is None:
            return None
        at = int(self.traits.reference[position])
        return None if at == UNKNOWN else self.traits.references[at]

    def period_of(self, position: int) -> tuple[int, int] | None:
        """The period (first, last year) one candidate's passage speaks of, if known."""
        if self.traits is None or self.traits.first_year[position] == UNKNOWN:
            return None
        return int(self.traits.first_year[position]), int(self.traits.last_year[position])
