"""The on-disk index folder: atomic generations, a manifest, and checksums of every file.

Layout of an index folder::

    DIR/CURRENT            name of the live generation and the SHA-256 of its manifest,
                           replaced atomically
    DIR/gen-000007/        one complete, immutable generation
        manifest.json      format version, encoder, settings, sources, file checksums
        ...                data files written by the index
    DIR/.lock              flock-ed by the one process writing the index; holds its pid

A save writes a new generation in a temporary folder, renames it into place and only then
points CURRENT at it, so a crash at any moment leaves the previous generation live. The
checksum in CURRENT covers the manifest, whose checksums cover every other file, so any
damaged file is named when the index is loaded. (A CURRENT holding only a name, as written
by earlier versions, is still read; its manifest is then not checked.)
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from qa.errors import IndexStoreError
from qa.ingest import file_sha256

# Format 2 added the passages' annotations and the sources' reference dates; format 1
# indexes still load (their passages are annotated when loaded: qa.annotation).
FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)
MANIFEST = "manifest.json"
CURRENT = "CURRENT"
LOCK = ".lock"
PathLike = str | os.PathLike[str]
_GENERATION = re.compile(r"^gen-(\d{6,})$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def fsync_path(path: Path) -> None:
    """Flush a file's or a folder's data (a folder: its entries) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# Errors of flock on a file system that has no locks (some network mounts).
_NO_LOCKS = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL}
# Attempts to lock a lock file that keeps being replaced before giving up.
_LOCK_ATTEMPTS = 5
# The write locks this process holds: folder -> (thread id, depth, open lock file).
_held: dict[Path, tuple[int, int, int]] = {}
_held_guard = threading.Lock()


def _say(message: str) -> None:
    print(f"qa: {message}", file=sys.stderr, flush=True)


def _holder(fd: int) -> str:
    """Who holds the lock, as its holder wrote it into the lock file."""
    try:
        text = os.pread(fd, 512, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return text or "another process"


def _same_file(fd: int, path: Path) -> bool:
    try:
        held, named = os.fstat(fd), os.stat(path)
    except FileNotFoundError:
        return False
    return (held.st_dev, held.st_ino) == (named.st_dev, named.st_ino)


def _lock_file(folder: Path, notify: Callable[[str], None]) -> int:
    """Open and flock the folder's lock file (waiting for its holder); return the fd."""
    path = folder / LOCK
    for _ in range(_LOCK_ATTEMPTS):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise IndexStoreError(
                f"cannot open the lock file {path}: {exc.strerror or exc}; every write to "
                f"the index takes this lock (delete it only when no qa process runs)"
            ) from exc
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                notify(f"waiting for {_holder(fd)}, which is writing {folder} ...")
                fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException as exc:
            os.close(fd)
            if not isinstance(exc, OSError):
                raise
            if exc.errno in _NO_LOCKS:
                raise IndexStoreError(
                    f"cannot write to {folder}: its file system does not support file locks "
                    f"(flock: {exc.strerror}), so concurrent writers could lose each "
                    "other's work; keep the index on a local disk"
                ) from exc
            raise IndexStoreError(f"cannot lock {path}: {exc.strerror or exc}") from exc
        if _same_file(fd, path):
            command = " ".join(sys.argv)[:200] or "python"
            started = time.strftime("%H:%M:%S")
            with contextlib.suppress(OSError):  # only informative (a full disk refuses it)
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"pid {os.getpid()} ({command}, since {started})\n".encode(), 0)
            return fd
        # The lock file was deleted or replaced while we waited: lock the new one.
        os.close(fd)
    raise IndexStoreError(f"cannot lock {path}: it keeps being deleted or replaced")


def check_still_locked(folder: Path) -> None:
    """Raise IndexStoreError unless this thread holds the folder's lock on its lock file.

    Someone deleting or replacing the lock file while it is held would let a second
    writer lock a new file and write at the same time; this is checked before CURRENT
    moves, so such a write is refused instead of made unlocked.
    """
    key = Path(os.path.abspath(folder))
    with _held_guard:
        entry = _held.get(key)
    if entry is None or entry[0] != threading.get_ident():
        raise IndexStoreError(f"{folder} is not locked for writing")
    if not _same_file(entry[2], key / LOCK):
        raise IndexStoreError(
            f"the lock file {key / LOCK} was deleted or replaced while this process held "
            "it: another writer may be writing; nothing was saved, try again"
        )


@contextlib.contextmanager
def writing(folder: PathLike, notify: Callable[[str], None] = _say) -> Iterator[Path]:
    """Hold the index folder's write lock (``DIR/.lock``, an OS flock) for the block.

    Every change to an index (build, add, upload) runs under it, from reading the live
    generation to swapping CURRENT, so writers take turns; a writer that has to wait calls
    ``notify`` with who holds the lock (by default a line on stderr). The OS releases the
    lock of a killed process. Re-entrant in one thread. The folder is created if needed.
    Raises IndexStoreError on a file system without locks or an unusable lock file.
    """
    folder = Path(folder)
    key = Path(os.path.abspath(folder))
    me = threading.get_ident()
    with _held_guard:
        entry = _held.get(key)
        if entry is not None and entry[0] == me:
            _held[key] = (me, entry[1] + 1, entry[2])
            nested = True
        else:
            nested = False
    if nested:
        try:
            yield folder
        finally:
            with _held_guard:
                owner, depth, fd = _held[key]
                _held[key] = (owner, depth - 1, fd)
        return
    _check_writable_folder(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise IndexStoreError(f"cannot create {folder}: {exc.strerror or exc}") from exc
    fd = _lock_file(folder, notify)
    with _held_guard:
        _held[key] = (me, 1, fd)
    try:
        yield folder
    finally:
        with _held_guard:
            del _held[key]
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # releases the flock


def is_index_folder(folder: Path) -> bool:
    """True when ``folder`` holds a qa index (a CURRENT pointer)."""
    return (Path(folder) / CURRENT).is_file()


def _read_pointer(folder: Path) -> tuple[str, str | None]:
    """Return the generation name in CURRENT and its manifest's checksum (None if absent)."""
    pointer = folder / CURRENT
    try:
        parts = pointer.read_bytes().decode("utf-8").split()
    except UnicodeDecodeError as exc:
        raise IndexStoreError(f"{pointer} is damaged: it is not text") from exc
    except OSError as exc:
        raise IndexStoreError(f"cannot read {pointer}: {exc.strerror or exc}") from exc
    name = parts[0] if parts else ""
    checksum = parts[1] if len(parts) == 2 else None
    if len(parts) > 2 or (checksum is not None and not _SHA256.match(checksum)):
        raise IndexStoreError(f"{pointer} is damaged: it does not hold a name and a checksum")
    if not _GENERATION.match(name) or not (folder / name).is_dir():
        raise IndexStoreError(f"{pointer} is damaged: it names {name!r}, which is not there")
    return name, checksum


def read_pointer(folder: Path) -> bytes | None:
    """The raw content of CURRENT (None when unreadable): a cheap check for a new generation."""
    try:
        return (Path(folder) / CURRENT).read_bytes()
    except OSError:
        return None


def current_generation(folder: Path) -> Path:
    """Return the live generation folder of an index, or raise IndexStoreError."""
    folder = Path(folder)
    if not folder.exists():
        raise IndexStoreError(f"no index at {folder}: the folder does not exist")
    if not (folder / CURRENT).is_file():
        raise IndexStoreError(f"{folder} is not a qa index (no {CURRENT} file)")
    name, _ = _read_pointer(folder)
    return folder / name


def _check_writable_folder(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise IndexStoreError(f"cannot save index: {folder} is a file")
    if (
        folder.is_dir()
        and not is_index_folder(folder)
        and any(not child.name.startswith(".") for child in folder.iterdir())
    ):
        raise IndexStoreError(
            f"cannot save index into {folder}: it is not empty and is not a qa index"
        )


def write_generation(
    folder: Path, manifest: dict[str, Any], write_files: Callable[[Path], None]
) -> Path:
    """Atomically publish a new generation of the index in ``folder``.

    ``write_files(tmp)`` writes the data files into a temporary folder; the manifest,
    with the size and SHA-256 of every file, is added here. Older generations are removed
    once the new one is live (a reader still loading one retries on the new CURRENT). Runs
    under :func:`writing`, taken here unless the caller holds it. Raises IndexStoreError
    on any failure, leaving the previous generation untouched.
    """
    folder = Path(folder)
    _check_writable_folder(folder)
    try:
        with writing(folder):
            tmp = Path(tempfile.mkdtemp(prefix=".tmp-gen-", dir=folder))
            pointer_tmp = folder / f".{CURRENT}.tmp"
            target: Path | None = None
            live = False
            try:
                write_files(tmp)
                files = {}
                for path in sorted(p for p in tmp.rglob("*") if p.is_file()):
                    files[path.relative_to(tmp).as_posix()] = {
                        "size": path.stat().st_size,
                        "sha256": file_sha256(path),
                    }
                    with path.open("rb") as handle:
                        os.fsync(handle.fileno())
                manifest = dict(manifest, format_version=FORMAT_VERSION, files=files)
                manifest_path = tmp / MANIFEST
                manifest_path.write_text(
                    json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8"
                )
                with manifest_path.open("rb") as handle:
                    os.fsync(handle.fileno())
                fsync_path(tmp)
                target = folder / f"gen-{_next_generation_number(folder):06d}"
                os.rename(tmp, target)
                fsync_path(folder)
                pointer_tmp.write_text(
                    f"{target.name} {file_sha256(target / MANIFEST)}\n", encoding="utf-8"
                )
                with pointer_tmp.open("rb") as handle:
                    os.fsync(handle.fileno())
                check_still_locked(folder)
                os.replace(pointer_tmp, folder / CURRENT)
                live = True
                fsync_path(folder)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                if not live:
                    # A generation that never went live would only hold disk space (a full
                    # disk stays full): remove it with the unused pointer.
                    if target is not None:
                        shutil.rmtree(target, ignore_errors=True)
                    pointer_tmp.unlink(missing_ok=True)
                raise
            _remove_stale(folder, keep=target.name)
            return target
    except OSError as exc:
        raise IndexStoreError(f"cannot save index to {folder}: {exc.strerror or exc}") from exc
    except RuntimeError as exc:
        # faiss reports a failed write (a full disk) as RuntimeError; keep its last words.
        reason = str(exc).rsplit("failed: ", 1)[-1]
        raise IndexStoreError(f"cannot save index to {folder}: {reason}") from exc


def _next_generation_number(folder: Path) -> int:
    numbers = [
        int(match.group(1))
        for child in folder.iterdir()
        if (match := _GENERATION.match(child.name))
    ]
    return max(numbers, default=0) + 1


def _remove_stale(folder: Path, keep: str) -> None:
    for child in folder.iterdir():
        if child.name == keep:
            continue
        if _GENERATION.match(child.name) or child.name.startswith(".tmp-gen-"):
            shutil.rmtree(child, ignore_errors=True)


def read_manifest(generation: Path, verify: bool = True) -> dict[str, Any]:
    """Read a generation's manifest and check it and every listed file's size and checksum.

    The manifest is checked against the checksum in CURRENT when CURRENT names this
    generation and holds one. Raises IndexStoreError naming the first missing, truncated or
    altered file.
    """
    manifest_path = generation / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise IndexStoreError(f"{manifest_path} is missing") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexStoreError(f"{manifest_path} is damaged: {exc}") from exc
    if not isinstance(manifest, dict) or "format_version" not in manifest:
        raise IndexStoreError(f"{manifest_path} is damaged: no format version")
    version = manifest["format_version"]
    if isinstance(version, int) and version > FORMAT_VERSION:
        # A newer qa may protect its files differently: no other check applies.
        raise IndexStoreError(
            f"{manifest_path}: index format {version}, this qa reads format "
            f"{FORMAT_VERSION}; upgrade qa"
        )
    if verify:
        name, checksum = _read_pointer(generation.parent)
        if name == generation.name and checksum and file_sha256(manifest_path) != checksum:
            raise IndexStoreError(
                f"{manifest_path} is damaged: its checksum does not match the one in "
                f"{generation.parent / CURRENT}"
            )
    if version not in READABLE_FORMATS:
        raise IndexStoreError(
            f"{manifest_path}: index format {version}, this qa reads format "
            f"{FORMAT_VERSION}; rebuild the index"
        )
    if verify:
        files: Any = manifest.get("files")
        try:
            listed = [(str(name), int(e["size"]), str(e["sha256"])) for name, e in files.items()]
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise IndexStoreError(f"{manifest_path} is damaged: bad file list ({exc})") from exc
        for name, size, sha256 in listed:
            path = generation / name
            try:
                actual = path.stat().st_size if path.is_file() else None
                checksum = file_sha256(path) if actual == size else None
            except OSError as exc:  # removed by a writer meanwhile, or unreadable
                raise IndexStoreError(f"cannot read {path}: {exc.strerror or exc}") from exc
            if actual is None:
                raise IndexStoreError(f"{path} is missing from the index")
            if actual != size:
                raise IndexStoreError(f"{path} is damaged: {actual} bytes, expected {size}")
            if checksum != sha256:
                raise IndexStoreError(f"{path} is damaged: its checksum does not match")
    return manifest
