"""Time: a document's reference date, the period a passage speaks of, the period a question
asks about, and how well the two agree.

Work reports, annual reports, plans and summaries give the same topics for several periods:
last year's results, five years' results, this year's targets, the next five years'
targets. A question's "去年" means the year before the document's own date, so time is read
against each document's **reference date** (:func:`reference_date`): the date its own text
states (the front matter's ``（2021年4月13日在…会议上）``, a signature line
``二〇二三年三月二十八日``, a dated title), else its file's metadata (a PDF's creation date, a
.docx file's core properties, a web page's date), else none. Everything here is by the year:
a **period** is a run of years (:class:`Period`), and a passage's or a question's **stance**
says whether it reports ``results`` or sets ``targets``.

Time expressions are found by the patterns below, over the text with full-width digits
folded (NFKC) and Chinese numerals read by ``cn2an``: years (``2020年``, ``二〇二〇年``,
``2020 年``, ``２０２０年``), ranges (``2016年至2020年``, ``2021—2025年``), the five-year plans
(``十三五``, ``“十四五”时期``, ``第十三个五年规划``, ``十三個五年``, "the 13th Five-Year Plan"),
years relative to the reference date (``去年``, ``今年``, ``明年``, ``过去五年``, ``近三年``,
``今后五年``, "last year", "over the past five years", "by 2025") and, in a passage, words that
point back to the period of their section (``这一年``, ``全年``, ``这五年``, ``五年来``).
Libraries looked at first: jionlp's time parser reads the Chinese relative expressions well
but imports jiojio (GPLv3, 148 MB installed) with it; dateparser (already installed with
trafilatura) resolves points, not spans (``过去五年`` not at all, "the next five years" as a
past date, "may" as a month); the Python port of Microsoft's Recognizers-Text (last released
2021) no longer imports. What is kept of a library is ``cn2an`` for numerals.
Impossible dates (``公元前``, ``9999年``, ``2020年2月30日``) are not read as time.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

# A stance: what a passage or question is about.
RESULTS = "results"
TARGETS = "targets"
STANCES = (RESULTS, TARGETS)
# Years outside this range are not read as years (9999年, 公元前…).
FIRST_YEAR, LAST_YEAR = 1000, 2199
# Where a reference date came from.
DATE_ORIGINS = ("text", "metadata", "user")
# How far into a document, and from its end, a stated date is looked for: its first and
# last few passages, lines of at most this many characters (a date line, a signature).
_FRONT_PASSAGES = 3
_BACK_PASSAGES = 3
_DATE_LINE_CHARS = 80

_NUMERAL = "〇零一二两三四五六七八九十百千"
_N = rf"(?:[0-9]+|[{_NUMERAL}]+)"
# Single numerals are read here; longer ones by cn2an (whose import costs 0.35-0.5 s, so
# it is only loaded when a text has one).
_SMALL_NUMERALS = {c: i for i, c in enumerate("〇一二三四五六七八九十")} | {"两": 2, "零": 0}


def _year_group(name: str) -> str:
    return rf"(?P<{name}>[0-9]{{4}}|[〇零一二三四五六七八九]{{4}})"


# Durations, not dates: "3000年历史", "1000年前", "近2000年".
_NOT_A_YEAR_AFTER = re.compile(r"^\s*(?:历史|歷史|前|之久|左右|以上|多|来|來|间|間|代)")
_NOT_A_YEAR_BEFORE = re.compile(r"(?:公元前|前|有|长达|長達|约|約|达|達)\s*$")
_COMPARED = re.compile(r"(?:比|较|較|同比|相比|与|與|和|对比|對比)\s*$")

_RANGE = re.compile(
    _year_group("y1") + r"\s*年?\s*(?:至|到|—+|–|-|~|～|－)\s*" + _year_group("y2") + r"\s*年"
)
_DATE = re.compile(
    _year_group("y")
    + r"\s*年\s*(?:(?P<m>[0-9]{1,2}|[十一二三四五六七八九]{1,2})\s*月"
    + r"(?:\s*(?P<d>[0-9]{1,2}|[十一二三四五六七八九]{1,3})\s*[日号號])?)?"
)
_RANGE_AFTER = re.compile(r"\s*(?:至|到|—+|–|-|~|～|－)\s*[0-9〇零一二三四五六七八九]")
_RANGE_BEFORE = re.compile(r"(?:至|到|—+|–|-|~|～|－)\s*$")
_ISO_DATE = re.compile(
    r"(?<![0-9])(?P<y>[0-9]{4})[-/.](?P<m>[0-9]{1,2})(?:[-/.](?P<d>[0-9]{1,2}))?(?![0-9])"
)
# A year written without 年: four Chinese numerals of a year (二〇三五远景目标), or four
# digits before the name of a vision or plan (2035远景目标).
_BARE_YEAR = re.compile(
    r"(?<![〇零一二三四五六七八九十百千万])(?P<y>[一二][〇零九][〇零一二三四五六七八九]{2})"
    r"(?![〇零一二三四五六七八九十百千万年])"
    r"|(?<![0-9])(?P<d>(?:19|20|21)[0-9]{2})(?=\s*(?:远景|遠景|愿景|願景|规划|規劃|年度?(?:计划|計劃)))"
)
_BY_YEAR = re.compile(r"(?:到|至|截至|截止到|截止)\s*" + _year_group("y") + r"\s*年")
_PLAN = re.compile(
    r"(?:第\s*(?P<n1>[0-9]{1,2}|十[一二三四五六七八九]?|[一二三四五六七八九])\s*[个個]\s*五年"
    r"|(?P<n3>[0-9]{1,2}|十[一二三四五六七八九]?)\s*[个個]\s*五年\s*(?=规划|規劃|计划|計劃)"
    r"|[“\"「『]?十(?P<n2>[一二三四五六七八九])五[”\"」』]?"
    r"|[“\"「『]十五[”\"」』]|十五(?=\s*(?:期间|期間|时期|時期|规划|規劃|计划|計劃)))"
)
_RELATIVE_YEAR = re.compile(
    r"大前年|前年|去年|上一年|上年度|今年|本年度|本年|明年|来年|來年|下一年|下年度|后年|後年"
)
_RELATIVE_OFFSETS = {
    "大前年": -3, "前年": -2, "去年": -1, "上一年": -1, "上年度": -1, "今年": 0, "本年度": 0,
    "本年": 0, "明年": 1, "来年": 1, "來年": 1, "下一年": 1, "下年度": 1, "后年": 2, "後年": 2,
}  # fmt: skip
_PAST_SPAN = re.compile(
    rf"(?:过去|過去|近|最近|以往)\s*的?\s*(?P<n1>{_N})\s*年(?:来|來|间|間|里|裡)?"
    rf"|(?P<n2>{_N})\s*年(?:来|來)"
)
_NEXT_SPAN = re.compile(
    rf"(?:今后|今後|未来|未來|此后|此後|接下来|接下來|往后|往後|下一个|下一個)\s*的?\s*(?P<n>{_N})\s*年"
)
# In a passage: words that point back to the period of the section they are in.
_ONE_YEAR_CUE = re.compile(r"这一年|這一年|全年|本年|当年|當年|年内|年內|一年来|一年來|这年|這年")
_YEARS_CUE = re.compile(rf"(?:这|這)\s*(?P<n1>{_N})\s*年|(?P<n2>{_N})\s*年(?:来|來|间|間)")

_EN_RELATIVE = re.compile(
    r"\b(?:the\s+)?(?P<w>last|previous|past|this|current|next|coming|following)\s+year\b"
    r"|\bthe\s+year\s+before\s+last\b"
)
_EN_OFFSETS = {"last": -1, "previous": -1, "past": -1, "this": 0, "current": 0, "next": 1,
               "coming": 1, "following": 1}  # fmt: skip
_EN_NUMBER = r"(?P<n>[0-9]{1,2}|two|three|four|five|six|seven|eight|nine|ten)"
_EN_WORDS = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10,
}  # fmt: skip
_EN_SPAN = re.compile(
    rf"\b(?:the\s+)?(?P<d>past|last|previous|next|coming|following)\s+{_EN_NUMBER}[\s-]+years?\b"
)
_EN_RANGE = re.compile(
    r"\b(?:from\s+|between\s+)?(?P<y1>1[0-9]{3}|20[0-9]{2}|21[0-9]{2})\s*(?:-|–|—|to|and|through|until)\s*"
    r"(?P<y2>1[0-9]{3}|20[0-9]{2}|21[0-9]{2})\b"
)
_EN_BY = re.compile(r"\bby\s+(?:the\s+end\s+of\s+)?(?P<y>1[0-9]{3}|20[0-9]{2}|21[0-9]{2})\b")
# A year standing alone in English: 1900-2099, not a part of a larger number, an amount or a
# measure ("the 2000 workers" is still read as a year: rare in questions about dates).
_EN_YEAR = re.compile(
    r"(?<![0-9$,.])\b(?P<y>19[0-9]{2}|20[0-9]{2})\b(?![,.]?[0-9])"
    r"(?!\s*(?:%|percent|per\s*cent|yuan|dollars|people|persons|km|kilometres|kilometers|meters"
    r"|metres|tons|tonnes|units|households|mu|hectares|square))"
)
_EN_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
    "fourteenth": 14, "fifteenth": 15, "sixteenth": 16,
}  # fmt: skip
_EN_PLAN = re.compile(
    r"\b(?:the\s+)?(?:(?P<n>[0-9]{1,2})(?:st|nd|rd|th)|(?P<w>"
    + "|".join(_EN_ORDINALS)
    + r"))\s+five[\s-]year\s+plan\b"
)

# What follows the name of a plan: 十三五规划, 第十三个五年规划, 十三個五年規劃.
_PLAN_WORDS = re.compile(r"\s*(?:五年)?(?:规划|規劃|计划|計劃)")
# Stance words. A question's: what it wants; a heading's: what its section is.
_TARGET_WORDS = re.compile(
    r"目标|目標|计划|計劃|打算|力争|力爭|预期|預期|预计|預計|规划|規劃|争取|爭取|远景|遠景|展望|将要|將要"
    r"|[要将將](?:达到|達到|取得|完成|实现|實現|建成|新增|保持|控制|突破)"
    r"|(?i:\b(?:targets?|goals?|plan(?:s|ned)?|aims?|expected|projected|will|going\s+to)\b)"
)
_RESULT_WORDS = re.compile(
    r"完成了|实现了|實現了|取得了|达到了|達到了|增长了|增長了|新增了|已经|已經|累计|累計"
    r"|(?i:\b(?:achieved|completed|accomplished|did|grew|rose|fell|increased|decreased|was|were"
    r"|has\s+been|have\s+been|had)\b)"
)
# The stance words that make a question ask about time without naming one: "计划新开工多少
# 个项目？" wants targets, "已经完成了多少？" results. Narrower than the words above: 规划 is
# also a city's plan, 计划生育 a policy, "was" any past tense.
_TARGETS_ASKED = re.compile(
    r"目标|目標|力争|力爭|预期|預期|打算|(?:计划|計劃)(?!生育)|[要将將](?:达到|達到|新增|建成)"
    r"|(?i:\b(?:targets?|goals?|planned|plans?\s+to|expected\s+to|aims?\s+to|will)\b)"
)
_RESULTS_ASKED = re.compile(
    r"已经|已經|已完成|完成了|实现了|實現了|取得了|累计|累計"
    r"|(?i:\b(?:achieved|completed|so\s+far|has\s+been|have\s+been)\b)"
)
_HEADING_TARGETS = re.compile(
    r"安排|计划|計劃|目标|目標|任务|任務|打算|展望|考虑|考慮|思路|规划|規劃|要点|要點|重点工作|重點工作"
    r"|部署|愿景|願景|远景|遠景|建议|建議|(?i:\b(?:plan|outlook|targets?|goals?|strategy)\b)"
)
_HEADING_RESULTS = re.compile(
    r"回顾|回顧|总结|總結|成绩|成績|成就|成效|完成情况|完成情況|进展|進展|经营情况|經營情況|工作情况|工作情況"
    r"|(?i:\b(?:review|results|achievements|performance)\b)"
)


@dataclass(frozen=True, order=True)
class Period:
    """The years from ``first`` to ``last``, both included."""

    first: int
    last: int

    def __post_init__(self) -> None:
        if self.first > self.last:
            raise ValueError(f"a period ends before it starts: {self.first}-{self.last}")

    @property
    def years(self) -> int:
        """How many years the period holds."""
        return self.last - self.first + 1

    def share(self, other: Period) -> float:
        """The years the two periods have in common over the years either holds (Jaccard):
        1 for the same period, 0.2 for 2020 against 2016-2020, 0 for disjoint ones."""
        common = min(self.last, other.last) - max(self.first, other.first) + 1
        if common <= 0:
            return 0.0
        return common / (max(self.last, other.last) - min(self.first, other.first) + 1)

    def union(self, other: Period) -> Period:
        """The smallest period holding both."""
        return Period(min(self.first, other.first), max(self.last, other.last))

    def label(self, language: str = "zh") -> str:
        """``2020年`` / ``2016–2020年`` (``2020`` / ``2016–2020`` in English)."""
        years = str(self.first) if self.first == self.last else f"{self.first}\u2013{self.last}"
        return years + ("年" if language == "zh" else "")


@dataclass(frozen=True)
class ReferenceDate:
    """A document's own date, to which its relative times refer: ``year``, and ``month``
    and ``day`` when known; ``origin`` is ``text``, ``metadata`` or ``user``."""

    year: int
    month: int | None = None
    day: int | None = None
    origin: str = "text"

    def iso(self) -> str:
        """``2021-04-13``, ``2021-04`` or ``2021``."""
        parts = [f"{self.year:04d}"]
        if self.month is not None:
            parts.append(f"{self.month:02d}")
            if self.day is not None:
                parts.append(f"{self.day:02d}")
        return "-".join(parts)

    @property
    def counts_own_year(self) -> bool:
        """Whether its own year is behind it: a text dated in the second half of a year
        (a year-end summary) reports on that year; one from the first half, or with no
        month, looks back on the years before and plans its own."""
        return self.month is not None and self.month > 6


@dataclass(frozen=True)
class TimeMention:
    """A time expression as written (``text``) and the period it means, given as years
    ``relative`` to the reference year (去年: (-1, -1); 过去五年: (-5, -1)) or as
    ``absolute`` years; ``by`` marks 到2025年 / "by 2025" (from the reference year to it)."""

    text: str
    start: int
    absolute: Period | None = None
    relative: tuple[int, int] | None = None
    by: int | None = None
    # 过去五年 / 今后五年: how many years, so the span can follow the reference month.
    span: int | None = None
    direction: int = 0  # -1 past, +1 future (spans only)

    def period(self, reference: ReferenceDate | None) -> Period | None:
        """The years meant, for a document with this reference date (None when a relative
        expression meets a document without a date)."""
        if self.absolute is not None:
            return self.absolute
        if reference is None:
            return None
        year = reference.year
        if self.by is not None:
            return Period(min(year, self.by), self.by)
        if self.span is not None:
            own = 1 if reference.counts_own_year else 0
            if self.direction < 0:
                return _period(year - self.span + own, year - 1 + own)
            return _period(year + own, year + own + self.span - 1)
        assert self.relative is not None
        return _period(year + self.relative[0], year + self.relative[1])

    def is_relative(self) -> bool:
        """True when the period depends on the reference date."""
        return self.absolute is None


@dataclass(frozen=True)
class AskedTime:
    """What a question says about time: its time expressions and the stance it wants."""

    mentions: tuple[TimeMention, ...]
    stance: str | None

    def period(self, reference: ReferenceDate | None) -> Period | None:
        """The period asked about, for a document with this reference date: the span of
        all the question's periods (2019年和2020年相比: 2019-2020)."""
        found = [p for m in self.mentions if (p := m.period(reference)) is not None]
        return _joined(found) if found else None

    def text(self) -> str:
        """The time expressions as written, joined (``去年``, ``2019年、2020年``); "" for a
        question that asks for a stance alone."""
        return "、".join(m.text for m in self.mentions)


@dataclass(frozen=True)
class PassageTime:
    """The period a passage speaks of and its stance (either may be unknown)."""

    period: Period | None
    stance: str | None


def _period(first: int, last: int) -> Period | None:
    if first > last or first < FIRST_YEAR or last > LAST_YEAR:
        return None
    return Period(first, last)


def _number(text: str) -> int | None:
    """A number written in digits or Chinese numerals (五, 十三, 二〇二〇)."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    if len(text) == 1:
        return _SMALL_NUMERALS.get(text)
    if len(text) == 4 and all(c in "〇零一二三四五六七八九" for c in text):
        return int("".join(str(_SMALL_NUMERALS[c]) for c in text))
    import warnings

    import cn2an

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # cn2an warns about what it cannot read
            value = cn2an.cn2an(text, "smart")
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return int(value) if float(value).is_integer() else None


def _year(text: str) -> int | None:
    value = _number(text)
    if value is None or not FIRST_YEAR <= value <= LAST_YEAR:
        return None
    return value


def _plan_years(number: int) -> Period | None:
    """The years of the n-th five-year plan of China (the 3rd began in 1966, after a gap)."""
    if number == 1:
        return Period(1953, 1957)
    if number == 2:
        return Period(1958, 1962)
    if 3 <= number <= 40:
        start = 1966 + 5 * (number - 3)
        return Period(start, start + 4)
    return None


def fold(text: str) -> str:
    """The text as the time patterns read it: NFKC (full-width digits and letters folded)
    and lower case; the same length as ``text`` where NFKC keeps lengths (it does for
    Chinese text and full-width forms)."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return folded if len(folded) == len(text) else text.lower()


def _valid_date(year: int, month: int | None, day: int | None) -> bool:
    if month is None:
        return True
    try:
        datetime.date(year, month, day or 1)
    except ValueError:
        return False
    return True


def find_mentions(text: str) -> list[TimeMention]:
    """The time expressions of a text, in order, each with the period it means (see the
    module docstring); expressions that name impossible dates are left out."""
    folded = fold(text)
    found: list[TimeMention] = []
    taken = [False] * len(folded)

    def free(start: int, end: int) -> bool:
        return not any(taken[start:end])

    def take(mention: TimeMention, end: int) -> None:
        for i in range(mention.start, end):
            taken[i] = True
        found.append(mention)

    for match in _RANGE.finditer(folded):
        first, last = _year(match["y1"]), _year(match["y2"])
        if first is not None and last is not None and first <= last and free(*match.span()):
            period = Period(first, last)
            take(TimeMention(text[match.start() : match.end()], match.start(), period), match.end())
    for match in _BY_YEAR.finditer(folded):
        year = _year(match["y"])
        if year is not None and free(*match.span()):
            take(
                TimeMention(text[match.start() : match.end()], match.start(), by=year), match.end()
            )
    for match in _DATE.finditer(folded):
        if not free(*match.span()):
            continue
        before, after = folded[: match.start()], folded[match.end() :]
        if _NOT_A_YEAR_BEFORE.search(before[-4:]) or (
            match["m"] is None and _NOT_A_YEAR_AFTER.match(after)
        ):
            continue
        year = _year(match["y"])
        month = _number(match["m"]) if match["m"] else None
        day = _number(match["d"]) if match["d"] else None
        if year is None or not _valid_date(year, month, day):
            continue
        take(
            TimeMention(text[match.start() : match.end()], match.start(), Period(year, year)),
            match.end(),
        )
    for match in _BARE_YEAR.finditer(folded):
        year = _year(match["y"] or match["d"])
        if year is not None and free(*match.span()):
            take(
                TimeMention(text[match.start() : match.end()], match.start(), Period(year, year)),
                match.end(),
            )
    for match in _PLAN.finditer(folded):
        digits = match["n1"] or match["n3"] or (f"十{match['n2']}" if match["n2"] else "十")
        number = _number(digits)
        plan = _plan_years(number) if number is not None else None
        if plan is not None and free(*match.span()):
            take(TimeMention(text[match.start() : match.end()], match.start(), plan), match.end())
    for match in _RELATIVE_YEAR.finditer(folded):
        if free(*match.span()):
            offset = _RELATIVE_OFFSETS[match.group()]
            mention = TimeMention(match.group(), match.start(), relative=(offset, offset))
            take(mention, match.end())
    for pattern, direction in ((_PAST_SPAN, -1), (_NEXT_SPAN, 1)):
        for match in pattern.finditer(folded):
            digits = next(g for g in match.groups() if g)
            years = _number(digits)
            if years is None or not 1 <= years <= 50 or not free(*match.span()):
                continue
            mention = TimeMention(
                text[match.start() : match.end()], match.start(), span=years, direction=direction
            )
            take(mention, match.end())
    found.extend(_english_mentions(text, folded, taken))
    return sorted(found, key=lambda m: m.start)


def _english_mentions(text: str, folded: str, taken: list[bool]) -> Iterator[TimeMention]:
    def free(start: int, end: int) -> bool:
        if any(taken[start:end]):
            return False
        for i in range(start, end):
            taken[i] = True
        return True

    for match in _EN_PLAN.finditer(folded):
        number = int(match["n"]) if match["n"] else _EN_ORDINALS[match["w"]]
        period = _plan_years(number)
        if period is not None and free(*match.span()):
            yield TimeMention(text[match.start() : match.end()], match.start(), period)
    for match in _EN_RANGE.finditer(folded):
        first, last = int(match["y1"]), int(match["y2"])
        if first <= last and free(*match.span()):
            yield TimeMention(text[match.start() : match.end()], match.start(), Period(first, last))
    for match in _EN_BY.finditer(folded):
        if free(*match.span()):
            yield TimeMention(text[match.start() : match.end()], match.start(), by=int(match["y"]))
    for match in _EN_YEAR.finditer(folded):
        year = int(match["y"])
        if free(*match.span()):
            yield TimeMention(text[match.start() : match.end()], match.start(), Period(year, year))
    for match in _EN_SPAN.finditer(folded):
        years = int(match["n"]) if match["n"].isdigit() else _EN_WORDS[match["n"]]
        if 1 < years <= 50 and free(*match.span()):
            direction = -1 if match["d"] in ("past", "last", "previous") else 1
            yield TimeMention(
                text[match.start() : match.end()], match.start(), span=years, direction=direction
            )
    for match in _EN_RELATIVE.finditer(folded):
        if free(*match.span()):
            offset = -2 if match["w"] is None else _EN_OFFSETS[match["w"]]
            yield TimeMention(
                text[match.start() : match.end()], match.start(), relative=(offset, offset)
            )


def stance_of(text: str) -> str | None:
    """The stance a question's words want: ``targets`` (目标, 计划, 力争, "target", "will"),
    ``results`` (完成了, 实现了, 累计, "achieved", "was"), or None; targets win a tie
    ("What was the target?")."""
    if _TARGET_WORDS.search(text):
        return TARGETS
    if _RESULT_WORDS.search(text):
        return RESULTS
    return None


def asked_time(question: str) -> AskedTime | None:
    """What the question asks about time, or None when it names none: its time expressions
    and the stance it wants; without time expressions, a stance its words clearly ask for
    (计划新开工多少个项目？: targets; 已经完成了多少？: results) is read alone."""
    mentions = tuple(find_mentions(question))
    if not mentions:
        targets = bool(_TARGETS_ASKED.search(question))
        results = bool(_RESULTS_ASKED.search(question))
        if targets == results:
            return None
        return AskedTime((), TARGETS if targets else RESULTS)
    # The words of a time are not a stance: "the 13th Five-Year Plan", 十三五规划.
    rest = list(question)
    for mention in mentions:
        end = mention.start + len(mention.text)
        after = _PLAN_WORDS.match(question, end)
        for i in range(mention.start, after.end() if after else end):
            rest[i] = " "
    return AskedTime(mentions, stance_of("".join(rest)))


def heading_stance(heading: str) -> str | None:
    """The stance of a section from its heading: 回顾/总结/成绩 → results; 安排/计划/目标/
    任务/考虑/展望 → targets; None for neither (or both)."""
    targets = bool(_HEADING_TARGETS.search(heading))
    results = bool(_HEADING_RESULTS.search(heading))
    if targets == results:
        return None
    return TARGETS if targets else RESULTS


def _own_periods(text: str, reference: ReferenceDate) -> list[Period]:
    """The periods a text names, leaving out those it compares with (比2019年, 与上年相比)."""
    periods = []
    for mention in find_mentions(text):
        if _COMPARED.search(text[max(0, mention.start - 3) : mention.start]):
            continue
        period = mention.period(reference)
        if period is not None:
            periods.append(period)
    return periods


def named_years(text: str, reference: ReferenceDate | None) -> Period | None:
    """The span of every year a passage's text names (comparisons included: 比2019年 names
    2019), against its document's reference date; None for none, or without a date."""
    if reference is None:
        return None
    found = [p for m in find_mentions(text) if (p := m.period(reference)) is not None]
    return _joined(found) if found else None


def _joined(periods: Sequence[Period]) -> Period:
    joined = periods[0]
    for other in periods[1:]:
        joined = joined.union(other)
    return joined


def _points_back(text: str) -> int | None:
    """How many years a passage's own words say it speaks of (这一年 / 全年: 1; 这五年 /
    五年来: 5), or None: the first such words of the text."""
    cues: list[tuple[int, int]] = []
    for match in _YEARS_CUE.finditer(text):
        years = _number(match["n1"] or match["n2"])
        if years is not None and years > 1:
            cues.append((match.start(), years))
    one = _ONE_YEAR_CUE.search(text)
    if one:
        cues.append((one.start(), 1))
    return min(cues)[1] if cues else None


def document_times(
    passages: Sequence[tuple[Sequence[str], str]], reference: ReferenceDate | None
) -> list[PassageTime | None]:
    """The period and stance of each passage of one document, given in order as (section
    path, text), relative to the document's reference date; all None without one.

    The innermost heading that names a period gives it (一、2020年工作 → 2020; 三、2021年工作
    安排 → 2021; 二、“十四五”时期… → 2021-2025). When that heading names several (2020年工作及
    “十三五”发展回顾), the passage's own words choose: a period its first sentence names
    (2020年是…), else words that point back (这一年 / 全年 → 2020; 这五年 / 五年来 →
    2016-2020); without either, it speaks of what the passage before it under the same heading
    spoke of, and the first one of the heading's span. Under headings without a period, the
    periods its first sentence names give it (leaving out those it compares with: 比上年
    增长). A document's front matter (the first passage, without a heading, of several
    lines: title, date line, speaker) speaks of no period: its date is the document's.

    The stance is the innermost heading's (回顾 → results, 安排 → targets), else it follows
    from the period against the reference date (all before it: results; all after:
    targets; its own year: targets in a text from the first half of a year, results in one
    from the second).
    """
    if reference is None:
        return [None] * len(passages)
    times: list[PassageTime | None] = []
    previous: tuple[tuple[str, ...], Period] | None = None  # heading path and its choice
    for position, (section, text) in enumerate(passages):
        if position == 0 and not section and "\n" in text.strip():
            times.append(PassageTime(None, None))
            continue
        period: Period | None = None
        stance: str | None = None
        giving: tuple[str, ...] = ()
        named: list[Period] = []
        for depth, heading in enumerate(section):
            found = _own_periods(heading, reference)
            if found:
                named, giving = found, tuple(section[: depth + 1])
            stance = heading_stance(heading) or stance
        first_sentence = re.split(r"(?<=[。！？!?；;])", text, maxsplit=1)[0]
        own = _own_periods(first_sentence, reference)
        if len(named) == 1:
            period = named[0]
        elif named:
            period = _chosen(named, own, text)
            if period is None and previous is not None and previous[0] == giving:
                period = previous[1]
            if period is None:
                period = _joined(named)
            else:
                previous = (giving, period)
        elif own:
            period = _joined(own)
        if stance is None and period is not None:
            stance = _stance_by_date(period, reference)
        times.append(PassageTime(period, stance))
    return times


def _chosen(named: Sequence[Period], own: Sequence[Period], text: str) -> Period | None:
    """Of the periods a heading names, the one a passage's own words choose, or None."""
    for period in own:
        if period in named:
            return period
    years = _points_back(text)
    if years is not None:
        fitting = [p for p in named if p.years == years]
        if len(fitting) == 1:
            return fitting[0]
    return None


def _stance_by_date(period: Period, reference: ReferenceDate) -> str | None:
    if period.last < reference.year:
        return RESULTS
    if period.first > reference.year:
        return TARGETS
    if period.first == period.last == reference.year:
        return RESULTS if reference.counts_own_year else TARGETS
    if period.first < reference.year:  # it runs up to the reference year: a review
        return RESULTS if reference.counts_own_year or period.last == reference.year else None
    return TARGETS  # from the reference year on: a plan


def reference_date(
    lines_front: Iterable[str], lines_back: Iterable[str], title: str | None = None
) -> ReferenceDate | None:
    """The date a document states for itself: the first full date (year and month, with or
    without the day) on a short line of its front (a date line ``（2021年4月13日在…）``), else
    on a short line of its end (a signature ``二〇二三年三月二十八日``), else the year of a dated
    title (``2024年工作总结``); None when it states none. Impossible dates are passed over."""
    for lines in (lines_front, lines_back):
        for line in lines:
            if len(line) > _DATE_LINE_CHARS:
                continue
            date = _full_date(line)
            if date is not None:
                return date
    if title:
        for mention in find_mentions(title):
            if mention.absolute is not None and mention.absolute.years == 1:
                return ReferenceDate(mention.absolute.first)
    return None


def _full_date(line: str) -> ReferenceDate | None:
    folded = fold(line)
    for match in _DATE.finditer(folded):
        if match["m"] is None:
            continue
        # A date that starts or ends a range (报告期：2022年1月1日至2022年12月31日) is the
        # period a document covers, not its own date.
        if _RANGE_AFTER.match(folded, match.end()) or _RANGE_BEFORE.search(folded[: match.start()]):
            continue
        year = _year(match["y"])
        month = _number(match["m"])
        day = _number(match["d"]) if match["d"] else None
        if year is not None and month is not None and _valid_date(year, month, day):
            return ReferenceDate(year, month, day)
    for match in _ISO_DATE.finditer(folded):
        year, month = int(match["y"]), int(match["m"])
        day = int(match["d"]) if match["d"] else None
        if FIRST_YEAR <= year <= LAST_YEAR and _valid_date(year, month, day):
            return ReferenceDate(year, month, day)
    return None


def parse_date(text: str, origin: str = "user") -> ReferenceDate:
    """A date given by a user or read from metadata: ``2021-04-13``, ``2021-04`` or
    ``2021`` (also ``2021/4/13``, ``2021年4月13日``). Raises ValueError naming the text for
    anything else or an impossible date."""
    cleaned = text.strip() if isinstance(text, str) else ""
    match = re.fullmatch(
        r"(?P<y>[0-9]{4})(?:[-/.](?P<m>[0-9]{1,2})(?:[-/.](?P<d>[0-9]{1,2}))?)?", cleaned
    )
    if match is None:
        match = re.fullmatch(
            r"(?P<y>[0-9]{4})\s*年(?:\s*(?P<m>[0-9]{1,2})\s*月(?:\s*(?P<d>[0-9]{1,2})\s*[日号])?)?",
            cleaned,
        )
    if match is None:
        raise ValueError(
            f"not a date: {text!r}; give YYYY-MM-DD, YYYY-MM or YYYY (for example 2021-04-13)"
        )
    year = int(match["y"])
    month = int(match["m"]) if match["m"] else None
    day = int(match["d"]) if match["d"] else None
    if not FIRST_YEAR <= year <= LAST_YEAR or not _valid_date(year, month, day):
        raise ValueError(f"not a real date: {text!r}")
    return ReferenceDate(year, month, day, origin)
