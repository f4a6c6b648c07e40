"""Retrieval evaluation: R@k and MRR@10 over question files (TSV or SQuAD JSON).

A SQuAD file's contexts are indexed once per file, encoder and chunker version: the index is
kept under ``<index root>/.eval-cache/`` (see :func:`contexts_index`), so a second run of the
same file starts answering at once.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.answers import Hit
from qa.bundled import index_root
from qa.chunking import CHUNKER_VERSION, search_key
from qa.e5_convert import CONVERSION_VERSION
from qa.encoders import DEFAULT_ENCODER, load_encoder
from qa.errors import DocumentError, IndexStoreError, QueryError
from qa.index import CHECKPOINT_FOLDER, Index
from qa.ingest import Document, file_sha256
from qa.question import check_question
from qa.store import is_index_folder

EVAL_CACHE = ".eval-cache"
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")

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
    # Where the question comes from, for messages: "file.tsv:12" or the SQuAD question id.
    label: str = ""

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
        questions.append(
            Question(kind=kind, question=question, answer=answer, label=f"{path.name}:{number}")
        )
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
                    questions.append(
                        Question(
                            kind="squad",
                            question=qa["question"],
                            source=source,
                            label=f"{path.name}#{qa.get('id', '?')}",
                        )
                    )
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


@dataclass(frozen=True)
class SkippedQuestion:
    """A question that cannot be asked (empty, wordless, over-long), and why."""

    label: str
    question: str
    reason: str


def askable_questions(
    questions: Sequence[Question],
) -> tuple[list[Question], list[SkippedQuestion]]:
    """Split questions into those that can be searched and those that cannot (with why).

    A question is askable when :func:`qa.question.check_question` accepts it; the others would
    stop a run with a QueryError, so an evaluation skips and lists them instead.
    """
    askable: list[Question] = []
    skipped: list[SkippedQuestion] = []
    for question in questions:
        try:
            check_question(question.question)
        except QueryError as exc:
            skipped.append(SkippedQuestion(question.label, str(question.question)[:80], str(exc)))
        else:
            askable.append(question)
    return askable, skipped


def contexts_index(
    path: Path, documents: Sequence[Document], model: str, progress: bool = False
) -> Index:
    """The index of a SQuAD file's contexts, built once and then loaded from the cache.

    The cache folder is keyed by the file's SHA-256, the encoder (for the default one, with
    the version of its converted weights) and the chunker version, under
    ``<index root>/.eval-cache/``; a damaged or stale cached index is rebuilt. An
    interrupted build resumes from its checkpoint.
    """
    model_hash = hashlib.sha1(model.encode()).hexdigest()[:8]
    model_key = f"{_UNSAFE_NAME.sub('_', model)[-40:]}-{model_hash}"
    if model == DEFAULT_ENCODER:
        model_key += f"-w{CONVERSION_VERSION}"
    key = f"{file_sha256(path)[:16]}-{model_key}-c{CHUNKER_VERSION}"
    folder = index_root() / EVAL_CACHE / key
    if is_index_folder(folder):
        try:
            index = Index.load(folder, model=model)
        except IndexStoreError:
            index = None
        if (
            index is not None
            and index.chunker_version == CHUNKER_VERSION
            and len(index.sources) == len({d.sha256 for d in documents})
        ):
            if index.annotated_on_load():
                index.save(folder)  # cached by an older qa: keep the annotations
            return index
    index = Index(load_encoder(model))
    checkpoint = folder / CHECKPOINT_FOLDER
    index.add_documents(documents, progress=progress, checkpoint=checkpoint)
    index.save(folder)
    shutil.rmtree(checkpoint, ignore_errors=True)
    return index


def score(
    questions: Sequence[Question],
    search: Callable[[str], list[Hit]],
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Run every question through ``search`` (top 10) and return overall and per-kind metrics.

    The questions must be askable (see :func:`askable_questions`).
    """
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
