"""Everything the web chat takes from the qa library, imported in this one place.

The app presents what the library computes (the answer, the verdict, the passages, the
example questions, the confidence in words); the other modules of :mod:`qa.app` import
the library's names from here, so that a change in where the library keeps them is a
change to this file alone.
"""

from __future__ import annotations

from typing import Any

from qa import AddReport, Answer, Hit, Index, SourceInfo
from qa.bundled import default_index, default_index_dir, index_root
from qa.chunking import SECTION_SEPARATOR, Passage
from qa.encoders import DEFAULT_ENCODER, load_encoder
from qa.errors import IndexStoreError, QAError, QueryError
from qa.examples import example_questions
from qa.ingest import SUPPORTED_SUFFIXES, Document, read_document
from qa.milvus_store import DEFAULT_COLLECTION, MilvusIndex, parse_store_uri
from qa.pages import PAGE_PROBLEM_WORDS, PageProblem
from qa.question import MAX_QUESTION_CHARS, MODES, check_mode, check_question
from qa.store import is_index_folder, writing
from qa.viewer import last_page_of, page_of, passage_context, render_marked_page
from qa.wording import describe_confidence

AnyIndex = Index | MilvusIndex

__all__ = [
    "DEFAULT_COLLECTION",
    "DEFAULT_ENCODER",
    "MAX_QUESTION_CHARS",
    "MODES",
    "PAGE_PROBLEM_WORDS",
    "SECTION_SEPARATOR",
    "SUPPORTED_SUFFIXES",
    "AddReport",
    "Answer",
    "AnyIndex",
    "Document",
    "Hit",
    "Index",
    "IndexStoreError",
    "MilvusIndex",
    "PageProblem",
    "Passage",
    "QAError",
    "QueryError",
    "SourceInfo",
    "check_mode",
    "check_question",
    "default_index",
    "default_index_dir",
    "describe_confidence",
    "example_questions",
    "index_root",
    "is_index_folder",
    "last_page_of",
    "load_encoder",
    "page_of",
    "parse_store_uri",
    "passage_context",
    "read_document",
    "render_marked_page",
    "source_date",
    "writing",
]


def source_date(info: Any) -> str | None:
    """The date of an indexed document (``SourceInfo.date``: ``YYYY-MM-DD``, ``YYYY-MM`` or
    ``YYYY``), or None when it has none or this version of the library records none."""
    date = getattr(info, "date", None)
    return str(date) if date else None
