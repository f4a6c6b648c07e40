"""Retrieval evaluation: R@k and MRR@10 over question files (TSV or SQuAD JSON)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.chunking import search_key
from qa.errors import DocumentError
from qa.ingest import Document
from qa.search import Hit

CUTOFFS = (1, 3, 5, 10)


@dataclass(frozen=True)
class Question:
    """One evaluation question and how to recognise a passage that answers it.

    ``answer`` is text the answering passage contains (TSV files); ``source`` is the
    source the answering passage comes from (SQuAD files, where each context is a source).
    """

    kind: str
    question: str
    answer: str = ""
    source: str = ""

    def is_answered_by(self, hit: Hit) -> bool:
        """True when the hit answers this question."""
        if self.source:
            return hit.source == self.source
        return search_key(self.answer) in search_key(hit.text)


def read_tsv_questions(path: Path) -> list[Question]:
    """Read ``kind<TAB>question<TAB>answer`` lines; ``#`` starts a comment line."""
    questions = []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{path}: not UTF-8 text ({exc})") from exc
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3 or not all(p.strip() for p in parts):
            raise DocumentError(f"{path}:{number}: expected kind, question and answer")
        kind, question, answer = (p.strip() for p in parts)
        questions.append(Question(kind=kind, question=question, answer=answer))
    return questions


def read_squad(path: Path) -> tuple[list[Question], list[Document]]:
    """Read a SQuAD-format file: each context becomes a document, each question a Question."""
    questions: list[Question] = []
    documents: list[Document] = []
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
        for article in data["data"]:
            for number, paragraph in enumerate(article.get("paragraphs", [])):
                context = paragraph["context"]
                first_id = paragraph["qas"][0]["id"] if paragraph.get("qas") else str(number)
                source = f"{article.get('title', 'context')}#{first_id}"
                checksum = hashlib.sha256(context.encode("utf-8")).hexdigest()
                documents.append(Document(source=source, text=context, sha256=checksum))
                for qa in paragraph.get("qas", []):
                    questions.append(Question(kind="squad", question=qa["question"], source=source))
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        # ValueError covers JSON and UTF-8 decoding errors.
        raise DocumentError(f"{path}: not a SQuAD-format JSON file ({exc!r})") from exc
    if not questions:
        raise DocumentError(f"{path}: no questions found")
    return questions, documents


def read_questions(path: str | Path) -> tuple[list[Question], list[Document] | None]:
    """Read a question file: TSV (answers as text) or SQuAD JSON (with its contexts)."""
    path = Path(path)
    if not path.is_file():
        raise DocumentError(f"no such question file: {path}")
    if path.suffix.lower() == ".json":
        return read_squad(path)
    return read_tsv_questions(path), None


def score(
    questions: Sequence[Question],
    search: Callable[[str], list[Hit]],
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Run every question through ``search`` (top 10) and return overall and per-kind metrics."""
    ranks: list[tuple[str, int | None]] = []
    for number, question in enumerate(questions, 1):
        hits = search(question.question)
        rank = next((h.rank for h in hits[:10] if question.is_answered_by(h)), None)
        ranks.append((question.kind, rank))
        if progress:
            progress(number, len(questions))
    kinds = sorted({kind for kind, _ in ranks})
    return {
        "overall": _metrics([r for _, r in ranks]),
        "by_kind": {kind: _metrics([r for k, r in ranks if k == kind]) for kind in kinds},
    }


def _metrics(ranks: list[int | None]) -> dict[str, float | int]:
    n = len(ranks)
    result: dict[str, float | int] = {}
    for cutoff in CUTOFFS:
        result[f"R@{cutoff}"] = round(sum(1 for r in ranks if r and r <= cutoff) / n, 4)
    result["MRR@10"] = round(sum(1.0 / r for r in ranks if r and r <= 10) / n, 4)
    result["n"] = n
    return result


def format_table(results: dict[str, Any]) -> str:
    """A plain-text table of the metrics, overall and by kind."""
    columns = [f"R@{c}" for c in CUTOFFS] + ["MRR@10", "n"]
    rows = [("overall", results["overall"])] + list(results["by_kind"].items())
    width = max(len(name) for name, _ in rows)
    lines = [" ".join([" " * width] + [f"{c:>7}" for c in columns])]
    for name, metrics in rows:
        cells = [f"{metrics[c]:>7}" if c == "n" else f"{metrics[c]:>7.3f}" for c in columns]
        lines.append(" ".join([name.ljust(width)] + cells))
    return "\n".join(lines)
