"""The verdict's confidence in words (qa.wording), as the chat and any caller show it."""

from __future__ import annotations

import pytest

from qa.wording import (
    CONFIDENCE_LEVELS,
    CONFIDENCE_WORDS,
    confidence_level,
    confidence_percent,
    confidence_words,
    describe_confidence,
)


@pytest.mark.parametrize(
    ("confidence", "level", "percent"),
    [
        (1.0, "very_high", 100),
        (0.999, "very_high", 99),
        (0.9, "very_high", 90),
        (0.8999, "high", 89),
        (0.7, "high", 70),
        (0.62, "moderate", 62),
        (0.5, "moderate", 50),
        (0.4999, "low", 49),
        (0.29, "low", 29),
        (0.2, "low", 20),
        (0.01, "very_low", 1),
        (0.0, "very_low", 0),
    ],
)
def test_levels_and_percentages(confidence, level, percent):
    assert confidence_level(confidence) == level
    assert confidence_percent(confidence) == percent


def test_found_is_never_worded_or_shown_as_below_half():
    # The verdict says found from 0.5 up: its words and digits agree with it.
    for step in range(1001):
        confidence = step / 1000
        found_words = confidence_level(confidence) in ("very_high", "high", "moderate")
        assert found_words == (confidence >= 0.5)
        assert (confidence_percent(confidence) >= 50) == (confidence >= 0.5)


def test_words_in_both_languages():
    assert set(CONFIDENCE_WORDS["zh"]) == set(CONFIDENCE_WORDS["en"])
    assert {level for _, level in CONFIDENCE_LEVELS} == set(CONFIDENCE_WORDS["en"])
    assert describe_confidence(0.999, "en") == "very high (99%)"
    assert describe_confidence(0.999, "zh") == "很高（99%）"
    assert describe_confidence(0.35, "zh") == "较低（35%）"
    assert confidence_words(0.75, "fr") == "high"  # an unknown language: English


@pytest.mark.parametrize("bad", [-0.01, 1.01, float("nan"), float("inf")])
def test_a_confidence_outside_0_to_1_is_refused(bad):
    with pytest.raises(ValueError, match="between 0 and 1"):
        confidence_level(bad)
