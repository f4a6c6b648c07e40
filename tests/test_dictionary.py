"""Words across scripts (qa.dictionary) and the verdict's model for questions across
scripts (qa.verdict.Calibration.across)."""

from __future__ import annotations

import pytest

from qa import verdict
from qa.dictionary import dictionary, translated_coverage, word_forms

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
