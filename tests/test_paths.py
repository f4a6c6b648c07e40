"""Paths: odd names, symlinks, 10,000 tiny files and one 200 MB file.

The measured times and memory of the last run are quoted in RELIABILITY.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import qa
from qa.chunking import chunk_text
from qa.encoders import DEFAULT_ENCODER, load_encoder
from qa.ingest import MAX_FILE_BYTES, collect_files, iter_documents, read_document


def run_qa(*args: str, root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qa.cli", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ, QA_INDEX_ROOT=str(root), HF_HUB_OFFLINE="1"),
        timeout=600,
    )


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under folder: files with size and modification time."""
    return {
        str(p.relative_to(folder)): (0, 0)
        if p.is_dir()
        else (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
    }


def test_odd_names_are_read_and_nothing_is_written_outside_the_index(tmp_path, reliability):
    docs = tmp_path / "政府 工作 文件"
    (docs / "sub..dir").mkdir(parents=True)
    (docs / "2021 年 报告.txt").write_text("全年地区生产总值完成353.26亿元。", encoding="utf-8")
    (docs / "a..b.md").write_text("# 交通\n\n新建公路88公里。", encoding="utf-8")
    (docs / "sub..dir" / "c .txt").write_text("新增学位3000个。", encoding="utf-8")
    (docs / ".hidden.txt").write_text("隐藏文件不应被读取。", encoding="utf-8")
    (docs / "..txt").write_text("以点开头的文件也是隐藏的。", encoding="utf-8")
    root = tmp_path / "root"
    root.mkdir()
    index = tmp_path / "索引 目录" / "idx"
    index.parent.mkdir()
    before = snapshot(tmp_path)

    # A folder, the same file again through "..", and an index path with ".." in it.
    again = docs / "sub..dir" / ".." / "a..b.md"
    via_dots = tmp_path / "索引 目录" / ".." / "索引 目录" / "idx"
    result = run_qa("build", str(docs), str(again), "--index", str(via_dots), root=root)
    assert result.returncode == 0, result.stderr
    assert "3 added" in result.stdout and "0 skipped" in result.stdout, result.stdout

    after = snapshot(tmp_path)
    changed = {name for name in after if after[name] != before.get(name)}
    assert changed and all(name.startswith("索引 目录/idx") for name in changed), changed
    assert not [name for name in before if name not in after]
    assert not list(root.iterdir())  # QA_INDEX_ROOT is not touched when --index is given

    loaded = qa.Index.load(index)
    sources = sorted(Path(s.source).relative_to(docs).as_posix() for s in loaded.sources)
    assert sources == ["2021 年 报告.txt", "a..b.md", "sub..dir/c .txt"]
    result = run_qa("ask", "新建了多少公路？", "--index", str(index), "--json", root=root)
    assert result.returncode == 0, result.stderr
    top = json.loads(result.stdout)[0]
    assert top["source"] == str((docs / "a..b.md").resolve()) and top["section"] == "交通"
    reliability["odd path names indexed (Chinese, spaces, '..')"] += 5


def test_symlinks_inside_the_folder_are_read_once_and_loops_end(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "real.txt").write_text("水库蓄水量达到1.2亿立方米。", encoding="utf-8")
    (docs / "alias.txt").symlink_to("real.txt")
    (docs / "loop").symlink_to(docs, target_is_directory=True)
    (docs / "dangling.txt").symlink_to(tmp_path / "gone.txt")
    files = collect_files([docs])
    assert len(files) == 1 and files[0].resolve() == (docs / "real.txt").resolve()
    index = qa.Index(load_encoder(DEFAULT_ENCODER))
    report = index.add([docs])
    assert len(index.sources) == 1 and not report.skipped


def test_a_symlink_out_of_the_folder_is_not_read(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    outside = tmp_path / "private"
    outside.mkdir()
    (outside / "secret.txt").write_text("这是文件夹之外的私人文件。", encoding="utf-8")
    (docs / "notes.txt").write_text("会议定于周一召开。", encoding="utf-8")
    (docs / "link.txt").symlink_to(outside / "secret.txt")
    files = collect_files([docs])
    assert all(f.resolve().is_relative_to(docs.resolve()) for f in files), files


TINY_FILES = 10_000
EMBEDDED_SAMPLE = 300


def test_ten_thousand_tiny_files(tmp_path, reliability):
    docs = tmp_path / "many"
    docs.mkdir()
    for n in range(TINY_FILES):
        (docs / f"通知 {n:05d}.txt").write_text(
            f"第{n}号通知：会议定于{n % 28 + 1}日召开。", encoding="utf-8"
        )

    started = time.perf_counter()
    files = collect_files([docs])
    collected = time.perf_counter()
    skipped: list = []
    passages = [p for d in iter_documents(files, skipped) for p in chunk_text(d.text, d.source)]
    chunked = time.perf_counter()
    assert len(files) == TINY_FILES and not skipped
    assert len(passages) == TINY_FILES and len({p.source for p in passages}) == TINY_FILES

    # Embedding all 10,000 would take minutes on a busy machine: embed a sample, and
    # extrapolate in RELIABILITY.md.
    index = qa.Index(load_encoder(DEFAULT_ENCODER))
    sample = files[:EMBEDDED_SAMPLE]
    embed_started = time.perf_counter()
    report = index.add(sample)
    embedded = time.perf_counter()
    assert len(report.added) == EMBEDDED_SAMPLE and len(index) == EMBEDDED_SAMPLE
    top = index.search("第123号通知", k=1, mode="keyword")[0]
    assert top.text.startswith("第123号通知")

    reliability["tiny files collected, read and chunked"] += TINY_FILES
    reliability["tiny files embedded (sample)"] += EMBEDDED_SAMPLE
    reliability["10,000 tiny files: collect ms"] += round(1000 * (collected - started))
    reliability["10,000 tiny files: read + chunk ms"] += round(1000 * (chunked - collected))
    reliability["300 tiny files: read + chunk + embed ms"] += round(
        1000 * (embedded - embed_started)
    )
    assert chunked - started < 120


MEMORY_PROBE = r"""
import json, resource, sys, time
from qa.chunking import chunk_text
from qa.ingest import read_document

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

baseline = peak_mb()
started = time.perf_counter()
document = read_document(sys.argv[1])
after_read = peak_mb()
passages = chunk_text(document.text, document.source)
print(json.dumps({
    "baseline_mb": baseline,
    "after_read_mb": after_read,
    "peak_mb": peak_mb(),
    "passages": len(passages),
    "characters": sum(len(p.text) for p in passages),
    "seconds": time.perf_counter() - started,
}))
"""

BIG_FILE_BYTES = 200 * 1024 * 1024
# Peak resident memory allowed for reading and chunking the 200 MB file in one process.
# Measured about 900 MB (see RELIABILITY.md): read_document holds the whole file (bytes,
# then text) and chunk_text returns every passage at once, so memory grows with the file.
BIG_FILE_PEAK_MB = 1200


@pytest.mark.slow
def test_a_200_mb_text_file_chunks_within_the_stated_memory(tmp_path, reliability):
    report = qa.BUNDLED_REPORT.read_text(encoding="utf-8")
    big = tmp_path / "big.txt"
    written = 0
    with big.open("w", encoding="utf-8") as handle:
        copy = 0
        while written < BIG_FILE_BYTES:
            block = f"第{copy}部分\n\n{report}\n"
            handle.write(block)
            written += len(block.encode("utf-8"))
            copy += 1
    result = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, str(big)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr
    measured = json.loads(result.stdout)
    assert measured["passages"] > 100_000
    reliability["200 MB file: peak MB"] += round(measured["peak_mb"])
    reliability["200 MB file: MB after reading, before chunking"] += round(
        measured["after_read_mb"]
    )
    reliability["200 MB file: read + chunk seconds"] += round(measured["seconds"])
    reliability["200 MB file: passages"] += measured["passages"]
    assert measured["peak_mb"] < BIG_FILE_PEAK_MB, measured


def test_a_file_over_the_size_limit_is_refused_without_reading_it(tmp_path):
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)  # sparse: no disk space used
    started = time.perf_counter()
    with pytest.raises(qa.DocumentError, match="too large"):
        read_document(huge)
    assert time.perf_counter() - started < 1
