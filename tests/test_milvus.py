"""The Milvus store against milvus-lite (a local file, no server): qa.milvus_store and --store."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("pymilvus", reason="the Milvus store needs pymilvus: pip install 'qa[milvus]'")
pytest.importorskip("milvus_lite", reason="the Milvus store tests need milvus-lite (pip package)")

import qa  # noqa: E402
from qa import milvus_store  # noqa: E402
from qa.cli import main  # noqa: E402
from qa.milvus_store import MilvusIndex, parse_store_uri  # noqa: E402

REPORT_LIKE = """# 乐平市概况

乐平市位于江西省东北部，是景德镇市代管的县级市。全市面积1973平方公里，户籍人口90万。2020年地区生产总值增长4.5%。

## 教育

教育投入大幅增加，全年新建学校三所。教师队伍不断壮大。家庭医生履约率100%。

## 交通

高铁站建成通车。农村公路新改建120公里。城市公交线路新增5条。
"""
PORCELAIN = "景德镇以瓷器闻名。这里有千年窑火。陶瓷产业是支柱产业，年产值超过百亿元。"
QUESTIONS = ("乐平市面积多大？", "新建了几所学校？", "景德镇的支柱产业是什么？")


def write_docs(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "leping.md").write_text(REPORT_LIKE, encoding="utf-8")
    (folder / "porcelain.txt").write_text(PORCELAIN, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_docs(tmp_path_factory.mktemp("docs"))


@pytest.fixture(scope="module")
def faiss_index(docs: Path) -> qa.Index:
    return qa.Index.build([docs])


@pytest.fixture(scope="module")
def store_uri(docs: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    uri = f"milvus-lite:{tmp_path_factory.mktemp('milvus') / 'store.db'}"
    MilvusIndex.build([docs], uri=uri)
    return uri


@pytest.fixture(scope="module")
def store(store_uri: str) -> MilvusIndex:
    return MilvusIndex.load(store_uri)


def test_store_holds_what_the_faiss_index_holds(store, faiss_index):
    assert store.passages == faiss_index.passages
    assert store.sources == faiss_index.sources
    assert len(store) == len(faiss_index) == len(faiss_index.passages)
    assert (store.encoder.name, store.settings, store.tokenizer) == (
        faiss_index.encoder.name,
        faiss_index.settings,
        faiss_index.tokenizer,
    )


@pytest.mark.parametrize("mode", qa.MODES)
def test_search_matches_the_faiss_store_in_every_mode(store, faiss_index, mode):
    for question in QUESTIONS:
        expected = faiss_index.search(question, k=3, mode=mode)
        got = store.search(question, k=3, mode=mode)
        if mode == "keyword":  # the FAISS store fills up with passages that scored 0
            expected = [hit for hit in expected if hit.score > 0]
        assert [(h.text, h.sentence, h.sentence_start) for h in got] == [
            (h.text, h.sentence, h.sentence_start) for h in expected
        ]
        assert [h.score for h in got] == pytest.approx([h.score for h in expected], abs=1e-3)
        for hit in got:
            assert isinstance(hit, qa.Hit)
            assert hit.text[hit.sentence_start : hit.sentence_end] == hit.sentence
            assert hit.source.endswith((".md", ".txt"))


@pytest.mark.parametrize("mode", qa.MODES)
def test_ask_matches_the_faiss_store_in_one_round_of_searches(
    store, faiss_index, mode, monkeypatch
):
    calls: list[str] = []
    real_call = store._call

    def counting(method, *args, **kwargs):
        calls.append(method)
        return real_call(method, *args, **kwargs)

    store._baseline()  # the verdict's baseline is made once per version of the store
    monkeypatch.setattr(store, "_call", counting)
    for question in (*QUESTIONS, "How do I bake bread?"):
        expected = faiss_index.ask(question, k=3, mode=mode)
        calls.clear()
        got = store.ask(question, k=3, mode=mode)
        # BM25, passage vectors, windows, then the passages: no second search for the verdict.
        assert calls == ["search", "search", "search", "get"], calls
        assert isinstance(got, qa.Answer)
        assert got.found == expected.found
        assert got.confidence == pytest.approx(expected.confidence, abs=1e-3)
        scored = [h for h in got.hits if h.score > 0 or mode != "keyword"]
        # In keyword mode passages that scored 0 tie, in each store's own order.
        assert [h.text for h in scored] == [h.text for h in expected.hits[: len(scored)]]
        assert got.answer == got.hits[0]


def test_the_verdict_does_not_depend_on_k_or_mode_and_fetches_passages_once(store, monkeypatch):
    calls: list[str] = []
    real_call = store._call

    def counting(method, *args, **kwargs):
        calls.append(method)
        return real_call(method, *args, **kwargs)

    store._baseline()
    monkeypatch.setattr(store, "_call", counting)
    for question in (*QUESTIONS, "How do I bake bread?"):
        judged = store.ask(question)
        for k, mode in ((1, "hybrid"), (2, "dense"), (1, "keyword"), (5, "keyword")):
            calls.clear()
            answer = store.ask(question, k=k, mode=mode)
            assert (answer.found, answer.confidence) == (judged.found, judged.confidence)
            assert calls.count("get") == 1, calls  # the verdict's passages come along


def test_the_verdict_baseline_is_made_once_and_matches_the_faiss_one(store, faiss_index):
    store._verdict_baseline = None
    first = store._baseline()
    assert store._baseline() is first
    assert first.medians.keys() == {"han", "latin"}
    expected = faiss_index._baseline(faiss_index._contents)
    for script, medians in expected.medians.items():
        assert first.medians[script] == pytest.approx(medians, abs=1e-4)


def test_a_reloaded_store_answers_from_its_recorded_baseline(tmp_path, monkeypatch):
    uri = f"milvus-lite:{tmp_path / 'store.db'}"
    folder = write_docs(tmp_path / "docs")
    MilvusIndex.build([folder], uri=uri).ask("乐平市面积多大？")  # computes and records it
    reopened = MilvusIndex.load(uri)
    assert reopened._verdict_baseline is not None
    calls: list[str] = []
    real_call = reopened._call

    def counting(method, *args, **kwargs):
        calls.append(method)
        return real_call(method, *args, **kwargs)

    monkeypatch.setattr(reopened, "_call", counting)
    assert reopened.ask("乐平市面积多大？").found in (True, False)
    assert calls == ["search", "search", "search", "get"], calls
    monkeypatch.undo()

    (folder / "new.txt").write_text("新建公路88公里。", encoding="utf-8")
    reopened.add([folder])
    assert reopened._verdict_baseline is None  # a write forgets it
    assert MilvusIndex.load(uri)._verdict_baseline is None  # the record names other sources


def test_milvus_side_fusion_makes_no_judgement(store):
    store.fusion = "milvus"
    try:
        answer = store.ask("乐平市面积多大？", k=3)
    finally:
        store.fusion = "qa"
    assert answer.found is None and answer.confidence is None
    assert answer.hits and "1973平方公里" in answer.answer.text


def test_answers_and_sections(store):
    hit = store.search("乐平市面积多大？", k=1)[0]
    assert "1973平方公里" in hit.text
    assert hit.section == "乐平市概况"
    assert hit.paragraph == 1
    school = store.search("新建了几所学校？", k=1, mode="dense")[0]
    assert school.section == "乐平市概况 > 教育"


def test_milvus_side_fusion_returns_the_same_kind_of_hits(store):
    store.fusion = "milvus"
    try:
        hits = store.search("乐平市面积多大？", k=3)
    finally:
        store.fusion = "qa"
    assert hits and "1973平方公里" in hits[0].text
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert all(h.text[h.sentence_start : h.sentence_end] == h.sentence for h in hits)


def test_bad_questions_are_refused(store):
    with pytest.raises(qa.QueryError):
        store.search("   ")
    with pytest.raises(qa.QueryError):
        store.search("问题", mode="fuzzy")
    with pytest.raises(ValueError):
        store.search("问题", k=0)


def test_unchanged_files_are_skipped_and_changed_files_replaced(tmp_path):
    folder = write_docs(tmp_path / "docs")
    uri = f"milvus-lite:{tmp_path / 'update.db'}"
    index = MilvusIndex.build([folder], uri=uri)
    first = len(index)
    report = index.add([folder])
    assert not report.changed and len(report.unchanged) == 2
    assert len(index) == first

    (folder / "porcelain.txt").write_text(
        "景德镇的新产业是数字经济。软件园今年开园。", encoding="utf-8"
    )
    (folder / "new.txt").write_text("浮梁县产茶。茶叶远销海外。", encoding="utf-8")
    (folder / "same.txt").write_text(REPORT_LIKE, encoding="utf-8")
    report = MilvusIndex.load(uri).add([folder])
    assert [Path(s).name for s in report.replaced] == ["porcelain.txt"]
    assert [Path(s).name for s in report.added] == ["new.txt"]
    assert [Path(s).name for s in report.unchanged] == ["leping.md"]
    assert [s.reason.startswith("same content as") for s in report.skipped] == [True]

    reference = qa.Index.build([folder])
    reopened = MilvusIndex.load(uri)
    assert len(reopened) == len(reference)
    assert sorted(reopened.passages, key=repr) == sorted(reference.passages, key=repr)
    texts = [h.text for h in reopened.search("景德镇的新产业是什么？", k=5)]
    assert any("数字经济" in text for text in texts)
    sources = {Path(s.source).name: s for s in reopened.sources}
    assert sources["porcelain.txt"].passages == 1
    assert list(sources) == ["leping.md", "new.txt", "porcelain.txt"]  # replaced: last


def test_an_error_mid_insert_is_one_clear_error_and_a_rerun_finishes(tmp_path, monkeypatch):
    folder = write_docs(tmp_path / "docs")
    uri = f"milvus-lite:{tmp_path / 'broken.db'}"
    index = MilvusIndex.create(uri)
    monkeypatch.setattr(milvus_store, "INSERT_BATCH", 2)
    real_insert = index._client.insert
    calls = []

    def flaky_insert(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("node went away")
        return real_insert(*args, **kwargs)

    monkeypatch.setattr(index._client, "insert", flaky_insert)
    with pytest.raises(qa.IndexStoreError, match="Milvus insert .* failed: node went away"):
        index.add([folder])
    assert index.sources == []  # nothing recorded: the rows in already count for nothing
    monkeypatch.undo()

    report = MilvusIndex.load(uri).add([folder])
    assert len(report.added) == 2
    reference = qa.Index.build([folder])
    again = MilvusIndex.load(uri)
    assert len(again) == len(reference)  # no row twice
    assert again.passages == reference.passages


def test_another_encoder_is_a_clear_error(store_uri, docs):
    with pytest.raises(
        qa.IndexStoreError, match="built with encoder 'multilingual-e5-small', not 'other-model'"
    ):
        MilvusIndex.load(store_uri, model="other-model")
    with pytest.raises(qa.IndexStoreError, match="built with encoder 'multilingual-e5-small'"):
        MilvusIndex.build([docs], model="other-model", uri=store_uri)
    with pytest.raises(qa.IndexStoreError, match="other chunking or tokenizer"):
        MilvusIndex.create(store_uri, tokenizer="jieba")


def test_a_dimension_mismatch_is_a_clear_error(store, store_uri):
    name = parse_store_uri(store_uri).collection
    store._client.alter_collection_properties(name, {"qa.dim": "7"})
    try:
        with pytest.raises(qa.IndexStoreError, match="7-dimensional vectors"):
            MilvusIndex.load(store_uri)
    finally:
        store._client.alter_collection_properties(name, {"qa.dim": str(store.encoder.dim)})
    assert len(MilvusIndex.load(store_uri)) == len(store)


def test_a_wrong_collection_is_a_clear_error(store, store_uri):
    with pytest.raises(qa.IndexStoreError, match=r"no qa index .*'nothere'.*qa indexes there: qa"):
        MilvusIndex.load(f"{store_uri}#nothere")
    client = store._client
    schema = client.create_schema(auto_id=False)
    pymilvus = pytest.importorskip("pymilvus")
    schema.add_field("pk", pymilvus.DataType.INT64, is_primary=True)
    schema.add_field("v", pymilvus.DataType.FLOAT_VECTOR, dim=2)
    params = client.prepare_index_params()
    params.add_index("v", index_type="FLAT", metric_type="L2")
    client.create_collection("foreign", schema=schema, index_params=params)
    client.insert("foreign", [{"pk": 1, "v": [0.5, 0.5]}])
    for action in (
        lambda: MilvusIndex.load(f"{store_uri}#foreign"),
        lambda: MilvusIndex.create(f"{store_uri}#foreign", replace=True),
    ):
        with pytest.raises(qa.IndexStoreError, match="'foreign' is not a qa passages collection"):
            action()
    assert client.query("foreign", filter="", output_fields=["count(*)"])[0]["count(*)"] == 1


def test_a_missing_lite_file_is_not_created_by_load(tmp_path):
    path = tmp_path / "absent.db"
    with pytest.raises(qa.IndexStoreError, match="does not exist"):
        MilvusIndex.load(f"milvus-lite:{path}")
    assert not path.exists()


def test_an_unreachable_server_fails_fast():
    start = time.monotonic()
    with pytest.raises(qa.IndexStoreError, match="cannot open Milvus at milvus://127.0.0.1:1/x"):
        MilvusIndex.load("milvus://127.0.0.1:1/x")
    assert time.monotonic() - start < 15


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("milvus-lite:store", "ends in .db"),
        ("milvus://user:secret@127.0.0.1:19530/qa", "credentials do not belong in the URI"),
        ("milvus://127.0.0.1:19530/bad-name", "not a valid collection name"),
        ("postgres://127.0.0.1/qa", "not a store URI"),
    ],
)
def test_bad_uris_are_refused(uri, message):
    with pytest.raises(qa.IndexStoreError, match=message):
        parse_store_uri(uri)


def test_store_uris_are_parsed():
    server = parse_store_uri("milvus://10.0.0.5:19531/reports")
    assert (server.client_uri, server.collection) == ("http://10.0.0.5:19531", "reports")
    assert server.windows == "reports_windows" and server.source_table == "reports_sources"
    assert parse_store_uri("milvus+https://db.example").client_uri == "https://db.example:19530"
    lite = parse_store_uri("milvus-lite:some/where.db#mine")
    assert lite.lite_path == Path("some/where.db").resolve() and lite.collection == "mine"


def test_cli_build_ask_and_eval_with_store(tmp_path, docs, capsys):
    uri = f"milvus-lite:{tmp_path / 'cli.db'}"
    assert main(["build", str(docs), "--store", uri, "--tokenizer", "jieba"]) == 0
    out = capsys.readouterr().out
    assert "passages from 2 files (2 added, 0 replaced, 0 unchanged, 0 skipped)" in out
    assert main(["build", str(docs), "--store", uri, "--tokenizer", "jieba"]) == 0
    assert "(0 added, 0 replaced, 2 unchanged, 0 skipped)" in capsys.readouterr().out
    assert MilvusIndex.load(uri).tokenizer == "jieba"

    assert main(["ask", "乐平市面积多大？", "--store", uri, "-k", "2", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert set(answer) == {"question", "found", "confidence", "answer", "hits", "time"}
    hits = answer["hits"]
    assert len(hits) == 2 and "1973平方公里" in hits[0]["text"] and answer["answer"] == hits[0]
    assert main(["ask", "景德镇产业", "--store", uri, "--mode", "keyword", "--json"]) == 0
    assert "陶瓷产业" in json.loads(capsys.readouterr().out)["hits"][0]["text"]

    questions = tmp_path / "q.tsv"
    questions.write_text("keyword\t乐平市面积多大？\t全市面积1973平方公里\n", encoding="utf-8")
    assert main(["eval", str(questions), "--store", uri, "--mode", "dense", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["overall"]["R@1"] == 1.0

    squad = tmp_path / "squad.json"
    squad.write_text(
        json.dumps(
            {
                "data": [
                    {
                        "title": "t",
                        "paragraphs": [
                            {
                                "context": PORCELAIN,
                                "qas": [{"id": "a", "question": "景德镇以什么闻名？"}],
                            },
                            {
                                "context": REPORT_LIKE,
                                "qas": [{"id": "b", "question": "乐平市面积？"}],
                            },
                        ],
                    }
                ]
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    squad_uri = f"milvus-lite:{tmp_path / 'squad.db'}"
    assert main(["eval", str(squad), "--store", squad_uri, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["overall"]["R@1"] == 1.0
    assert len(MilvusIndex.load(squad_uri).sources) == 2

    assert main(["ask", "问题", "--store", uri, "--index", str(tmp_path)]) == 2
    assert "give --index or --store, not both" in capsys.readouterr().err
    assert main(["ask", "问题", "--store", f"{uri}#missing"]) == 2
    assert "qa: error: no qa index" in capsys.readouterr().err


def test_cli_reports_an_unreachable_store_in_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "qa.cli", "ask", "问题", "--store", "milvus://127.0.0.1:1/x"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("qa: error: cannot open Milvus at milvus://127.0.0.1:1/x")
    assert "Traceback" not in result.stderr


def test_copy_from_a_faiss_index_needs_no_embedding(tmp_path, faiss_index, monkeypatch):
    uri = f"milvus-lite:{tmp_path / 'copy.db'}"
    index = MilvusIndex.create(uri)

    def no_embedding(*args, **kwargs):
        raise AssertionError("copy_from must not embed")

    monkeypatch.setattr(index.encoder, "encode_passages", no_embedding)
    report = index.copy_from(faiss_index)
    assert len(report.added) == 2
    assert index.passages == faiss_index.passages
    question = QUESTIONS[0]
    assert [h.text for h in index.search(question, k=3)] == [
        h.text for h in faiss_index.search(question, k=3)
    ]
    assert index.copy_from(faiss_index).unchanged == [s.source for s in faiss_index.sources]


def test_whole_collections_are_read_in_ranges(store, faiss_index, monkeypatch):
    monkeypatch.setattr(milvus_store, "QUERY_RANGE_ROWS", 2)
    monkeypatch.setattr(milvus_store, "MAX_QUERY_ROWS", 2)  # every range comes back full
    assert store.passages == faiss_index.passages
    assert store.sources == faiss_index.sources


def write_paged_pdf(path: Path) -> None:
    """A two-page PDF (reportlab, WenQuanYi font) whose second page holds the answer."""
    font = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
    if not font.is_file():
        pytest.skip("fonts-wqy-zenhei is not installed")
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont("WQY", str(font), subfontIndex=0))
    pdf = canvas.Canvas(str(path))
    for line in ("市人民政府向大会报告工作，请予审议。", "全年地区生产总值完成353.26亿元。"):
        pdf.setFont("WQY", 12)
        pdf.drawString(72, 700, line)
        pdf.showPage()
    pdf.save()


def test_pages_are_kept_and_a_store_made_before_pages_still_loads(tmp_path, monkeypatch):
    docs = write_docs(tmp_path / "docs")
    write_paged_pdf(docs / "report.pdf")
    uri = f"milvus-lite:{tmp_path / 'pages.db'}"
    MilvusIndex.build([docs], uri=uri).close()
    store = MilvusIndex.load(uri)
    try:
        hit = store.search("地区生产总值完成多少？", k=1)[0]
        assert (Path(hit.source).name, hit.page, hit.last_page) == ("report.pdf", 2, 2)
        assert {p.page for p in store.passages} == {None, 1, 2}
        assert (
            hit.to_dict()
            == qa.Index.build([docs]).search("地区生产总值完成多少？", k=1)[0].to_dict()
        )
    finally:
        store.close()

    # A store made before passages had pages: no page fields in its collection.
    original = MilvusIndex._create_collections

    def without_pages(self: MilvusIndex) -> None:
        self._has_pages = False
        original(self)

    old_uri = f"milvus-lite:{tmp_path / 'old.db'}"
    with monkeypatch.context() as patch:
        patch.setattr(MilvusIndex, "_create_collections", without_pages)
        MilvusIndex.build([docs / "leping.md"], uri=old_uri).close()
    old = MilvusIndex.load(old_uri)
    try:
        old.add([docs / "report.pdf"])  # rows without the page fields it does not have
        hit = old.search("地区生产总值完成多少？", k=1)[0]
        assert (Path(hit.source).name, hit.page) == ("report.pdf", None)
    finally:
        old.close()


TWO_YEARS = """政府工作报告
（2021年4月13日在市人民代表大会上）

一、2020年工作回顾

全年新开工重点项目30个，完成投资97.1亿元。

二、2021年工作安排

力争全年新开工重点项目67个以上，完成投资120亿元。
"""


def test_time_dates_and_scripts_are_the_faiss_store_s(tmp_path):
    # The same annotations, the same time reading and answers, and a date set by the user
    # moves the store's answers as it moves the FAISS index's.
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "report.txt").write_text(TWO_YEARS, encoding="utf-8")
    (docs / "english.txt").write_text("The city opened 30 new projects.", encoding="utf-8")
    uri = f"milvus-lite:{tmp_path / 'store.db'}"
    store = MilvusIndex.build([docs], uri=uri)
    index = qa.Index.build([docs])
    assert {(s.date, s.date_origin) for s in store.sources} == {
        ("2021-04-13", "text"),
        (None, None),
    }
    key = lambda p: (p.source, p.paragraph, p.text)  # noqa: E731
    assert sorted(store.passages, key=key) == sorted(index.passages, key=key)  # annotated too
    for question in ("去年新开工了多少个重点项目？", "今年计划新开工多少个重点项目？"):
        got, expected = store.ask(question), index.ask(question)
        assert got.answer.text == expected.answer.text
        assert got.time == expected.time and got.found == expected.found
    assert "30个" in store.ask("去年新开工了多少个重点项目？").answer.sentence
    store.set_date("report.txt", "2022")
    moved = MilvusIndex.load(uri)  # kept in the store
    assert next(s for s in moved.sources if s.source.endswith("report.txt")).date == "2022"
    assert moved.ask("去年新开工了多少个重点项目？").time.period == "2021"
    with pytest.raises(qa.DocumentError, match="not a date"):
        moved.set_date("report.txt", "soon")
