"""Fit and check the found / not-found verdict (``qa.ranking.CALIBRATIONS``) for an encoder.

For every question of a group the bundled report's index is asked once (hybrid, k=5) and
the verdict's features are read from that one search (``qa.ranking.verdict_features``).
A logistic model over them is fitted on the development questions (labelled found) and
the calibration off-topic questions (labelled not found); the questions held out of the
fit check it. Prints the coefficients to record in ``qa/ranking.py`` and the table in
README.md ("Found or not found").

    .venv/bin/python scripts/calibrate.py                 # the default encoder
    .venv/bin/python scripts/calibrate.py --model NAME    # another one (builds its index)
    .venv/bin/python scripts/calibrate.py --recorded      # the table of the recorded one
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import qa
from qa import ranking
from qa.encoders import DEFAULT_ENCODER
from qa.evaluation import Question, read_tsv_questions

DEV_QUESTIONS = Path(__file__).resolve().parents[2] / "shared" / "eval" / "leping-dev.tsv"
FEATURES = ("margin", "disagreement", "coverage", "cross_script")

# Not about the report: fitted as not found.
OFF_TOPIC = [
    "法国的首都是哪里？", "How do I bake bread?", "如何做红烧肉？", "太阳系有几颗行星？",
    "谁写了《红楼梦》？", "What is the capital of Japan?", "Python怎么读取文件？", "明天会下雨吗？",
    "世界上最高的山是什么？", "苹果手机多少钱？", "量子力学的基本原理是什么？",
    "How tall is the Eiffel tower?", "足球世界杯冠军是谁？", "猫为什么喜欢睡觉？",
    "今天晚上吃什么？", "Who won the 2018 World Cup?", "恐龙是怎么灭绝的？", "如何学好英语？",
    "What is the speed of light?", "北京到上海的高铁要多久？",
    "如何办理护照？", "高血压患者应该注意什么？", "怎样养多肉植物？", "北京故宫的门票多少钱？",
    "电脑蓝屏怎么办？", "宋朝是哪一年建立的？", "怎么写一封求职信？", "马拉松全程多少公里？",
    "新能源汽车的续航里程一般是多少？", "如何给猫洗澡？",
    "What is the population of Canada?", "How do I reset my router?",
    "Who painted the Mona Lisa?", "What is the boiling point of water?", "How do vaccines work?",
    "What is the best programming language for beginners?", "When did World War II end?",
    "How many calories are in an apple?", "What is the tallest building in the world?",
    "How do I change a flat tire?",
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
    contents = index._contents
    candidates = index._candidates(contents, text, "all")
    ranked = ranking.rank(text, candidates, 5, "hybrid", contents.passages_of)
    features = ranking.verdict_features(text, candidates, ranked)
    assert features is not None
    rank = None
    if isinstance(question, Question):
        rank = next((h.rank for h in ranked.hits if question.is_answered_by(h)), None)
    return Row(group, text, isinstance(question, Question), rank, features)


def fit(rows: list[Row]) -> ranking.Calibration:
    """A logistic regression of on-topic over the features (lightly regularised).

    Each of the four groups (same or cross script, on or off topic) weighs the same in
    the fit: the 3 English development questions count as much as the 59 Chinese ones.
    """
    from sklearn.linear_model import LogisticRegression

    x = np.array([[row.features[name] for name in FEATURES] for row in rows])
    y = np.array([row.on_topic for row in rows])
    group = [(row.features["cross_script"], row.on_topic) for row in rows]
    counts = {g: group.count(g) for g in set(group)}
    weight = np.array([len(rows) / (len(counts) * counts[g]) for g in group])
    scale = x.std(axis=0)
    model = LogisticRegression(C=10.0).fit(x / scale, y, sample_weight=weight)
    weights = model.coef_[0] / scale
    return ranking.Calibration(
        intercept=round(float(model.intercept_[0]), 4),
        weights={name: round(float(w), 4) for name, w in zip(FEATURES, weights, strict=True)},
    )


def main() -> int:
    """Fit the calibration of an encoder on the bundled report and print the check."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=DEFAULT_ENCODER)
    parser.add_argument("--show", action="store_true", help="print every question's features")
    parser.add_argument(
        "--recorded",
        action="store_true",
        help="judge with the calibration recorded in qa.ranking instead of the one fitted now",
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
        "held out: English about the report": questions(HELD_OUT_ENGLISH),
        "held out: Chinese about the report": questions(HELD_OUT_CHINESE),
        "held out: off-topic": HELD_OUT_OFF_TOPIC,
        "same genre, not in the report": NEAR_TOPIC,
    }
    rows = [ask(index, name, q) for name, group in groups.items() for q in group]
    fitted = [r for r in rows if r.group.startswith(("development", "off-topic"))]
    calibration = fit(fitted)
    if args.recorded:
        print(f"fitted now on {len(fitted)} questions (not used below): {calibration}")
        calibration = ranking.CALIBRATIONS[index.encoder.name]
        print(f"encoder {index.encoder.name}: the calibration recorded in qa.ranking")
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
    if args.show:
        for r in rows:
            values = " ".join(f"{k}={v:.3f}" for k, v in r.features.items())
            confidence = calibration.confidence(r.features)
            print(f"{r.group[:24]:24} rank={r.answer_rank} p={confidence:.2f} {values}", r.question)
    return 0


if __name__ == "__main__":
    sys.exit(main())
