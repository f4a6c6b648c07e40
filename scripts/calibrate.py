"""Fit and check the found / not-found verdict (``qa.verdict.CALIBRATIONS``) for an encoder.

For every question of a group the bundled report's index is asked once (hybrid, k=5) and
the verdict's features are read from that one search (``qa.verdict.verdict_features``),
relative to the index's baseline (``qa.verdict.probe_baseline``). A logistic model over
them is fitted on the development questions and the English ones written from them
(labelled found) and the off-topic questions (labelled not found); the questions held out
of the fit check it. Prints the coefficients to record in ``qa/verdict.py`` and the table in
README.md ("Found or not found").

    .venv/bin/python scripts/calibrate.py                 # the default encoder
    .venv/bin/python scripts/calibrate.py --model NAME    # another one (builds its index)
    .venv/bin/python scripts/calibrate.py --recorded      # the table of the recorded one
    .venv/bin/python scripts/calibrate.py --cv            # cross-validated error, by feature set
    .venv/bin/python scripts/calibrate.py --cmrc 300      # also another corpus: CMRC 2018 dev

``--cmrc N`` asks every Nth-spaced CMRC question (N of them) against the index of the CMRC
contexts (cached as by ``qa eval``), and the off-topic lists against the same index: the
calibration, fitted on the report only, judged on a corpus it never saw.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import qa
from qa import answers, verdict
from qa.encoders import DEFAULT_ENCODER
from qa.evaluation import Question, read_tsv_questions
from qa.question import read_question

DEV_QUESTIONS = Path(__file__).resolve().parents[2] / "shared" / "eval" / "leping-dev.tsv"
FEATURES = ("margin", "disagreement", "coverage", "cross_script", "best")
CMRC = DEV_QUESTIONS.parent / "cmrc2018" / "cmrc2018_dev.json"

# Not about the report: fitted as not found. They are also the questions each index is
# asked for the verdict's baseline (qa.verdict.PROBE_QUESTIONS).
OFF_TOPIC = list(verdict.PROBE_QUESTIONS)
# About the report, in English (question, text of the answering passage): fitted as found.
# Written for the fit, from development questions (the development set has 3 in English).
FITTED_ENGLISH = [
    ("How much did industrial value added above designated size grow in 2020?",
     "规模以上工业增加值增长4.5%"),
    ("What were total retail sales of consumer goods in 2020?", "社会消费品零售总额完成148亿元"),
    ("How many people were given nucleic acid tests?", "累计核酸检测9.03万人"),
    ("How many people were put in centralised quarantine?", "集中隔离1773人"),
    ("How much rent on state-owned property was waived?", "减免国有资产房屋租金335.73万元"),
    ("How many new industrial enterprises above designated size were added?",
     "全年新增规上工业企业19家"),
    ("What is the family doctor contract fulfilment rate?", "家庭医生履约率100%"),
    ("How many film screenings were taken to the countryside?", "送电影5041场"),
    ("How many beautiful and liveable model villages were built?", "建设美丽宜居示范村35个"),
    ("How many cadres and residents fought the flood?", "1.2万余干部群众奋战在抗洪一线"),
    ("By how much did fixed asset investment grow in the 13th Five-Year Plan?",
     "固定资产投资增长70.5%"),
    ("How many kilometres of county and township roads will be resurfaced?", "县乡路面改造70公里"),
    ("How many rural nursing homes will be renovated?", "完成10所农村敬老院改造升级"),
    ("What is this year's target for consumer price inflation?", "居民消费价格总水平涨幅在3%左右"),
    ("What does the term 'two violations' refer to?", "即违法用地、违法建设"),
    ("How will people from the area be encouraged to come back and start businesses?",
     "鼓励引导乡贤回乡创业"),
]  # fmt: skip
# Held out of the fit: not about the report.
HELD_OUT_OFF_TOPIC = [
    "日本的首都是哪里？", "怎么煮米饭？", "狗为什么会摇尾巴？", "银河系有多大？",
    "鲁迅的代表作有哪些？", "如何提高睡眠质量？", "比特币的价格是多少？", "iPhone 15有什么新功能？",
    "莎士比亚是哪国人？", "长江有多长？", "长城有多长？", "怎样预防感冒？", "唐诗三百首是谁编的？",
    "地球到月球有多远？", "如何做番茄炒蛋？", "篮球比赛一场多长时间？",
    "What is machine learning?", "How many legs does a spider have?",
    "What is the capital of Australia?", "How do airplanes fly?", "Who discovered penicillin?",
    "What is the largest ocean?", "How do I make a cup of coffee?",
    "What year did the Titanic sink?", "How many players are on a soccer team?",
]  # fmt: skip
# Held out of the fit: about the report, in English (question, text of the answering passage).
HELD_OUT_ENGLISH = [
    ("What was Leping's GDP in 2020?", "353.26亿元"),
    ("How much total fiscal revenue was collected in 2020?", "财政总收入完成47.26亿元"),
    ("What is the per capita disposable income of urban residents?", "39214元"),
    ("How many registered poor people were there?", "13929名"),
    ("How many charity canteens were built?", "瓷都爱心食堂"),
    ("How many old residential communities are being renovated?", "143个老旧小区改造项目"),
    ("How much were taxes and fees cut?", "累计减税降费2.34亿元"),
    ("How many years has the city gone without a major safety accident?",
     "连续18年未发生重大及以上事故"),
    ("How many calls did the 12345 hotline receive?", "全年共接受市民来电10万余个"),
    ("How many dangerous situations were handled during the flood?", "成功处置了18处较大险情"),
    ("How many reform tasks were completed in the past five years?", "754项改革课题"),
    ("What share of days had good air quality?", "空气优良率达95.4%"),
    ("How many students were admitted to Peking and Tsinghua University?", "14人录取北大、清华"),
    ("How many dead-end roads were opened up?", "19条断头路"),
    ("How many beds will the traditional Chinese medicine hospital have?", "床位达到800张"),
    ("How many rural household toilets will be renovated?", "改造农村户厕4000户"),
    ("How many new primary and secondary school places will be added?", "累计新增中小学学位5600个"),
    ("What is the growth target for general public budget revenue?", "一般公共预算收入增长6%左右"),
    ("How many new high-tech enterprises are planned?", "高新技术企业8家"),
    ("What is the coverage rate of improved rice varieties?", "水稻良种覆盖率达97%"),
    ("What was the total trading volume of vegetables?", "蔬菜完成总交易额20.7亿元"),
    ("How many investment projects were attracted last year?", "共引进项目44个"),
    ("Who delivered the government work report?", "高翔"),
    ("How long did it take to cure the only confirmed COVID-19 case?",
     "仅用9天就治愈唯一一例确诊病例"),
    ("How many brick kilns were closed?", "105座砖瓦窑"),
]  # fmt: skip
# Held out of the fit: about the report, in Chinese, said in other words than the report.
HELD_OUT_CHINESE = [
    ("去年城里居民一个人平均能挣多少钱？", "39214元"),
    ("市里的空气质量怎么样？", "空气优良率达95.4%"),
    ("有几个学生考上了北大清华？", "14人录取北大、清华"),
    ("防汛期间处理了多少险情？", "成功处置了18处较大险情"),
    ("今年要改多少户农村厕所？", "改造农村户厕4000户"),
    ("中医院改造以后有多少张床？", "床位达到800张"),
    ("政务热线一年接了多少电话？", "全年共接受市民来电10万余个"),
    ("谁作的报告？", "高翔"),
    ("五年里完成了多少项改革？", "754项改革课题"),
    ("老旧小区改造了多少个？", "143个老旧小区改造项目"),
]  # fmt: skip
# The report's genre, but not in it: reported, not expected to be caught.
NEAR_TOPIC = [
    "上海市2020年的地区生产总值是多少？", "景德镇市的人口有多少？",
    "2022年乐平市的财政收入是多少？",
    "What was Shanghai's GDP in 2020?",
]  # fmt: skip


@dataclass
class Row:
    """One question asked: its group, whether it is on topic, where its answer ranked."""

    group: str
    question: str
    on_topic: bool
    answer_rank: int | None  # rank of the answering passage in the top 5 (on-topic only)
    features: dict[str, float]


def ask(index: qa.Index, group: str, question: Question | str) -> Row:
    """Ask one question once; read the verdict features from that search."""
    text = question.question if isinstance(question, Question) else question
    asked = read_question(text)
    contents = index._contents
    candidates = index._candidates(contents, asked, "all")
    ranked = answers.rank(asked, candidates, 5, "hybrid", contents.passages_of)
    raw = verdict.verdict_features(asked, candidates, ranked.passages)
    assert raw is not None
    features = verdict.relative_features(asked, raw, index._baseline(contents))
    assert features is not None
    rank = None
    if isinstance(question, Question):
        rank = next((h.rank for h in ranked.hits if question.is_answered_by(h)), None)
    return Row(group, text, isinstance(question, Question), rank, features)


def cross_validated(
    rows: list[Row], features: tuple[str, ...], repeats: int = 20
) -> dict[str, float]:
    """Share of questions misjudged in repeated 5-fold cross-validation, per group (same or
    cross script, on or off topic), over the report's rows of every group but NEAR_TOPIC."""
    rows = [r for r in rows if not r.group.startswith("same genre")]
    rng = np.random.default_rng(0)
    errors: dict[str, list[bool]] = {}
    for _ in range(repeats):
        fold = rng.integers(0, 5, len(rows))
        for held in range(5):
            train = [r for r, f in zip(rows, fold, strict=True) if f != held]
            calibration = fit(train, features)
            for row, f in zip(rows, fold, strict=True):
                if f == held:
                    key = ("English" if row.features["cross_script"] else "Chinese") + (
                        ", on topic" if row.on_topic else ", off topic"
                    )
                    found = calibration.confidence(row.features) >= 0.5
                    errors.setdefault(key, []).append(found != row.on_topic)
    return {key: float(np.mean(value)) for key, value in sorted(errors.items())}


def fit(rows: list[Row], features: tuple[str, ...] = FEATURES) -> verdict.Calibration:
    """A logistic regression of on-topic over the features (lightly regularised).

    Each of the four groups (same or cross script, on or off topic) weighs the same in
    the fit: the 3 English development questions count as much as the 59 Chinese ones.
    """
    from sklearn.linear_model import LogisticRegression

    x = np.array([[row.features[name] for name in features] for row in rows])
    y = np.array([row.on_topic for row in rows])
    group = [(row.features["cross_script"], row.on_topic) for row in rows]
    counts = {g: group.count(g) for g in set(group)}
    weight = np.array([len(rows) / (len(counts) * counts[g]) for g in group])
    scale = x.std(axis=0)
    model = LogisticRegression(C=10.0).fit(x / scale, y, sample_weight=weight)
    weights = model.coef_[0] / scale
    return verdict.Calibration(
        intercept=round(float(model.intercept_[0]), 4),
        weights={name: round(float(w), 4) for name, w in zip(features, weights, strict=True)},
    )


def cmrc_table(calibration: verdict.Calibration, model: str, count: int) -> None:
    """Judge CMRC 2018 questions and the off-topic lists against the CMRC contexts' index."""
    from qa.evaluation import contexts_index, read_squad

    questions, documents = read_squad(CMRC)
    index = contexts_index(CMRC, documents, model, progress=True)
    step = max(1, len(questions) // count)
    groups: dict[str, list[Question] | list[str]] = {
        "CMRC 2018 dev questions": questions[::step][:count],
        "off-topic (fitted; the probes)": OFF_TOPIC,
        "held out: off-topic": HELD_OUT_OFF_TOPIC,
    }
    print()
    print(f"another corpus: the {len(documents)} CMRC 2018 dev contexts")
    print("| questions | n | answer in top 3 | judged found | confidence: min / median / max |")
    print("|---|---|---|---|---|")
    for name, group in groups.items():
        rows = [ask(index, name, q) for q in group]
        confidence = [calibration.confidence(r.features) for r in rows]
        top3 = sum(r.answer_rank is not None and r.answer_rank <= 3 for r in rows)
        print(
            f"| {name} | {len(rows)} | {top3 if rows[0].on_topic else '-'} "
            f"| {sum(c >= 0.5 for c in confidence)} | {min(confidence):.2f} / "
            f"{statistics.median(confidence):.2f} / {max(confidence):.2f} |"
        )


def main() -> int:
    """Fit the calibration of an encoder on the bundled report and print the check."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=DEFAULT_ENCODER)
    parser.add_argument("--show", action="store_true", help="print every question's features")
    parser.add_argument(
        "--recorded",
        action="store_true",
        help="judge with the calibration recorded in qa.verdict instead of the one fitted now",
    )
    parser.add_argument(
        "--cv", action="store_true", help="print cross-validated errors with and without 'best'"
    )
    parser.add_argument(
        "--cmrc", type=int, default=0, metavar="N", help="also judge N CMRC 2018 questions"
    )
    args = parser.parse_args()
    if not DEV_QUESTIONS.exists():
        print(f"{DEV_QUESTIONS} is missing", file=sys.stderr)
        return 1
    if args.model == DEFAULT_ENCODER:
        index = qa.default_index()
    else:
        index = qa.Index.build([qa.BUNDLED_REPORT], model=args.model)
    dev = read_tsv_questions(DEV_QUESTIONS)

    def questions(pairs: list[tuple[str, str]]) -> list[Question]:
        return [Question("held-out", q, a) for q, a in pairs]

    groups: dict[str, list[Question] | list[str]] = {
        "development, Chinese": [q for q in dev if not q.question.isascii()],
        "development, English": [q for q in dev if q.question.isascii()],
        "off-topic (fitted)": OFF_TOPIC,
        "English about the report (fitted)": questions(FITTED_ENGLISH),
        "held out: English about the report": questions(HELD_OUT_ENGLISH),
        "held out: Chinese about the report": questions(HELD_OUT_CHINESE),
        "held out: off-topic": HELD_OUT_OFF_TOPIC,
        "same genre, not in the report": NEAR_TOPIC,
    }
    rows = [ask(index, name, q) for name, group in groups.items() for q in group]
    fitted = [r for r in rows if r.group.startswith("development") or "(fitted)" in r.group]
    calibration = fit(fitted)
    if args.recorded:
        print(f"fitted now on {len(fitted)} questions (not used below): {calibration}")
        calibration = verdict.CALIBRATIONS[index.encoder.name]
        print(f"encoder {index.encoder.name}: the calibration recorded in qa.verdict")
    else:
        print(f"encoder {index.encoder.name}: fitted on {len(fitted)} questions")
    print(f"    {index.encoder.name!r}: Calibration(")
    print(f"        intercept={calibration.intercept},")
    print(f"        weights={dict(calibration.weights)},")
    print("    ),")
    print()
    print(
        "| questions | n | answer in top 3 | judged found | found, answer in top 3 "
        "| confidence: min / median / max |"
    )
    print("|---|---|---|---|---|---|")
    for name in groups:
        mine = [r for r in rows if r.group == name]
        confidence = [calibration.confidence(r.features) for r in mine]
        found = [c >= 0.5 for c in confidence]
        on = mine[0].on_topic
        top3 = [r.answer_rank is not None and r.answer_rank <= 3 for r in mine]
        print(
            f"| {name} | {len(mine)} | {sum(top3) if on else '-'} | {sum(found)} "
            f"| {sum(f and t for f, t in zip(found, top3, strict=True)) if on else '-'} "
            f"| {min(confidence):.2f} / {statistics.median(confidence):.2f} "
            f"/ {max(confidence):.2f} |"
        )
    if args.cmrc and CMRC.exists():
        cmrc_table(calibration, args.model, args.cmrc)
    if args.cv:
        print()
        print("| features | " + " | ".join(cross_validated(rows, FEATURES)) + " | mean |")
        print("|---|---|---|---|---|---|")
        for features in (FEATURES, tuple(f for f in FEATURES if f != "best")):
            errors = cross_validated(rows, features)
            cells = " | ".join(f"{e:.3f}" for e in errors.values())
            print(f"| {', '.join(features)} | {cells} | {np.mean(list(errors.values())):.3f} |")
    if args.show:
        for r in rows:
            values = " ".join(f"{k}={v:.3f}" for k, v in r.features.items())
            confidence = calibration.confidence(r.features)
            print(f"{r.group[:24]:24} rank={r.answer_rank} p={confidence:.2f} {values}", r.question)
    return 0


if __name__ == "__main__":
    sys.exit(main())
