"""The bundled corpus (the Leping 2021 government work report) and its cached index."""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

from qa.chunking import CHUNKER_VERSION
from qa.encoders import DEFAULT_ENCODER
from qa.errors import IndexStoreError
from qa.index import Index
from qa.ingest import file_sha256
from qa.store import is_index_folder

BUNDLED_REPORT = Path(__file__).parent / "data" / "leping-2021-government-work-report.txt"
_lock = threading.Lock()
_loaded: dict[Path, Index] = {}


def index_root() -> Path:
    """Where indexes live: ``$QA_INDEX_ROOT``, else ``index/`` of a source checkout, else
    ``~/.cache/qa/index``."""
    configured = os.environ.get("QA_INDEX_ROOT")
    if configured:
        return Path(configured).expanduser()
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "index").is_dir():
        return checkout / "index"
    return Path.home() / ".cache" / "qa" / "index"


def default_index_dir() -> Path:
    """The folder of the bundled report's index."""
    return index_root() / "leping"


def _load_if_current(folder: Path) -> Index | None:
    if not is_index_folder(folder):
        return None
    try:
        index = Index.load(folder)
    except IndexStoreError:
        return None
    sources = index.sources
    current = (
        index.encoder.name == DEFAULT_ENCODER
        and index.chunker_version == CHUNKER_VERSION
        and len(sources) == 1
        and sources[0].sha256 == file_sha256(BUNDLED_REPORT)
    )
    return index if current else None


def default_index(progress: bool = False) -> Index:
    """The index of the bundled report, loaded once per process; built on first use.

    It is rebuilt when missing, damaged, or made from another version of the report or
    of the chunker. Processes starting together build it once: the others wait.
    """
    folder = default_index_dir()
    with _lock:
        index = _loaded.get(folder) or _load_if_current(folder)
        if index is None or index.lacks_verdict_baseline() or index.annotated_on_load():
            folder.parent.mkdir(parents=True, exist_ok=True)
            with (folder.parent / f".{folder.name}.build-lock").open("a") as lock_file:
                fcntl.flock(lock_file, fcntl.LOCK_EX)
                try:
                    index = _load_if_current(folder)
                    if index is None:
                        index = Index.build([BUNDLED_REPORT], progress=progress)
                        index.save(folder)
                    elif index.lacks_verdict_baseline() or index.annotated_on_load():
                        # Saved by an older qa: record the verdict's baseline, the annotations.
                        index.save(folder)
                finally:
                    fcntl.flock(lock_file, fcntl.LOCK_UN)
        _loaded[folder] = index
        return index
