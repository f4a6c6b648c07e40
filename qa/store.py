"""The on-disk index folder: atomic generations, a manifest, and checksums of every file.

Layout of an index folder::

    DIR/CURRENT            name of the live generation, replaced atomically
    DIR/gen-000007/        one complete, immutable generation
        manifest.json      format version, encoder, settings, sources, file checksums
        ...                data files written by the index
    DIR/.lock              held while a save runs

A save writes a new generation in a temporary folder, renames it into place and only then
points CURRENT at it, so a crash at any moment leaves the previous generation live.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from qa.errors import IndexStoreError
from qa.ingest import file_sha256

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CURRENT = "CURRENT"
_GENERATION = re.compile(r"^gen-(\d{6,})$")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    with (folder / ".lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise IndexStoreError(f"{folder}: another process is saving this index") from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def is_index_folder(folder: Path) -> bool:
    """True when ``folder`` holds a qa index (a CURRENT pointer)."""
    return (Path(folder) / CURRENT).is_file()


def current_generation(folder: Path) -> Path:
    """Return the live generation folder of an index, or raise IndexStoreError."""
    folder = Path(folder)
    if not folder.exists():
        raise IndexStoreError(f"no index at {folder}: the folder does not exist")
    pointer = folder / CURRENT
    if not pointer.is_file():
        raise IndexStoreError(f"{folder} is not a qa index (no {CURRENT} file)")
    name = pointer.read_text(encoding="utf-8").strip()
    if not _GENERATION.match(name) or not (folder / name).is_dir():
        raise IndexStoreError(f"{pointer} is damaged: it names {name!r}, which is not there")
    return folder / name


def write_generation(
    folder: Path, manifest: dict[str, Any], write_files: Callable[[Path], None]
) -> Path:
    """Atomically publish a new generation of the index in ``folder``.

    ``write_files(tmp)`` writes the data files into a temporary folder; the manifest,
    with the size and SHA-256 of every file, is added here. Older generations are removed
    once the new one is live. Raises IndexStoreError on any failure, leaving the previous
    generation untouched.
    """
    folder = Path(folder)
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
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with _locked(folder):
            tmp = Path(tempfile.mkdtemp(prefix=".tmp-gen-", dir=folder))
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
                _fsync_dir(tmp)
                target = folder / f"gen-{_next_generation_number(folder):06d}"
                os.rename(tmp, target)
                _fsync_dir(folder)
                pointer_tmp = folder / f".{CURRENT}.tmp"
                pointer_tmp.write_text(target.name + "\n", encoding="utf-8")
                with pointer_tmp.open("rb") as handle:
                    os.fsync(handle.fileno())
                os.replace(pointer_tmp, folder / CURRENT)
                _fsync_dir(folder)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            _remove_stale(folder, keep=target.name)
            return target
    except OSError as exc:
        raise IndexStoreError(f"cannot save index to {folder}: {exc.strerror or exc}") from exc


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
    """Read a generation's manifest and check every listed file's size and checksum.

    Raises IndexStoreError naming the first missing, truncated or altered file.
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
    if version != FORMAT_VERSION:
        newer = isinstance(version, int) and version > FORMAT_VERSION
        raise IndexStoreError(
            f"{generation.parent} has index format {version}, this qa reads format "
            f"{FORMAT_VERSION}" + ("; upgrade qa" if newer else "; rebuild the index")
        )
    if verify:
        for name, expected in manifest.get("files", {}).items():
            path = generation / name
            if not path.is_file():
                raise IndexStoreError(f"{path} is missing from the index")
            size = path.stat().st_size
            if size != expected["size"]:
                raise IndexStoreError(
                    f"{path} is damaged: {size} bytes, expected {expected['size']}"
                )
            if file_sha256(path) != expected["sha256"]:
                raise IndexStoreError(f"{path} is damaged: its checksum does not match")
    return manifest
