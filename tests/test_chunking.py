"""The chunker on the real report: page-break repairs, section paths, glossary, markup."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

import qa
from qa.chunking import (
    ChunkingSettings,
    chunk_text,
    iter_passages,
    normalize_text,
    split_sentences,
)

REPORT = qa.BUNDLED_REPORT.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def passages() -> list[qa.Passage]:
    return chunk_text(REPORT, "leping")


@pytest.mark.parametrize(
    "joined",
    [
        "增长3.6%",
        "严格实行首诊负责制",
        "加快“智慧城市”建设",
        "我们一定要",
        "履行职责",
        "(32)巩固提升",
        "从10个县",
    ],
)
def test_page_breaks_are_repaired_into_one_paragraph(passages, joined):
    holding = [p for p in passages if joined in p.text]
    assert len(holding) == 1, joined


def test_bold_markers_are_removed(passages):
    assert not any("**" in p.text for p in passages)
    assert any(p.text.startswith("——这一年，我们逆水行舟，经济运行稳步回升。") for p in passages)


def test_headings_become_section_paths_not_passages(passages):
    texts = {p.text for p in passages}
    assert "（一）牢牢把握一个重点，慎终如始抓防疫" not in texts
    assert "【名词解释】" not in texts
    epidemic = next(p for p in passages if p.text.startswith("一是精准阻击断蔓延"))
    assert epidemic.section_path == (
        "一、2020年工作及“十三五”发展回顾 > （一）牢牢把握一个重点，慎终如始抓防疫"
    )
    # A level-1 heading closes the level-2 heading above it.
    review = next(p for p in passages if p.text.startswith("“十四五”时期，是我市"))
    assert review.section == ("二、“十四五”时期发展的主要考虑",)


def test_each_glossary_entry_is_its_own_passage(passages):
    glossary = [p for p in passages if p.section == ("【名词解释】",)]
    assert len(glossary) == 14
    assert glossary[0].text == "1.双清零：即在院患者清零、疑似病例清零。"
    assert "从10个县的100个村" in glossary[10].text
    assert glossary[-1].text.startswith("14.雪亮工程")


def test_paragraph_numbers_increase_and_front_matter_is_kept(passages):
    numbers = [p.paragraph for p in passages]
    assert numbers == sorted(numbers)
    front = passages[0]
    assert front.text.split("\n") == [
        "政府工作报告",
        "（2021年4月13日在乐平市第六届人民代表大会第六次会议上）",
        "市人民政府市长高翔",
    ]
    assert front.section == () and front.paragraph == 1
    # Each line is its own sentence, so an answer line can be just the speaker.
    assert [front.text[a:b].strip() for a, b in front.sentences] == front.text.split("\n")
    assert passages[1].text == "各位代表：" and passages[1].paragraph == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Title lines before the first heading are front matter too.
        ("标题\n副标题\n# 一\n正文。", ["标题\n副标题", "正文。"]),
        # One title line is a passage as before.
        ("标题\n正文第一句，接着说。", ["标题", "正文第一句，接着说。"]),
        # A text of title-like lines only has no front matter: each line stays its own.
        ("标题\n副标题", ["标题", "副标题"]),
        # A text that starts with content has no front matter.
        ("正文，开头。\n短行\n另一短行", ["正文，开头。", "短行", "另一短行"]),
        # A run longer than MAX_FRONT_MATTER_LINES is a list, not front matter.
        ("甲\n乙\n丙\n丁\n戊\n己\n庚\n正文，开头。", [*"甲乙丙丁戊己庚", "正文，开头。"]),
        # English: a short sentence (ending in a full stop) is content, not front matter.
        (
            "Annual Report\nWe grew this year.\nMore text, here.",
            ["Annual Report", "We grew this year.", "More text, here."],
        ),
        (
            "Annual Report 2021\nJane Doe\nWe grew this year.",
            ["Annual Report 2021\nJane Doe", "We grew this year."],
        ),
        # A leading heading: the title lines after it are ordinary passages.
        ("一、总则\n标题\n副标题\n正文。", ["标题", "副标题", "正文。"]),
    ],
)
def test_front_matter_is_one_passage(text, expected):
    assert [p.text for p in chunk_text(text, "doc.txt")] == expected


def test_front_matter_respects_max_chars():
    text = "一个很长的标题行甲乙丙\n另一个很长的标题行丁戊己\n正文，开头。"
    passages = chunk_text(text, "doc.txt", ChunkingSettings(max_chars=20))
    assert [p.text for p in passages] == [
        "一个很长的标题行甲乙丙",
        "另一个很长的标题行丁戊己",
        "正文，开头。",
    ]
    assert all(len(p.text) <= 20 for p in passages)


def test_long_paragraphs_split_on_sentence_boundaries():
    settings = ChunkingSettings(max_chars=120)
    passages = chunk_text(REPORT, "leping", settings)
    assert max(len(p.text) for p in passages) <= 120
    split = [p for p in passages if p.paragraph == passages[10].paragraph]
    assert all(p.text.endswith(("。", "；", "！", "？", "”", "，")) for p in split[:-1])
    # Every character survives the split.
    assert "".join(p.text for p in split) == "".join(
        p.text for p in chunk_text(REPORT, "leping") if p.paragraph == split[0].paragraph
    )


def test_sentences_cover_each_passage(passages):
    for passage in passages:
        spans = passage.sentences
        assert spans[0][0] == 0 and spans[-1][1] == len(passage.text)
        assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))


def test_normalisation_removes_pdf_spaces_but_keeps_english_spaces():
    assert normalize_text("增长 4.5%；完成 148 亿元") == "增长4.5%；完成148亿元"
    assert normalize_text("from PC  to   phone") == "from PC to phone"
    assert normalize_text("a\r\nb\x00c") == "a\nbc"


def test_markdown_headings_and_english_sentences():
    text = "# Guide\n\nIntro line one. Second sentence!\n\n## Setup\n\nRun it. Then wait.\n"
    passages = chunk_text(text, "guide.md")
    assert [p.section_path for p in passages] == ["Guide", "Guide > Setup"]
    assert [passages[1].text[a:b].strip() for a, b in passages[1].sentences] == [
        "Run it.",
        "Then wait.",
    ]


def test_split_sentences_handles_text_without_punctuation():
    assert split_sentences("没有标点的一行") == [(0, 7)]
    assert split_sentences("") == []


@pytest.mark.parametrize(
    "cut",
    [
        pytest.param(lambda text: text.splitlines(keepends=True), id="lines"),
        pytest.param(
            lambda text: [text[i : i + 997] for i in range(0, len(text), 997)], id="blocks"
        ),
        pytest.param(list, id="characters"),
    ],
)
@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_the_report_in_pieces_gives_the_same_passages(passages, cut, newline):
    text = REPORT.replace("\n", newline)
    # Every character its own piece cuts each "\r\n" in two.
    assert list(iter_passages(cut(text), "leping")) == passages


def test_passages_come_before_the_text_ends():
    """The chunker streams: an endless text still yields its first passages."""

    def endless() -> Iterator[str]:
        for copy in itertools.count():
            yield f"第{copy}部分\n"
            yield from REPORT.splitlines(keepends=True)
            yield "\n"

    # Under a heading the title lines are not front matter: each copy has this many.
    per_copy = len(chunk_text("第0部分\n" + REPORT, "x"))
    first = list(itertools.islice(iter_passages(endless(), "endless"), 2 * per_copy))
    assert first[0].section == ("第0部分",) and first[0].text == "政府工作报告"
    assert first[per_copy - 1].section[0] != "第1部分"
    assert first[per_copy].section == ("第1部分",)
