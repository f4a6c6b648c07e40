"""A real ``qa serve`` process for the web-app tests: free loopback port, private index root."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

STARTUP_SECONDS = 240


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_root(saved_report_index: Path, folder: Path) -> Path:
    """An index root holding a copy of the bundled report's index (never the repo's own)."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(saved_report_index, folder / "leping")
    return folder


@contextlib.contextmanager
def running_server(root: Path, workdir: Path, *args: str) -> Iterator[str]:
    """Start ``python -m qa.cli serve`` on a free port with QA_INDEX_ROOT=root; yield its URL.

    The server's output goes to ``workdir/server.log``, shown if it fails to start.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log_path = workdir / "server.log"
    env = dict(
        os.environ,
        QA_INDEX_ROOT=str(root),
        GRADIO_ANALYTICS_ENABLED="False",
        GRADIO_TEMP_DIR=str(workdir / "gradio-tmp"),
        HF_HUB_OFFLINE="1",
        PYTHONUNBUFFERED="1",
    )
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "qa.cli", "serve", "--port", str(port), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"qa serve exited early:\n{log_path.read_text()}")
            try:
                if httpx.get(url, timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"qa serve did not start:\n{log_path.read_text()}")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
