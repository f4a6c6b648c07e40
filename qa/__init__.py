"""qa: semantic search and question answering over documents, Chinese first.

The facade::

    import qa
    idx = qa.Index.build(["my-docs/"])          # read, chunk, embed
    idx.add(["more.pdf"])                       # only new or changed files are embedded
    idx.save("index/my-docs")                   # atomic
    idx = qa.Index.load("index/my-docs")
    hits = idx.search("问题", k=5, mode="hybrid")
    qa.default_index()                          # the bundled Leping report, cached
"""

import os

# The encoder and FAISS run on OpenMP (libgomp). Its idle threads spin for a long time by
# default, which on a busy machine turns a 15 ms query into seconds; a short spin keeps
# the idle-machine latency (measured in README). Must be set before libgomp loads.
os.environ.setdefault("GOMP_SPINCOUNT", "10000")

from qa.bundled import BUNDLED_REPORT, default_index, default_index_dir, index_root
from qa.chunking import ChunkingSettings, Passage
from qa.errors import DocumentError, EncoderError, IndexStoreError, QAError, QueryError
from qa.index import AddReport, Index, SourceInfo
from qa.search import MODES, Hit

__all__ = [
    "BUNDLED_REPORT",
    "MODES",
    "AddReport",
    "ChunkingSettings",
    "DocumentError",
    "EncoderError",
    "Hit",
    "Index",
    "IndexStoreError",
    "Passage",
    "QAError",
    "QueryError",
    "SourceInfo",
    "default_index",
    "default_index_dir",
    "index_root",
]
