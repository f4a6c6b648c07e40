"""qa.ranking through Index.ask: the verdict, the answer line, the lead-in prior, one ranking."""

from __future__ import annotations

import json

import numpy as np
import pytest

import qa
from qa import answer_line, candidates, facts, ranking, verdict
from qa.chunking import Passage, split_sentences
from qa.encoders import BUNDLED_MINILM, DEFAULT_ENCODER, load_encoder
from qa.question import asked_type, read_question

GDP_QUESTION = "2020年乐平市的地区生产总值是多少？"
GDP_ANSWER = "353.26亿元"
LEAD_IN = "回顾我们走过来的这一年，主要是抓了以下几方面工作。"


def passage(text: str) -> Passage:
    """A passage as an index stores it: with the facts of its sentences."""
    spans = tuple(split_sentences(text))
    return Passage(text, "doc.txt", (), 1, spans, facts=facts.passage_facts(text, spans))


def test_ask_gives_the_search_hits_and_the_best_as_the_answer(report_index):
    answer = report_index.ask(GDP_QUESTION, k=4)
    assert isinstance(answer, qa.Answer)
    assert answer.hits == report_index.search(GDP_QUESTION, k=4)
    assert answer.answer == answer.hits[0]
    assert GDP_ANSWER in answer.answer.sentence
    assert answer.found is True and 0.5 <= answer.confidence <= 1.0
    data = answer.to_dict()
    assert list(data) == ["question", "found", "confidence", "answer", "hits", "time"]
    assert data["answer"] == data["hits"][0] == answer.hits[0].to_dict()


@pytest.mark.parametrize(
    "question",
    [
        "累计核酸检测了多少人？",
        "如何改善医院条件？",
        "How many calls did the 12345 hotline receive?",
    ],
)
def test_questions_about_the_report_are_found(report_index, question):
    answer = report_index.ask(question)
    assert answer.found is True, answer.confidence


@pytest.mark.parametrize(
    "question",
    ["法国的首都是哪里？", "怎么煮米饭？", "How do I bake bread?", "Who painted the Mona Lisa?"],
)
def test_off_topic_questions_are_not_found(report_index, question):
    answer = report_index.ask(question)
    assert answer.found is False and answer.confidence < 0.5
    assert len(answer.hits) == 5  # the closest passages still come back


def test_the_verdict_is_the_same_in_every_mode_and_for_every_k(report_index):
    # The verdict reads the top of the hybrid ranking, whatever the caller asked to see.
    for question in ("累计核酸检测了多少人？", "法国的首都是哪里？", "How do vaccines work?"):
        verdicts = {
            (mode, k): (answer.found, answer.confidence)
            for mode in qa.MODES
            for k in (1, 2, 5, 10)
            for answer in [report_index.ask(question, k=k, mode=mode)]
        }
        assert len(set(verdicts.values())) == 1, verdicts


def test_an_answer_of_another_period_is_never_found(report_index):
    # Dense mode alone hardly tells years apart: its best passage for the 2020 question
    # is the 2021 targets. Shown, but not as an answer; hybrid finds the 2020 passage.
    dense = report_index.ask(GDP_QUESTION, mode="dense")
    assert "2021" in dense.answer.section
    assert (dense.found, dense.confidence) == (False, 0.0)
    assert dense.time is not None and dense.time.fits is False
    hybrid = report_index.ask(GDP_QUESTION)
    assert hybrid.found is True and GDP_ANSWER in hybrid.answer.sentence
    assert hybrid.time.fits is True and hybrid.time.describe() == "2020年"
    for k in (1, 2, 5, 10):
        assert report_index.ask(GDP_QUESTION, k=k).confidence == hybrid.confidence


def test_an_empty_index_answers_not_found_with_no_hits():
    answer = qa.Index(load_encoder(DEFAULT_ENCODER)).ask("任何问题？")
    assert (answer.found, answer.answer, answer.hits) == (False, None, [])
    assert answer.to_dict()["answer"] is None


def test_an_encoder_without_calibration_makes_no_judgement(tmp_path):
    assert BUNDLED_MINILM not in verdict.CALIBRATIONS
    (tmp_path / "a.txt").write_text("水库蓄水量达到1.2亿立方米。新建公路88公里。", encoding="utf-8")
    index = qa.Index.build([tmp_path], model=BUNDLED_MINILM)
    answer = index.ask("新建了多少公路？")
    assert answer.found is None and answer.confidence is None
    assert answer.answer is not None and "88公里" in answer.answer.text


def test_bad_questions_are_refused_by_ask(report_index):
    with pytest.raises(qa.QueryError):
        report_index.ask("   ")
    with pytest.raises(qa.QueryError):
        report_index.ask(GDP_QUESTION, mode="fuzzy")
    with pytest.raises(ValueError):
        report_index.ask(GDP_QUESTION, k=0)


def test_lead_ins_are_damped_and_content_is_not():
    assert ranking.informativeness(passage(LEAD_IN)) == ranking.LEAD_IN_PRIOR
    assert ranking.informativeness(passage("围绕上述目标，主要是做好以下几个方面的工作：")) < 1
    assert ranking.informativeness(passage("各位代表：")) < 1
    assert ranking.informativeness(passage("市人民政府市长 高翔")) == 1.0
    assert ranking.informativeness(passage("全年地区生产总值完成353.26亿元，增长3.6%。")) == 1.0
    two = "主要是抓了以下几方面工作。一是抓项目，引进项目44个。"
    assert ranking.informativeness(passage(two)) == 1.0  # content follows in the passage


def test_a_content_question_finds_content_before_the_lead_in(report_index):
    hits = report_index.search("How much did GDP grow in 2020?", k=3)
    assert LEAD_IN not in [hit.text for hit in hits]
    assert any(GDP_ANSWER in hit.text for hit in hits)


def test_a_lead_in_stays_findable(report_index):
    hits = report_index.search("回顾这一年主要抓了哪几方面工作？", k=3)
    assert LEAD_IN in [hit.text for hit in hits]


SPEAKER = "市人民政府市长高翔"
DATE_LINE = "（2021年4月13日在乐平市第六届人民代表大会第六次会议上）"


@pytest.mark.parametrize(
    ("question", "line"),
    [
        ("谁作的报告？", SPEAKER),
        ("这份报告是哪天作的？", DATE_LINE),
        ("报告是在哪次会议上作的？", DATE_LINE),
    ],
)
def test_the_front_matter_stays_findable(report_index, question, line):
    hits = report_index.search(question, k=3)
    assert any(line in hit.text.split("\n") for hit in hits)


def test_the_front_matter_does_not_outrank_content(report_index):
    for question in (GDP_QUESTION, "How much did GDP grow in 2020?", "报告提出了哪些目标？"):
        hits = report_index.search(question, k=5)
        assert not any(SPEAKER in hit.text for hit in hits), question


def test_an_answer_line_without_shared_words_is_not_the_first_sentence_by_default():
    # A question in English about a Chinese text shares no token with it: the windows
    # decide. The first sentence is held by one window, the best (0, 2); the second by that
    # one and a weaker one. (The window scores of the report's passage for the question.)
    text = (
        "——这一年，我们逆水行舟，经济运行稳步回升。"
        "在多重压力下稳住了基本盘，全年地区生产总值完成353.26亿元，增长3.6%；"
        "财政总收入完成47.26亿元，增长1.6%；规模以上工业增加值增长4.5%。"
    )
    windows = {(0, 2): 0.753, (1, 3): 0.746, (2, 4): 0.744}
    start, end = answer_line.answering_sentence(
        passage(text), read_question("What was the GDP?"), windows
    )
    assert GDP_ANSWER in text[start:end]
    # With shared words the mean of the windows holding a sentence counts, as before.
    start, end = answer_line.answering_sentence(
        passage(text), read_question("经济运行怎么样？"), windows
    )
    assert text[start:end].startswith("——这一年")


def test_an_english_question_gets_the_answering_sentence(report_index):
    # Held out of the calibration (scripts/calibrate.py); the answer is the passage's
    # second sentence.
    hit = report_index.search("What was Leping's GDP in 2020?", k=1)[0]
    assert GDP_ANSWER in hit.text and not hit.text.startswith(hit.sentence)
    assert GDP_ANSWER in hit.sentence


def test_candidates_from_a_part_of_the_store_rank_like_the_whole():
    # Passages outside the candidates stand in min-max scaling as one row (BM25 0, the
    # weakest dense score): the same scores as when they are listed.
    whole = candidates.Candidates.from_scores(
        keys=[10, 11, 12, 13],
        keyword=[3.0, 1.0, 0.0, 0.0],
        paragraph=[0.9, 0.8, 0.7, 0.7],
        fetched=[0.9, 0.8, 0.7, 0.7],
        windows=[(0, 0, 2, 0.95), (1, 0, 2, 0.7)],
    )
    part = candidates.Candidates.from_scores(
        keys=[10, 11],
        keyword=[3.0, 1.0],
        paragraph=[0.9, 0.8],
        fetched=[0.9, 0.8, 0.7],
        windows=[(0, 0, 2, 0.95), (1, 0, 2, 0.7)],
        unlisted=True,
    )
    asked = read_question("问题？")
    full = ranking.scores(asked, whole, "hybrid")
    assert np.allclose(ranking.scores(asked, part, "hybrid"), full[:2])
    assert np.allclose(whole.dense(), [0.925, 0.75, 0.7, 0.7])
    assert whole.windows_of(0) == {(0, 2): 0.95}


def test_the_verdict_baseline_has_medians_per_script_of_the_probe_questions(report_index):
    baseline = report_index._baseline(report_index._contents)
    assert set(baseline.medians) == {"han", "latin"}
    for medians in baseline.medians.values():
        assert set(medians) == set(verdict.RELATIVE_FEATURES)
    # Off-topic questions score their best windows lower in English than in Chinese.
    assert baseline.medians["latin"]["best"] < baseline.medians["han"]["best"]
    assert baseline.of(read_question("Who?")) is baseline.medians["latin"]
    assert baseline.of(read_question("谁？")) is baseline.medians["han"]


def test_features_are_relative_to_the_baseline():
    baseline = verdict.Baseline({"han": {"margin": 0.01, "coverage": 0.1, "best": 0.8}})
    raw = {"margin": 0.03, "disagreement": 1.0, "coverage": 0.5, "cross_script": 0.0, "best": 0.9}
    relative = verdict.relative_features(read_question("问题？"), raw, baseline)
    assert relative == pytest.approx(
        {"margin": 0.02, "disagreement": 1.0, "coverage": 0.4, "cross_script": 0.0, "best": 0.1}
    )
    # English questions fall back to the Chinese medians when there are no English probes.
    assert verdict.relative_features(read_question("Why?"), raw, baseline) == relative
    assert verdict.relative_features(read_question("问题？"), raw, verdict.Baseline({})) is None


def test_a_saved_index_keeps_its_verdict_baseline(tmp_path, monkeypatch):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("水库蓄水量达到1.2亿立方米。\n\n新建公路88公里。", encoding="utf-8")
    index = qa.Index.build([docs])
    assert index.lacks_verdict_baseline()
    index.save(tmp_path / "index")
    manifest = json.loads(next((tmp_path / "index").glob("gen-*/manifest.json")).read_text())
    saved = verdict.baseline_from_record(manifest["verdict_baseline"])
    assert saved == index._baseline(index._contents)

    loaded = qa.Index.load(tmp_path / "index")
    assert not loaded.lacks_verdict_baseline()
    asked: list[list[str]] = []
    real = loaded.encoder.encode_queries
    monkeypatch.setattr(
        loaded.encoder, "encode_queries", lambda texts: asked.append(texts) or real(texts)
    )
    answer = loaded.ask("新建了多少公里公路？")
    assert asked == [["新建了多少公里公路？"]]  # the probes are not asked again
    assert answer.found is True


def test_a_stale_baseline_record_is_not_used():
    medians = {"han": {"margin": 0.0, "coverage": 0.0, "best": 0.8}}
    record = verdict.baseline_record(verdict.Baseline(medians))
    assert verdict.baseline_from_record(record) is not None
    assert verdict.baseline_from_record({**record, "version": verdict.BASELINE_VERSION + 1}) is None
    assert verdict.baseline_from_record({**record, "probes": "0" * 16}) is None
    assert verdict.baseline_from_record({**record, "medians": {"han": {"margin": 1}}}) is None
    assert verdict.baseline_from_record(None) is None


def test_coverage_leaves_out_question_words():
    question = "What is the capital of Japan?"
    assert verdict.coverage(question, "the capital of the province is") == 0.5
    assert verdict.coverage(question, "It is one of the best.") == 0.0
    assert verdict.coverage("乐平的面积是多少？", "是多少呢") == 0.0
    assert verdict.coverage("乐平的面积是多少？", "乐平市面积1973平方公里") == 1.0


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("谁作的报告？", "person"),
        ("Who delivered the report?", "person"),
        ("这份报告是哪天作的？", "date"),
        ("When did it open?", "date"),
        ("乐平在哪里？", "place"),
        ("累计核酸检测了多少人？", "number"),
        ("How many schools were built?", "number"),
        ("什么是三讲一评？", None),
    ],
)
def test_what_a_question_asks_for(question, kind):
    assert asked_type(question) == kind


def test_what_a_sentence_holds():
    assert "person" in facts.sentence_facts("市人民政府市长 高翔")
    assert "person" not in facts.sentence_facts("政府工作报告")
    assert "date" in facts.sentence_facts("（2021年4月13日在乐平市第六届人民代表大会第六次会议上）")
    assert "date" not in facts.sentence_facts("各位代表：")
    assert "number" in facts.sentence_facts("新建公路88公里")
    assert "number" in facts.sentence_facts("新增学位一千二百个")
    assert "number" not in facts.sentence_facts("扫黑除恶专项斗争成效明显")


@pytest.mark.parametrize(
    ("text", "question", "answer"),
    [
        ("组长由小组推选产生。现任组长张伟。", "谁是组长？", "现任组长张伟。"),
        ("会议议程共有五项开幕内容。会议4月13日开幕。", "会议哪天开幕？", "会议4月13日开幕。"),
    ],
)
def test_the_sentence_that_holds_what_is_asked_for_wins_a_tie(text, question, answer, monkeypatch):
    # Both sentences share the same words with the question and no windows are scored.
    monkeypatch.setattr(answer_line, "ANSWER_TYPE_BONUS", 0.0)
    monkeypatch.setattr(answer_line, "SHORT_FIGURES_SPARED", False)  # both short: both x 0.7
    start, end = answer_line.answering_sentence(passage(text), read_question(question), {})
    assert text[start:end] != answer  # a tie goes to the first sentence
    monkeypatch.undo()
    start, end = answer_line.answering_sentence(passage(text), read_question(question), {})
    assert text[start:end] == answer


def test_an_inner_sentence_that_answers_beats_the_edge_of_the_best_window(monkeypatch):
    text = (
        "员工入职满一年后享有带薪年假5天。"
        "病假需提供诊断证明，病假期间发放基本工资的80%。"
        "婚假为3天，产假为158天，陪产假为15天。"
    )
    # The window of sentences 2-3 scores a little above that of 1-2: by the mean of its
    # windows alone the last sentence, held by the better window only, takes the top score.
    windows = {(0, 2): 0.80, (1, 3): 0.82}
    question = "病假工资怎么算？"
    monkeypatch.setattr(answer_line, "BEST_WINDOW_SHARE", 0.0)
    start, end = answer_line.answering_sentence(passage(text), read_question(question), windows)
    assert text[start:end].startswith("婚假")
    monkeypatch.undo()
    start, end = answer_line.answering_sentence(passage(text), read_question(question), windows)
    assert text[start:end].startswith("病假")


def test_a_short_sentence_with_a_figure_escapes_the_short_sentence_prior(monkeypatch):
    text = "固定资产投资结构持续优化，工业投资占固定资产投资的比重明显提高。固定资产投资增长70.5%。"
    question = "固定资产投资增长了多少？"
    monkeypatch.setattr(answer_line, "ANSWER_TYPE_BONUS", 0.0)
    monkeypatch.setattr(answer_line, "SHORT_FIGURES_SPARED", False)
    start, end = answer_line.answering_sentence(
        passage(text), read_question(question), {(0, 2): 0.8}
    )
    assert text[start:end].startswith("固定资产投资结构")  # the short one, x 0.7, loses
    monkeypatch.setattr(answer_line, "SHORT_FIGURES_SPARED", True)
    start, end = answer_line.answering_sentence(
        passage(text), read_question(question), {(0, 2): 0.8}
    )
    assert text[start:end] == "固定资产投资增长70.5%。"


HANDBOOK = """星河科技有限公司员工手册

第一章 工作时间
公司实行标准工时制度，每周工作五天，每天工作八小时。上班时间为上午9:00至12:00，下午13:30至18:30。员工应按时打卡，迟到超过15分钟按半天事假处理。

第二章 休假制度
员工入职满一年后享有带薪年假5天，满十年享有10天，满二十年享有15天。病假需提供二级以上医院的诊断证明，病假期间发放基本工资的80%。婚假为3天，产假为158天，陪产假为15天。

第三章 薪酬福利
公司每月10日发放上月工资。员工享有五险一金，住房公积金缴存比例为12%。每年年底根据绩效考核结果发放年终奖，考核为优秀的员工可获得三个月工资的奖金。公司每年组织一次免费体检。

第四章 报销规定
员工出差的交通费、住宿费凭发票实报实销，一线城市住宿标准为每晚600元，其他城市为每晚400元。出差补贴为每天100元。报销单须在出差结束后30天内提交财务部。

第五章 办公设备
公司为每位员工配备一台笔记本电脑，使用期满三年可申请更换。员工离职时须归还电脑、门禁卡和工牌。丢失门禁卡需缴纳工本费50元。

第六章 培训与晋升
新员工入职后须参加为期一周的入职培训。公司每年进行两次晋升评审，分别在3月和9月。连续两年考核优秀的员工可优先晋升。
"""


@pytest.fixture(scope="module")
def handbook_index(tmp_path_factory):
    folder = tmp_path_factory.mktemp("handbook")
    (folder / "handbook.txt").write_text(HANDBOOK, encoding="utf-8")
    return qa.Index.build([folder])


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("年假有几天？", "带薪年假5天"),
        ("病假工资怎么算？", "病假期间发放基本工资的80%"),
        ("公积金比例是多少？", "缴存比例为12%"),
        ("门禁卡丢了怎么办？", "工本费50元"),
        ("晋升评审什么时候进行？", "分别在3月和9月"),
        ("一年能休几天假？", "带薪年假5天"),
        ("How many days of annual leave do employees get?", "带薪年假5天"),
    ],
)
def test_another_kind_of_document_answers_its_own_questions(handbook_index, question, answer):
    # A short handbook, nothing like the report the calibration was fitted on: the
    # verdict reads its features against this index's own baseline.
    result = handbook_index.ask(question)
    assert result.found is True, result.confidence
    assert answer in result.answer.sentence


@pytest.mark.parametrize(
    "question", ["日本的首都是哪里？", "怎么煮米饭？", "长江有多长？", "Who discovered penicillin?"]
)
def test_another_kind_of_document_does_not_answer_off_topic_questions(handbook_index, question):
    assert handbook_index.ask(question).found is False
