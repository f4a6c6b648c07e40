"""Retrieval regression on the development questions, thresholds a little below the bars."""

from __future__ import annotations

import pytest

from qa.evaluation import read_tsv_questions, score
from tests.conftest import DEV_QUESTIONS

pytestmark = pytest.mark.skipif(not DEV_QUESTIONS.exists(), reason="../shared is absent")

# Bars (issue 2): keyword R@1 >= 0.90 and R@5 = 1.0; paraphrase R@1 >= 0.80, R@5 >= 0.95.
MINIMA = {
    "hybrid": {
        "keyword": {"R@1": 0.85, "R@5": 0.97},
        "paraphrase": {"R@1": 0.75, "R@5": 0.90},
    },
    "dense": {"keyword": {"R@5": 0.95}, "paraphrase": {"R@5": 0.90}},
    "keyword": {"keyword": {"R@1": 0.80, "R@5": 0.95}},
}


@pytest.mark.parametrize("mode", list(MINIMA))
def test_dev_set_recall(report_index, mode):
    questions = read_tsv_questions(DEV_QUESTIONS)
    results = score(questions, lambda q: report_index.search(q, k=10, mode=mode))
    for kind, minima in MINIMA[mode].items():
        for metric, minimum in minima.items():
            assert results["by_kind"][kind][metric] >= minimum, (mode, kind, results)


def test_hybrid_beats_each_ranking_alone(report_index):
    questions = read_tsv_questions(DEV_QUESTIONS)
    mrr = {
        mode: score(questions, lambda q, m=mode: report_index.search(q, k=10, mode=m))["overall"][
            "MRR@10"
        ]
        for mode in ("hybrid", "dense", "keyword")
    }
    assert mrr["hybrid"] > max(mrr["dense"], mrr["keyword"]), mrr
