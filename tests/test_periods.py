"""qa.periods: reference dates, the periods of passages and questions, and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.annotation import annotate, document_reference
from qa.bundled import BUNDLED_REPORT
from qa.chunking import chunk_text
from qa.periods import (
    RESULTS,
    TARGETS,
    Period,
    ReferenceDate,
    asked_time,
    document_times,
    find_mentions,
    parse_date,
    reference_date,
)

SPRING_2021 = ReferenceDate(2021, 4, 13)
DATED_DOCS = Path(__file__).resolve().parents[1] / "benchmarks" / "questions" / "dated-docs"


def asked(question: str, reference: ReferenceDate | None = SPRING_2021) -> Period | None:
    time = asked_time(question)
    return None if time is None else time.period(reference)


@pytest.mark.parametrize(
    ("question", "period"),
    [
        ("去年新开工了哪些重点项目？", (2020, 2020)),
        ("今年计划新开工多少个项目？", (2021, 2021)),
        ("明年的目标是什么？", (2022, 2022)),
        ("过去五年新增了多少家四上企业？", (2016, 2020)),
        ("近三年的投资是多少？", (2018, 2020)),
        ("今后五年的目标是什么？", (2021, 2025)),
        ("十三五期间固定资产投资增长了多少？", (2016, 2020)),
        ("“十四五”时期要建多少所学校？", (2021, 2025)),
        ("第十三个五年规划的成绩", (2016, 2020)),
        ("到2025年地区生产总值达到多少？", (2021, 2025)),
        ("2035年的远景目标是什么？", (2035, 2035)),
        ("2020年乐平市的地区生产总值是多少？", (2020, 2020)),
        ("二〇二〇年的财政收入", (2020, 2020)),
        ("二零二一年的计划", (2021, 2021)),
        ("２０２０年地区生产总值是多少？", (2020, 2020)),
        ("2020 年的财政收入", (2020, 2020)),
        ("2016年至2020年完成了多少投资？", (2016, 2020)),
        ("2019年和2020年相比GDP增长多少？", (2019, 2020)),
        # Traditional Chinese: the same words, and 十三個五年規劃.
        ("今後五年的目標是什麼？", (2021, 2025)),
        ("過去五年完成了多少項改革？", (2016, 2020)),
        ("十三個五年規劃期間新增了多少企業？", (2016, 2020)),
        ("How many new projects were started last year?", (2020, 2020)),
        ("What is this year's GDP target?", (2021, 2021)),
        ("What was achieved over the past five years?", (2016, 2020)),
        ("What are the goals for the next five years?", (2021, 2025)),
        ("What will GDP be by 2025?", (2021, 2025)),
        ("What was GDP in 2020?", (2020, 2020)),
        ("How did 2019 compare with 2020?", (2019, 2020)),
        ("What happened during the 13th Five-Year Plan?", (2016, 2020)),
    ],
)
def test_a_question_s_time_is_read_against_the_reference_date(question, period):
    assert asked(question) == Period(*period)


@pytest.mark.parametrize(
    "question",
    [
        "乐平有多少人口？",
        "公元前221年秦统一六国是怎么回事？",  # not a date qa reads
        "9999年的收入是多少？",
        "2020年2月30日发生了什么？",  # no such day
        "2月30日发生了什么？",
        "有3000年历史的古镇叫什么？",  # a duration, not a year
        "十五个项目是什么？",  # fifteen, not the 10th five-year plan
        "What may happen?",  # "may" is not a month here
        "How much did the 2,020 yuan grant cost?",
    ],
)
def test_what_is_not_a_time_is_not_read_as_one(question):
    assert asked_time(question) is None


def test_a_relative_time_in_a_document_without_a_date_means_nothing():
    time = asked_time("去年新开工了哪些重点项目？")
    assert time is not None and time.period(None) is None
    assert asked("2020年的财政收入", None) == Period(2020, 2020)  # absolute years still read


def test_spans_follow_the_month_of_the_reference_date():
    # A spring report looks back on the years before it; a year-end summary counts its own.
    december = ReferenceDate(2024, 12)
    assert asked("过去五年", december) == Period(2020, 2024)
    assert asked("今后五年", december) == Period(2025, 2029)
    assert asked("今年", december) == Period(2024, 2024)


def test_a_stance_alone_is_a_time_asked_without_years():
    # 累计 (so far) asks for what has been done, whatever year: results, no period.
    time = asked_time("累计核酸检测了多少人？")
    assert time is not None and time.stance == RESULTS and not time.mentions
    assert time.period(ReferenceDate(2021, 4)) is None


def test_stance_words_that_are_part_of_a_plan_s_name_are_not_a_stance():
    assert asked_time("十三五规划期间完成了多少投资？").stance == RESULTS
    assert asked_time("十三個五年規劃期間").stance is None
    assert asked_time("What were the targets of the 13th Five-Year Plan?").stance == TARGETS
    assert asked_time("What about the 13th Five-Year Plan?").stance is None


def test_a_period_shares_years():
    assert Period(2020, 2020).share(Period(2020, 2020)) == 1.0
    assert Period(2020, 2020).share(Period(2016, 2020)) == pytest.approx(0.2)
    assert Period(2020, 2020).share(Period(2021, 2021)) == 0.0
    with pytest.raises(ValueError):
        Period(2021, 2020)


def test_the_report_s_date_and_periods():
    passages = chunk_text(BUNDLED_REPORT.read_text(encoding="utf-8"), "report")
    reference = document_reference(passages)
    assert reference == ReferenceDate(2021, 4, 13, "text")
    annotated = annotate(passages, reference)

    def time_of(start: str) -> tuple[tuple[int, int] | None, str | None]:
        passage = next(p for p in annotated if p.text.startswith(start))
        return passage.period, passage.stance

    assert time_of("2020年是极其特殊") == ((2020, 2020), RESULTS)
    assert time_of("——这一年，我们逆水行舟") == ((2020, 2020), RESULTS)
    # Under the same heading, the passages go on speaking of 2020 until the five years.
    assert time_of("一是精准阻击断蔓延") == ((2020, 2020), RESULTS)
    assert time_of("各位代表，2016年至2020") == ((2016, 2020), RESULTS)
    assert time_of("——这是经济明珠实力更强的") == ((2016, 2020), RESULTS)
    assert time_of("“十四五”时期，是我市") == ((2021, 2025), TARGETS)
    assert time_of("主要预期目标是") == ((2021, 2021), TARGETS)
    assert time_of("1.双清零") == (None, None)  # the glossary speaks of no period
    assert annotate(passages[:1], reference)[0].period is None  # the front matter neither


@pytest.mark.parametrize(
    ("name", "date"),
    [
        ("county-2023-report.md", "2023-01-09"),  # the front matter's date line
        ("company-2022-annual-report.md", "2023-03-28"),  # the signature, not the period
        ("school-2024-summary.md", "2024-12"),
        ("bureau-plan-undated.md", None),
    ],
)
def test_documents_of_other_kinds_state_their_dates(name, date):
    passages = chunk_text((DATED_DOCS / name).read_text(encoding="utf-8"), name)
    reference = document_reference(passages)
    assert (reference.iso() if reference else None) == date


def test_many_or_contradictory_dates_give_the_first_date_line():
    front = ["工作总结", "2023年5月6日", "（2022年3月1日修订）"]
    assert reference_date(front, ["2024年1月1日"]) == ReferenceDate(2023, 5, 6)
    assert reference_date(["报告期：2022年1月1日至2022年12月31日"], ["2023年3月"]) == (
        ReferenceDate(2023, 3)
    )
    assert reference_date(["2021年2月30日"], []) is None  # impossible
    assert reference_date(["正文"], [], "2024年工作总结") == ReferenceDate(2024)
    # A document without any date gets periods of none of its passages.
    assert document_times([((), "去年完成了投资。")], None) == [None]


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("2021-04-13", ReferenceDate(2021, 4, 13, "user")),
        ("2021-04", ReferenceDate(2021, 4, None, "user")),
        ("2021", ReferenceDate(2021, None, None, "user")),
        ("2021/4/13", ReferenceDate(2021, 4, 13, "user")),
        ("2021年4月13日", ReferenceDate(2021, 4, 13, "user")),
    ],
)
def test_a_date_a_user_gives(text, date):
    assert parse_date(text) == date


@pytest.mark.parametrize("text", ["yesterday", "2021-13-01", "2021-02-30", "9999", "", "21-4-13"])
def test_a_date_a_user_gives_that_is_not_one_is_refused(text):
    with pytest.raises(ValueError, match="date"):
        parse_date(text)


def test_mentions_keep_the_text_as_written():
    mentions = find_mentions("２０２０年和今後五年")
    assert [m.text for m in mentions] == ["２０２０年", "今後五年"]
