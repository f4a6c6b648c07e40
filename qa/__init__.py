"""qa: semantic search and question answering over documents, Chinese first.

The facade::

    import qa
    idx = qa.Index.build(["my-docs/"])          # read, chunk, embed
    idx.add(["more.pdf"])                       # only new or changed files are embedded
    idx.save("index/my-docs")                   # atomic
    idx = qa.Index.load("index/my-docs")
    hits = idx.search("问题", k=5, mode="hybrid")
    answer = idx.ask("问题")                     # found?, the answer line, the hits
    qa.default_index()                          # the bundled Leping report, cached
"""

import os

# The encoder and FAISS run on OpenMP (libgomp). Its idle threads spin for a long time by
# default (300,000 spins), which on a busy machine turns a 15 ms query into seconds at the
# tail; too short a spin makes threads sleep between the encoder's parallel steps and slows
# builds. Measured on 2 cores, 62 questions: idle median 13.9 ms (100,000), 15.8 (default),
# 16.4 (10,000); beside two busy processes p95 47-50 ms (100,000), 129-168 (default);
# building the report 2-3 s faster than with 10,000. Must be set before libgomp loads.
os.environ.setdefault("GOMP_SPINCOUNT", "100000")

from qa.answers import Answer, Hit, TimeReading
from qa.bundled import BUNDLED_REPORT, default_index, default_index_dir, index_root
from qa.chunking import ChunkingSettings, Passage
from qa.errors import (
    ClusterError,
    DocumentError,
    EncoderError,
    IndexStoreError,
    QAError,
    QueryError,
)
from qa.index import AddReport, Index, SourceInfo
from qa.question import MODES

__all__ = [
    "BUNDLED_REPORT",
    "MODES",
    "AddReport",
    "Answer",
    "ChunkingSettings",
    "ClusterError",
    "DocumentError",
    "EncoderError",
    "Hit",
    "Index",
    "IndexStoreError",
    "Passage",
    "QAError",
    "QueryError",
    "SourceInfo",
    "TimeReading",
    "default_index",
    "default_index_dir",
    "index_root",
]
