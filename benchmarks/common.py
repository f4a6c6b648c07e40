"""Helpers shared by the benchmark scripts (and the evaluation notebook).

Nothing here is part of the ``qa`` package: these are measuring tools.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED_EVAL = REPO.parent / "shared" / "eval"
DEV_QUESTIONS = SHARED_EVAL / "leping-dev.tsv"
CMRC_DEV = SHARED_EVAL / "cmrc2018" / "cmrc2018_dev.json"


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024 if sys.platform != "darwin" else kib / 2**20


def current_rss_mb() -> float:
    """Current resident memory of this process, in MiB (from /proc; 0 where unavailable)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def percentiles_ms(seconds: Sequence[float]) -> tuple[float, float]:
    """Median and 95th percentile of durations given in seconds, returned in milliseconds."""
    values = np.asarray(seconds, dtype=np.float64) * 1000.0
    return float(np.median(values)), float(np.percentile(values, 95))


class Stopwatch:
    """A context manager that records the wall-clock seconds of its block in ``seconds``."""

    def __enter__(self) -> Stopwatch:
        self.start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


def format_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub-flavoured markdown table; floats are printed with three decimals."""

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.3f}"
        return str(value)

    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


class CachingEncoder:
    """Wraps an encoder so that each distinct question is embedded once.

    Sweeps ask the same questions many times; the cache keeps the encoder out of the loop
    while every search still runs the real ``Index.search`` code.
    """

    def __init__(self, encoder: Any) -> None:
        self._encoder = encoder
        self.name = encoder.name
        self.dim = encoder.dim
        self._queries: dict[str, np.ndarray] = {}

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Embed questions, from the cache where possible."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._queries]
        if missing:
            for text, vector in zip(missing, self._encoder.encode_queries(missing), strict=True):
                self._queries[text] = vector
        return np.stack([self._queries[t] for t in texts])

    def prefill(self, texts: Sequence[str], cache: Path | None = None, batch: int = 32) -> None:
        """Embed all the texts now, in batches; with ``cache`` (an .npz file), reuse and
        update the vectors stored there by an earlier run with the same encoder."""
        if cache is not None and cache.is_file():
            with np.load(cache, allow_pickle=False) as stored:
                if str(stored["encoder"]) == self.name:
                    for text, vector in zip(stored["texts"], stored["vectors"], strict=True):
                        self._queries.setdefault(str(text), vector)
        from tqdm.auto import tqdm

        missing = [t for t in dict.fromkeys(texts) if t not in self._queries]
        for start in tqdm(
            range(0, len(missing), batch), desc="questions", unit="batch", disable=not missing
        ):
            chunk = missing[start : start + batch]
            for text, vector in zip(chunk, self._encoder.encode_queries(chunk), strict=True):
                self._queries[text] = vector
        if cache is not None and missing:
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.savez(
                cache,
                encoder=np.array(self.name),
                texts=np.array(list(self._queries)),
                vectors=np.stack(list(self._queries.values())),
            )

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        """Embed passages (not cached)."""
        return self._encoder.encode_passages(texts)


def write_json(path: Path, data: Any) -> None:
    """Write data as indented UTF-8 JSON, creating the parent folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def report_question_sets() -> dict[str, list[Any]]:
    """The report's question sets for before/after tables: the dev questions by kind and
    those in English (when ``../shared`` is there), and the held-out English and Chinese
    questions of ``benchmarks/questions/report-questions.tsv``."""
    from qa.evaluation import read_tsv_questions

    sets: dict[str, list[Any]] = {}
    if DEV_QUESTIONS.exists():
        dev = read_tsv_questions(DEV_QUESTIONS)
        for kind in sorted({q.kind for q in dev}):
            sets[f"dev, {kind}"] = [q for q in dev if q.kind == kind]
        sets["dev, English"] = [q for q in dev if q.question.isascii()]
    report = read_tsv_questions(REPO / "benchmarks" / "questions" / "report-questions.tsv")
    sets["held-out English"] = [q for q in report if q.kind == "heldout-english"]
    sets["held-out Chinese"] = [q for q in report if q.kind == "heldout-chinese"]
    return sets
