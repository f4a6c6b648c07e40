"""Words across scripts (qa.dictionary) and the verdict's model for questions across
scripts (qa.verdict.Calibration.across)."""

from __future__ import annotations

import pytest

from qa import verdict
from qa.dictionary import (
    dictionary,
    pinyin_names,
    pinyin_syllables,
    translated_coverage,
    translated_shares,
    word_forms,
)

JOBS_PASSAGE = "全年城镇新增就业7200人，城镇登记失业率控制在3.5%以内。"


def test_an_english_question_s_words_are_found_in_chinese_text():
    question = "How many new jobs were created in cities and towns last year?"
    assert translated_coverage(question, [JOBS_PASSAGE]) >= 0.6
    assert translated_coverage("Who won the 2024 NBA Finals?", [JOBS_PASSAGE]) == 0.0
    # The best of several texts counts.
    assert translated_coverage(question, ["今天天气很好。", JOBS_PASSAGE]) >= 0.6


def test_a_chinese_question_s_words_are_found_in_english_text():
    text = "The city created 7,200 new urban jobs; registered unemployment stayed below 3.5%."
    assert translated_coverage("城镇新增就业多少人？", [text]) >= 0.5
    assert translated_coverage("怎么煮米饭？", [text]) == 0.0


def test_numbers_and_words_the_dictionary_lacks_count_as_written():
    # GDP is no dictionary headword's translation here: it counts when the text has it.
    assert translated_coverage("How much did GDP increase in 2020?", ["2020年GDP增长3.9%"]) == 1.0
    assert translated_coverage("How much did GDP increase in 2020?", ["2019年财政收入增长"]) < 0.5
    assert translated_coverage("What?", [JOBS_PASSAGE]) == 0.0
    assert translated_coverage("jobs", []) == 0.0


def test_names_written_in_pinyin_are_found_in_chinese_text():
    assert translated_coverage("What is Zou You's occupation?", ["邹由，职业演员。"]) == 1.0
    assert translated_coverage("How long is the Guangmao Railway?", ["广茂铁路全长364公里"]) >= 0.5
    assert translated_coverage("What does the Ganfutong app do?", ["“赣服通”乐平分行"]) >= 0.5
    # Another name read otherwise, or the name's characters apart, is not the name.
    assert translated_coverage("What is Zou You's occupation?", ["王芳，职业演员。"]) < 1.0
    assert translated_coverage("What is Zou You's occupation?", ["邹先生由此成名"]) < 1.0
    # One share per text, in order.
    shares = translated_shares("Where is Jingdezhen?", ["景德镇位于江西", "乐平市"])
    assert shares[0] > shares[1] == 0.0


def test_which_words_are_read_as_pinyin_names():
    assert [words for words, _ in pinyin_names("Where was Chen Shui-bian born?")] == [
        ("Chen", "Shui-bian")
    ]
    assert [words for words, _ in pinyin_names("What is Zou You's job?")] == [("Zou", "You")]
    # English words, lower-case words, one syllable alone and question words are no names.
    for question in ("What is Leandro Netto's job?", "Where is the long bridge?", "Who is Li?"):
        assert pinyin_names(question) == []
    assert pinyin_names("He said what?") == []
    assert pinyin_syllables("xian") == [("xi", "an"), ("xian",)]
    assert pinyin_syllables("railway") == []
    # A long run of syllables is no name, and is not split in every way it could be.
    assert pinyin_syllables("xian" * 40) == []
    assert len(pinyin_syllables("xianxianxian")) <= 8
    long_question = "Who is " + " ".join(["Xian"] * 300) + "?"
    assert translated_coverage(long_question, ["西安"]) >= 0.0


def test_english_words_are_looked_up_under_their_dictionary_forms():
    assert word_forms("cities") == ["city"]
    assert "create" in word_forms("created")
    assert "plan" in word_forms("planned")
    assert {"就业", "工作"} <= dictionary().chinese_of("jobs")
    assert "employment" in dictionary().english_of("就业")


def test_the_model_across_scripts_judges_only_questions_across_scripts():
    calibration = verdict.CALIBRATIONS["multilingual-e5-small"]
    assert calibration.across is not None
    within = verdict.Calibration(calibration.intercept, calibration.weights)
    features = {name: 0.1 for name in calibration.across.weights}
    for translated in (0.0, 1.0):
        same = {**features, "cross_script": 0.0, "translated": translated}
        assert calibration.confidence(same) == within.confidence(same)
    across = {**features, "cross_script": 1.0}
    low = calibration.confidence({**across, "translated": 0.0})
    assert calibration.confidence({**across, "translated": 1.0}) > low


@pytest.mark.parametrize(
    "question",
    [
        "How many people were given nucleic acid tests?",
        "How many new jobs were created in cities and towns last year?",
    ],  # fmt: skip
)
def test_english_questions_the_report_answers_are_found(report_index, question):
    answer = report_index.ask(question)
    assert answer.found is True, answer.confidence


@pytest.mark.parametrize(
    "question", ["Is it going to snow in Chicago next week?", "Do I need a lawyer to get divorced?"]
)
def test_english_questions_whose_words_the_report_lacks_are_not_found(report_index, question):
    # Without the words read in translation both were judged found (0.63 and 0.66).
    answer = report_index.ask(question)
    assert answer.found is False, answer.confidence
