"""What a question means, through Index.ask: its time against each document's date, its
language in the fusion, and the facts the answer line reads without tagging."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import qa
from qa import ranking
from qa.candidates import Candidates, PassageTraits
from qa.chunking import Passage
from qa.cli import main
from qa.question import read_question

LAST_YEAR = "全市30个重点项目竣工投产"  # 2020, under 一、2020年工作…回顾
THIS_YEAR = "力争全年新开工项目67个以上"  # 2021, under 三、2021年工作安排
REPORT_TWO_YEARS = """政府工作报告
（2021年4月13日在市人民代表大会上）

一、2020年工作回顾

全年新开工重点项目30个，完成投资97.1亿元。

二、2021年工作安排

力争全年新开工重点项目67个以上，完成投资120亿元。
"""


def test_last_year_is_read_against_the_document_s_date(report_index):
    answer = report_index.ask("去年新开工了哪些重点项目？")
    assert LAST_YEAR in answer.answer.text
    assert answer.found is True
    assert answer.time.describe() == "去年 → 2020年" and answer.time.reference == "2021-04-13"
    assert answer.to_dict()["time"]["period"] == "2020"
    plan = report_index.ask("今年计划新开工多少个项目？")
    assert THIS_YEAR in plan.answer.text and plan.time.period == "2021"


def test_a_question_without_time_ranks_as_the_number_and_word_scores_say(report_index):
    # No time, no time share: the scores are those of the fusion and the priors alone.
    question = read_question("家庭医生履约率是多少？")
    assert question.time is None
    contents = report_index._contents
    candidates = report_index._candidates(contents, question, "all")
    assert ranking.time_fit(question, candidates) is None


def test_a_question_that_asks_for_a_plan_prefers_the_plan(report_index):
    # No year named, but 计划 asks for targets: the 2021 plan, not the 2020 results.
    answer = report_index.ask("计划新开工多少个项目？")
    assert answer.time is not None and answer.time.stance == "targets"
    assert answer.time.describe() == "问的是计划目标"
    assert THIS_YEAR in answer.answer.text
    done = report_index.ask("已经竣工投产了多少个重点项目？")
    assert done.time.stance == "results" and LAST_YEAR in done.answer.text


def _write(folder: Path, text: str, name: str = "report.txt") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_a_document_without_a_date_ranks_exactly_as_without_time(tmp_path):
    undated = REPORT_TWO_YEARS.replace("（2021年4月13日在市人民代表大会上）\n", "")
    index = qa.Index.build([_write(tmp_path / "docs", undated)])
    assert index.sources[0].date is None
    with_time = index.ask("去年新开工了多少个重点项目？")
    assert with_time.time is not None and with_time.time.period is None  # cannot be told
    assert with_time.time.describe() == "去年 → 无法确定（文档没有日期）"
    question = read_question("去年新开工了多少个重点项目？")
    contents = index._contents
    assert ranking.time_fit(question, index._candidates(contents, question, "all")) is None


def test_a_date_set_by_the_user_changes_what_last_year_means(tmp_path):
    index = qa.Index.build([_write(tmp_path / "docs", REPORT_TWO_YEARS)])
    assert (index.sources[0].date, index.sources[0].date_origin) == ("2021-04-13", "text")
    assert "30个" in index.ask("去年新开工了多少个重点项目？").answer.sentence
    # Said to be from 2022, the same question asks about 2021: the plan's passage; a plan is
    # not a result, so the verdict does not call it an answer.
    info = index.set_date("report.txt", "2022-03-01")
    assert (info.date, info.date_origin) == ("2022-03-01", "user")
    moved = index.ask("去年新开工了多少个重点项目？")
    assert moved.time.period == "2021" and "67个" in moved.answer.sentence
    index.save(tmp_path / "index")
    loaded = qa.Index.load(tmp_path / "index")
    assert loaded.sources[0].date == "2022-03-01"
    assert loaded.ask("去年新开工了多少个重点项目？").time.period == "2021"
    assert loaded.set_date("report.txt", "auto").date == "2021-04-13"
    assert loaded.set_date("report.txt", None).date is None


def test_a_date_that_is_not_one_or_a_document_not_indexed_is_one_clear_error(tmp_path):
    index = qa.Index.build([_write(tmp_path / "docs", REPORT_TWO_YEARS)])
    with pytest.raises(qa.DocumentError, match="not a date") as error:
        index.set_date("report.txt", "last Tuesday")
    assert error.value.kind == "date"
    with pytest.raises(qa.DocumentError, match="not a real date"):
        index.set_date("report.txt", "2021-02-30")
    with pytest.raises(qa.DocumentError, match="no document") as error:
        index.set_date("other.txt", "2021")
    assert error.value.kind == "not_indexed"


def test_the_cli_lists_dates_and_sets_one(tmp_path, capsys):
    docs = _write(tmp_path / "docs", REPORT_TWO_YEARS)
    folder = tmp_path / "index"
    assert main(["build", str(docs), "--index", str(folder)]) == 0
    capsys.readouterr()
    assert main(["documents", "--index", str(folder), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(d["date"], d["date_origin"]) for d in listed] == [("2021-04-13", "text")]
    assert main(["date", "report.txt", "2022", "--index", str(folder)]) == 0
    assert "dated 2022 (user)" in capsys.readouterr().out
    assert main(["documents", "--index", str(folder)]) == 0
    assert "2022 (user)" in capsys.readouterr().out
    assert main(["ask", "去年新开工了多少个重点项目？", "--index", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "time: 去年 → 2021 (the document is dated 2022" in out
    assert main(["date", "report.txt", "yesterday", "--index", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("qa: error: not a date: 'yesterday'") and err.count("\n") == 1


def test_an_english_question_is_not_pulled_down_by_keywords_it_cannot_match():
    # BM25 finds a stray Latin word of the question in the second Chinese passage; the
    # vectors prefer the first. Across scripts the keyword ranking has no say.
    candidates = _scored(["han", "han", "latin"], [0.0, 2.5, 1.0], [0.82, 0.78, 0.70])
    english = read_question("How many new urban jobs were created?")
    weights = ranking.keyword_weights(english, candidates)
    assert list(weights) == [0.0, 0.0, ranking.KEYWORD_WEIGHT]  # the English passage keeps it
    fused = ranking.scores(english, candidates, "hybrid")
    assert fused.argmax() == 0
    # Without scripts (a store that keeps none) the keywords pull as before.
    plain = Candidates.from_scores([0, 1, 2], [0.0, 2.5, 1.0], [0.82, 0.78, 0.70], None, [0.8])
    assert ranking.scores(english, plain, "hybrid").argmax() == 1
    # A Chinese question, or one with a Chinese name in it, shares the Chinese passages' script.
    for question in ("新增城镇就业多少人？", "How many jobs did 乐平 add?"):
        weights = np.broadcast_to(ranking.keyword_weights(read_question(question), candidates), 3)
        assert list(weights[:2]) == [ranking.KEYWORD_WEIGHT] * 2


def test_across_scripts_the_words_in_translation_take_the_keyword_ranking_s_place():
    # The vectors prefer the first Chinese passage; the second holds the question's words in
    # translation (就业, 城镇) and its name in pinyin (乐平: "Leping").
    texts = ["今年天气很好，游客很多。", "乐平市城镇新增就业7200人。", "The city added jobs."]
    passages = {n: Passage(t, "a.txt", (), n + 1) for n, t in enumerate(texts)}

    def passages_of(keys: list[int]) -> dict[int, Passage]:
        return {key: passages[key] for key in keys}

    candidates = _scored(["han", "han", "latin"], [0.0, 0.0, 1.0], [0.82, 0.80, 0.70])
    english = read_question("How many urban jobs were created in Leping?")
    evidence = ranking.translated_evidence(english, candidates, [0, 1, 2], passages)
    assert evidence is not None and evidence[2] > 0  # "jobs" as written: the same scale
    assert evidence[0] == 0.0 and evidence[1] >= 0.5  # jobs (就业), Leping (乐平)
    ranked = ranking.best_candidates(english, candidates, 3, "hybrid", passages_of)
    assert [n for n, _, _ in ranked][0] == 1
    assert ranking.scores(english, candidates, "hybrid").argmax() == 0  # the vectors alone
    # Within a script nothing changes: no evidence, the order the scores say.
    chinese = read_question("乐平城镇新增就业多少人？")
    han = _scored(["han", "han"], [0.0, 2.0], [0.82, 0.80])
    assert ranking.translated_evidence(chinese, han, [0, 1], passages) is None
    plain = ranking.best_candidates(chinese, han, 2, "hybrid", passages_of)
    values = ranking.scores(chinese, han, "hybrid")
    assert [n for n, _, _ in plain] == list(np.argsort(-values, kind="stable"))


def test_the_passages_of_an_index_know_their_script(tmp_path):
    docs = tmp_path / "docs"
    _write(docs, "乐平市新增城镇就业7200人。", "a.txt")
    _write(docs, "The city added 7,200 urban jobs.", "b.txt")
    index = qa.Index.build([docs])
    assert sorted(p.script for p in index.passages) == ["han", "latin"]


def test_search_and_ask_run_no_part_of_speech_tagger(report_index, monkeypatch):
    import jieba.posseg

    def tagging(*_args, **_kwargs):
        raise AssertionError("the tagger ran on the query path")

    monkeypatch.setattr(jieba.posseg, "lcut", tagging)
    monkeypatch.setattr(jieba.posseg, "cut", tagging)
    for question in ("谁作的报告？", "乐平在哪里？", "Who delivered the report?", "哪个项目最大？"):
        assert report_index.ask(question).hits
        assert report_index.search(question, mode="dense")
    hit = report_index.search("谁作的报告？", k=3)
    assert any("高翔" in h.text for h in hit)


def test_an_index_saved_before_annotations_is_annotated_once_when_loaded(tmp_path):
    index = qa.Index.build([_write(tmp_path / "docs", REPORT_TWO_YEARS)])
    folder = index.save(tmp_path / "index")
    generation = next(folder.glob("gen-*"))
    # Make it look like an index of format 1: no annotations, no dates.
    passages = generation / "passages.jsonl"
    records = [json.loads(line) for line in passages.read_text(encoding="utf-8").splitlines()]
    for record in records:
        for key in ("facts", "period", "stance", "script"):
            record.pop(key)
    passages.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )
    manifest_path = generation / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest.pop("annotation_version")
    for source in manifest["sources"]:
        source.pop("date"), source.pop("date_origin")
    _rewrite_checksums(folder, generation, manifest)
    old = qa.Index.load(folder)
    assert old.annotated_on_load()
    assert old.sources[0].date == "2021-04-13"
    assert all(p.script == "han" and p.facts for p in old.passages)
    assert old.ask("去年新开工了多少个重点项目？").time.period == "2020"
    old.save()
    assert not qa.Index.load(folder).annotated_on_load()


def _rewrite_checksums(folder: Path, generation: Path, manifest: dict) -> None:
    """Record the edited files' sizes and checksums, as a save of that format would."""
    from qa.ingest import file_sha256

    manifest["format_version"] = 1
    for name in manifest["files"]:
        path = generation / name
        manifest["files"][name] = {"size": path.stat().st_size, "sha256": file_sha256(path)}
    manifest_path = generation / "manifest.json"
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    (folder / "CURRENT").write_text(f"{generation.name} {file_sha256(manifest_path)}\n")


def test_across_scripts_the_answer_line_is_the_sentence_holding_the_words_in_translation():
    from qa.answer_line import answering_sentence
    from qa.chunking import split_sentences

    text = "今年天气很好，游客很多。全年城镇新增就业7200人。财政收入增长了5%。"
    spans = tuple(split_sentences(text))
    passage = Passage(text, "a.txt", (), 1, spans)
    # The windows favour the first two sentences; the words decide between them.
    windows = {(0, 2): 0.9, (1, 3): 0.8}
    start, end = answering_sentence(
        passage, read_question("How many urban jobs were added?"), windows
    )
    assert "就业" in text[start:end]
    start, end = answering_sentence(passage, read_question("How did revenue grow?"), windows)
    assert "财政收入" in text[start:end]


def _scored(scripts: list[str], keyword: list[float], dense: list[float]) -> Candidates:
    """Candidates 0..n-1 in the given scripts, with keyword and passage-vector scores."""
    nothing = [None] * len(scripts)
    return Candidates.from_scores(
        keys=list(range(len(scripts))),
        keyword=keyword,
        paragraph=dense,
        fetched=dense,
        traits=PassageTraits.of(scripts, nothing, nothing, nothing),
    )
