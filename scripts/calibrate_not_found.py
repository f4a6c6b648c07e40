"""Re-measure the web chat's "not found" threshold on the bundled report.

Prints, for each group of questions, the spread of the app's confidence (``qa.app.confidence``)
and how many are judged found at ``CONFIDENCE_THRESHOLD``: the table in README.md
("The not-found threshold").

    .venv/bin/python scripts/calibrate_not_found.py
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import qa
from qa.app import CONFIDENCE_THRESHOLD, answer

DEV_QUESTIONS = Path(__file__).resolve().parents[2] / "shared" / "eval" / "leping-dev.tsv"
# Used to choose the weights and the threshold.
OFF_TOPIC = [
    "法国的首都是哪里？", "How do I bake bread?", "如何做红烧肉？", "太阳系有几颗行星？",
    "谁写了《红楼梦》？", "What is the capital of Japan?", "Python怎么读取文件？", "明天会下雨吗？",
    "世界上最高的山是什么？", "苹果手机多少钱？", "量子力学的基本原理是什么？",
    "How tall is the Eiffel tower?", "足球世界杯冠军是谁？", "猫为什么喜欢睡觉？",
    "今天晚上吃什么？", "Who won the 2018 World Cup?", "恐龙是怎么灭绝的？", "如何学好英语？",
    "What is the speed of light?", "北京到上海的高铁要多久？",
]  # fmt: skip
# Not used to choose anything: a check.
HELD_OUT = [
    "日本的首都是哪里？", "怎么煮米饭？", "狗为什么会摇尾巴？", "银河系有多大？",
    "鲁迅的代表作有哪些？", "如何提高睡眠质量？", "比特币的价格是多少？", "iPhone 15有什么新功能？",
    "莎士比亚是哪国人？", "长江有多长？", "What is machine learning?",
    "How many legs does a spider have?",
]  # fmt: skip
# The report's genre, but not in it: the judgement is not expected to catch these.
NEAR_TOPIC = [
    "上海市2020年的地区生产总值是多少？",
    "景德镇市的人口有多少？",
    "2022年乐平市的财政收入是多少？",
]


def main() -> int:
    """Print the confidence of each question group on the bundled report's index."""
    if not DEV_QUESTIONS.exists():
        print(f"{DEV_QUESTIONS} is missing", file=sys.stderr)
        return 1
    dev = [
        line.split("\t")[1]
        for line in DEV_QUESTIONS.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    groups = {
        "development, Chinese": [q for q in dev if not q.isascii()],
        "development, English": [q for q in dev if q.isascii()],
        "off-topic (calibration)": OFF_TOPIC,
        "off-topic (held out)": HELD_OUT,
        "same genre, not in the report": NEAR_TOPIC,
    }
    index = qa.default_index()
    print(f"threshold {CONFIDENCE_THRESHOLD}")
    print("| questions | n | min | median | max | judged found |")
    print("|---|---|---|---|---|---|")
    for name, questions in groups.items():
        scores = [answer(index, q).confidence or 0.0 for q in questions]
        found = sum(score >= CONFIDENCE_THRESHOLD for score in scores)
        print(
            f"| {name} | {len(scores)} | {min(scores):.3f} | {statistics.median(scores):.3f} "
            f"| {max(scores):.3f} | {found} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
