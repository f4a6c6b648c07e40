"""Building an index on a Ray cluster: reading, chunking, OCR and embedding run as Ray
tasks and a Ray Data ``map_batches`` stage over the cluster's workers; the driver (this
process) writes whole files into an index folder or a Milvus store as they come.

>>> from qa import cluster
>>> result = cluster.build(["docs/"], index="index/docs")            # doctest: +SKIP
>>> result = cluster.build(["docs/"], store="milvus://db:19530/docs",
...                        cluster="10.0.0.5:6379")                  # doctest: +SKIP
>>> result.report.added, result.texts, result.workers               # doctest: +SKIP

``cluster="auto"`` starts a local Ray cluster for the build (on this machine's loopback
address, stopped afterwards); ``HOST:PORT`` joins a running one (``ray start --head`` on
its head node prints that address). Every node must run the same ``qa`` installation and
see the documents under the same paths (a shared file system). Each embedding worker loads
the encoder once; it takes a GPU when the cluster has one (or with ``device="cuda"``).

The build, in order:

1. the files are listed here (:func:`qa.ingest.collect_files`) and checked by Ray tasks
   (opened as a build opens them: checksum, type, readable); unreadable files are
   reported by name and the rest go on;
2. unchanged files and duplicates are set aside here, with the library's own rules
   (:func:`qa.index.documents_to_add`), so a rerun embeds nothing that is indexed;
3. a Ray Data pipeline reads and chunks each remaining file (tasks, OCR included) and
   embeds its passages and their windows (actors): :mod:`qa.cluster_stages`;
4. the driver gathers each file's parts and hands every whole file to its target
   (:mod:`qa.cluster_targets`), which writes it so that nothing is half-written and an
   interrupted build resumes without embedding again what was written.

Ray retries the work of a worker that dies; a part that arrives twice is taken once. When
the cluster itself goes away (its head node stops answering) the build stops with a
:class:`qa.ClusterError` naming it; the target then holds only whole files. Ray ends a
process whose cluster is gone about a minute later, whatever the process does.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import queue
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from qa.chunking import ChunkingSettings, Passage
from qa.cluster_stages import (
    PASSAGES,
    SKIPPED,
    UNCHANGED,
    Embedder,
    WorkerStats,
    check_files,
    chunk_files,
    dumps,
    loads,
)
from qa.cluster_targets import FolderTarget, StoreTarget
from qa.errors import ClusterError, DocumentError
from qa.index import AddReport, EmbeddedFile, SourceInfo, documents_to_add
from qa.ingest import Document, collect_files
from qa.lexical import DEFAULT_TOKENIZER

PathLike = str | os.PathLike[str]

INSTALL_HINT = 'pip install -c constraints.txt -e ".[cluster]"'
LOCAL_CLUSTER = "auto"
DEFAULT_RAY_PORT = 6379
# Seconds to wait for a cluster's address to answer before the build is refused.
CONNECT_TIMEOUT = 5.0
# The head node is probed this often (seconds) while no result arrives; this many failed
# probes in a row mean the cluster is gone.
PROBE_EVERY = 2.0
PROBES_LOST = 3
# ClusterError.kind when the cluster went away during the build.
LOST = "cluster_lost"
# Logical CPUs a reading and chunking task reserves (it waits on disk as much as it computes).
READ_CPUS = 0.25

log = logging.getLogger(__name__)


@dataclass
class ClusterBuild:
    """What a cluster build did: the files (as :class:`qa.AddReport`), the texts embedded
    now, the files taken from an interrupted build instead, and each worker's figures."""

    target: str
    address: str
    report: AddReport
    passages: int = 0
    texts: int = 0
    resumed: list[str] = field(default_factory=list)
    workers: list[WorkerStats] = field(default_factory=list)
    seconds: float = 0.0


def _ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise ClusterError(
            f"building on a Ray cluster needs Ray, which is not installed: {INSTALL_HINT}"
        ) from exc
    return ray


def _split_address(address: str) -> tuple[str, int]:
    host, _, port = address.strip().rpartition(":")
    if not host:
        return address.strip(), DEFAULT_RAY_PORT
    try:
        return host.strip("[]"), int(port)
    except ValueError:
        raise ClusterError(f"{address}: not a Ray cluster address (HOST:PORT)") from None


def _reachable(host: str, port: int, timeout: float = CONNECT_TIMEOUT) -> str | None:
    """None when something answers at host:port, else why not."""
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        return exc.strerror or str(exc) or type(exc).__name__
    return None


@contextlib.contextmanager
def connected(cluster: str) -> Iterator[str]:
    """Connect to the Ray cluster (``auto``: start a local one) for the block; yields the
    address of its head node. A Ray session already open in this process is used as it is.
    Raises ClusterError naming the address when it cannot be reached."""
    if cluster == LOCAL_CLUSTER and "ray" not in sys.modules:
        # A local cluster listens on loopback only (Ray would pick the machine's address).
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    ray = _ray()
    if ray.is_initialized():
        yield ray.get_runtime_context().gcs_address
        return
    # Ray's C++ core logs warnings of its own on stderr (one per actor with arguments in
    # the object store); failures reach the build as exceptions.
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    options: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,
        "logging_level": logging.ERROR,
    }
    if cluster == LOCAL_CLUSTER:
        target = "a local Ray cluster"
        options["address"] = "local"
    else:
        host, port = _split_address(cluster)
        reason = _reachable(host, port)
        if reason is not None:
            raise ClusterError(
                f"cannot reach the Ray cluster at {cluster}: {reason}; start one there with "
                f"`ray start --head --port {port}`, or build with --cluster auto"
            )
        target = f"the Ray cluster at {cluster}"
        options["address"] = f"{host}:{port}"
    try:
        ray.init(**options)
    except Exception as exc:  # Ray raises many types (ConnectionError, RuntimeError, ...)
        raise ClusterError(f"cannot connect to {target}: {exc}") from exc
    try:
        ray.data.DataContext.get_current().enable_progress_bars = False
        ray.data.DataContext.get_current().print_on_execution_start = False
        logging.getLogger("ray.data").setLevel(logging.ERROR)
        yield ray.get_runtime_context().gcs_address
    except ClusterError as exc:
        if exc.kind != LOST:  # a cluster that is gone cannot be left (Ray would wait)
            with contextlib.suppress(Exception):
                ray.shutdown()
        raise
    except BaseException:
        with contextlib.suppress(Exception):
            ray.shutdown()
        raise
    else:
        ray.shutdown()


def _stream(rows: Any, gcs_address: str, address: str) -> Iterator[dict[str, Any]]:
    """The rows of a Ray dataset, pulled by a thread, while the head node is watched: when
    it stops answering, ClusterError (Ray would otherwise wait, then end the process)."""
    inbox: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=64)

    def pump() -> None:
        try:
            for row in rows.iter_rows():
                inbox.put(("row", row))
            inbox.put(("end", None))
        except BaseException as exc:  # handed to the driver, which raises it
            inbox.put(("error", exc))

    threading.Thread(target=pump, name="qa-cluster-results", daemon=True).start()
    host, port = _split_address(gcs_address)
    failures = 0
    while True:
        try:
            kind, item = inbox.get(timeout=PROBE_EVERY)
        except queue.Empty:
            failures = failures + 1 if _reachable(host, port, PROBE_EVERY) else 0
            if failures >= PROBES_LOST:
                raise ClusterError(
                    f"the Ray cluster at {address} went away during the build (its head "
                    f"node at {gcs_address} no longer answers)",
                    kind=LOST,
                ) from None
            continue
        failures = 0
        if kind == "row":
            yield item
        elif kind == "error":
            raise ClusterError(f"the build on the Ray cluster at {address} failed: {item}")
        else:
            return


def _resources(ray: Any, device: str, workers: int | None, cpus: float) -> tuple[int, dict]:
    """The number of embedding workers and each one's Ray resources, checked against the
    cluster's: a GPU each where the cluster has them (or with device cuda)."""
    total = ray.cluster_resources()
    gpus = int(total.get("GPU", 0))
    if device == "cuda" and not gpus:
        raise ClusterError("--device cuda: the Ray cluster has no GPU")
    if gpus and device != "cpu":
        count = workers or gpus
        if count > gpus:
            raise ClusterError(f"{count} GPU workers asked for; the Ray cluster has {gpus} GPUs")
        return count, {"num_gpus": 1, "num_cpus": min(cpus, 1.0), "device": "cuda"}
    available = float(total.get("CPU", 0)) - READ_CPUS
    count = workers or max(1, int(available // cpus))
    if count * cpus > available:
        raise ClusterError(
            f"{count} workers of {cpus:g} CPUs asked for; the Ray cluster has "
            f"{total.get('CPU', 0):g} CPUs, {READ_CPUS:g} of them kept for reading files"
        )
    return count, {"num_cpus": cpus, "device": "cpu"}


def build(
    paths: Sequence[PathLike] | PathLike,
    *,
    index: PathLike | None = None,
    store: str | None = None,
    cluster: str = LOCAL_CLUSTER,
    model: str | None = None,
    settings: ChunkingSettings | None = None,
    tokenizer: str = DEFAULT_TOKENIZER,
    vector_index: str = "auto",
    device: str = "auto",
    workers: int | None = None,
    cpus_per_worker: float = 1.0,
    rebuild: bool = False,
    progress: bool | Callable[[int, int], None] = False,
) -> ClusterBuild:
    """Build or update the index folder ``index`` or the Milvus store ``store`` on a Ray
    cluster (see the module docstring); returns what was done.

    ``workers`` embedding workers (default: as many as the cluster's GPUs, else its CPUs
    hold at ``cpus_per_worker`` each; a worker runs that many threads, rounded up);
    ``progress`` is True for a bar on stderr, or a callback ``(files done, files)``.
    Raises DocumentError for a missing path or nothing readable, ClusterError when Ray is
    missing, the cluster cannot be reached or goes away, IndexStoreError for the target.
    """
    started = time.monotonic()
    if (index is None) == (store is None):
        raise ValueError("give the target: index=FOLDER or store=URI")
    if cpus_per_worker <= 0 or (workers is not None and workers < 1):
        raise ValueError("workers and cpus_per_worker must be positive")
    paths = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    files = collect_files(paths)  # a missing path is an error before anything starts
    settings = settings or ChunkingSettings()
    target: FolderTarget | StoreTarget
    if store is not None:
        target = StoreTarget(store, model, settings, tokenizer, vector_index, rebuild)
    else:
        assert index is not None
        target = FolderTarget(Path(index), model, settings, tokenizer, vector_index, rebuild)
    address = "local" if cluster == LOCAL_CLUSTER else cluster
    with connected(cluster) as gcs_address:
        ray = _ray()
        count, resources = _resources(ray, device, workers, cpus_per_worker)
        with target.opened():
            try:
                result = _build_into(
                    ray,
                    target,
                    files,
                    paths,
                    settings,
                    (count, resources, cpus_per_worker),
                    gcs_address,
                    address,
                    progress,
                )
            except ClusterError as exc:
                if exc.kind != LOST:
                    raise
                raise ClusterError(f"{exc}; {target.after_loss()}", kind=LOST) from exc
    result.seconds = time.monotonic() - started
    return result


def _build_into(
    ray: Any,
    target: FolderTarget | StoreTarget,
    files: list[Path],
    paths: Sequence[PathLike],
    settings: ChunkingSettings,
    pool: tuple[int, dict[str, Any], float],
    gcs_address: str,
    address: str,
    progress: bool | Callable[[int, int], None],
) -> ClusterBuild:
    """The build of :func:`build` once the cluster is joined and the target open."""
    count, resources, cpus_per_worker = pool
    result = ClusterBuild(target.name, address, AddReport())
    plan = _plan(ray, files, paths, target.known, settings, result.report, gcs_address, address)
    for file in target.resumed({source: sha for source, (_, sha, _) in plan.items()}):
        result.resumed.append(file.source)
        del plan[file.source]
    if plan:
        rows = ray.data.from_items(
            [
                {"path": path, "source": source, "known": known}
                for source, (path, _sha, known) in plan.items()
            ],
            override_num_blocks=len(plan),
        )
        rows = rows.map_batches(
            chunk_files,
            batch_size=1,
            fn_kwargs={"settings": settings},
            num_cpus=READ_CPUS,
            batch_format="numpy",
        )
        device_name = resources.pop("device")
        rows = rows.map_batches(
            Embedder,
            batch_size=1,
            fn_constructor_kwargs={
                "model": target.encoder_name,
                "device": device_name,
                "settings": settings,
                "threads": max(1, math.ceil(cpus_per_worker)),
            },
            compute=ray.data.ActorPoolStrategy(size=count),
            batch_format="numpy",
            **resources,
        )
        _gather(_stream(rows, gcs_address, address), plan, target, result, progress)
    order = [*result.report.replaced, *result.report.added]
    result.passages = target.finish(_in_order(files, order), bool(order))
    return result


def _in_order(files: list[Path], sources: list[str]) -> list[str]:
    """``sources`` in the order their files were listed (a one-process build's order)."""
    rank = {str(path.resolve()): n for n, path in enumerate(files)}
    return sorted(sources, key=lambda source: rank.get(source, len(rank)))


def _plan(
    ray: Any,
    files: list[Path],
    given: Sequence[PathLike],
    known: dict[str, Any],
    settings: ChunkingSettings,
    report: AddReport,
    gcs_address: str,
    address: str,
) -> dict[str, tuple[str, str, bytes]]:
    """Check every file on the cluster; return the files to read, chunk and embed (source
    -> path, checksum, what the target holds under that name), recording in ``report``
    the unreadable, unchanged and duplicate ones, as a one-process build would."""
    if not files:
        raise DocumentError(f"no readable documents in {', '.join(map(str, given))}")
    checked = ray.data.from_items([{"path": str(path)} for path in files]).map_batches(
        check_files, batch_size=16, num_cpus=READ_CPUS, batch_format="numpy"
    )
    rows = list(_stream(checked, gcs_address, address))
    by_path = {row["path"]: row for row in rows}
    readable: list[Document] = []
    paths: dict[str, str] = {}
    for path in map(str, files):
        row = by_path[path]
        if row["skipped"]:
            report.skipped.append(loads(row["skipped"]))
            continue
        # Text-less stand-ins: documents_to_add decides on names and checksums alone here
        # (unchanged, same content as another, new or changed), as it does in a build.
        readable.append(Document(row["source"], "", row["sha256"]))
        paths[row["source"]] = path
    if not readable:
        detail = "; ".join(s.reason for s in report.skipped[:3])
        raise DocumentError(
            f"no readable documents in {', '.join(map(str, given))}"
            + (f" ({detail})" if detail else "")
        )
    plan = {}
    for document, _, _ in documents_to_add(readable, known, settings, report):
        info = known.get(document.source)
        plan[document.source] = (
            paths[document.source],
            document.sha256,
            dumps(info) if info is not None else b"",
        )
    return plan


@dataclass
class _Partial:
    """The parts of one file received so far."""

    sha256: str
    parts: int
    info: SourceInfo  # the source's record, with its reference date
    received: dict[int, tuple[list[Passage], tuple[np.ndarray, np.ndarray, np.ndarray]]] = field(
        default_factory=dict
    )


def _gather(
    rows: Iterator[dict[str, Any]],
    plan: dict[str, tuple[str, str, bytes]],
    target: FolderTarget | StoreTarget,
    result: ClusterBuild,
    progress: bool | Callable[[int, int], None],
) -> None:
    """Gather each file's parts as they come; hand every whole file to the target."""
    report = result.report
    pending: dict[str, _Partial] = {}
    finished: set[str] = set()
    workers: dict[tuple[str, int], WorkerStats] = {}
    bar = tqdm(
        total=len(plan),
        unit="file",
        desc="cluster build",
        disable=progress is not True,
        dynamic_ncols=True,
    )

    def done(source: str) -> None:
        finished.add(source)
        bar.update(1)
        if callable(progress):
            progress(len(finished), len(plan))

    def drop(source: str) -> None:  # planned as added or replaced, then not indexed
        for names in (report.added, report.replaced):
            if source in names:
                names.remove(source)

    try:
        for row in rows:
            source = str(row["source"])
            if source in finished:
                continue  # a part computed twice (a worker retried by Ray)
            status = str(row["status"])
            if status != PASSAGES:
                drop(source)
                if status == UNCHANGED:
                    report.unchanged.append(source)
                elif status == SKIPPED:
                    report.skipped.extend(loads(row["notes"]))
                done(source)
                continue
            stats: WorkerStats = loads(row["worker"])
            workers[(stats.host, stats.pid)] = stats
            result.texts += int(row["texts"])
            bar.set_postfix(texts=result.texts, refresh=False)
            partial = pending.setdefault(
                source, _Partial(str(row["sha256"]), int(row["parts"]), loads(row["info"]))
            )
            if int(row["part"]) == 0:
                report.skipped.extend(loads(row["notes"]))  # its pages that were not read
            partial.received[int(row["part"])] = (loads(row["passages"]), loads(row["vectors"]))
            if len(partial.received) == partial.parts:
                target.write(_whole(source, pending.pop(source)))
                done(source)
    finally:
        bar.close()
        result.workers = sorted(workers.values(), key=lambda s: (s.host, s.pid))
    missing = set(plan) - finished
    if missing:  # Ray finished without them: never expected, never silent
        raise ClusterError(f"the cluster build lost {len(missing)} files: {sorted(missing)[:3]}")


def _whole(source: str, partial: _Partial) -> EmbeddedFile:
    """A file's parts joined: passages in order, window rows numbered in the file."""
    passages: list[Passage] = []
    vectors, windows, window_vectors = [], [], []
    for part in range(partial.parts):
        piece, (piece_vectors, piece_windows, piece_window_vectors) = partial.received[part]
        rows = np.asarray(piece_windows, dtype=np.int64).reshape(-1, 3).copy()
        rows[:, 0] += len(passages)
        passages.extend(piece)
        vectors.append(piece_vectors)
        windows.append(rows)
        window_vectors.append(piece_window_vectors)
    return EmbeddedFile(
        source=source,
        sha256=partial.sha256,
        passages=passages,
        passage_vectors=np.vstack(vectors).astype(np.float32),
        windows=np.vstack(windows),
        window_vectors=np.vstack(window_vectors).astype(np.float32),
        date=partial.info.date,
        date_origin=partial.info.date_origin,
    )
