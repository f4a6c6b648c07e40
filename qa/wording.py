"""The verdict's confidence in words, for people: "very high (99%)", "很高（99%）".

:meth:`qa.Index.ask` gives a confidence between 0 and 1 (the modelled probability that the
top hits answer the question; found means at least 0.5). A reader does better with a word
and a whole percentage than with three decimals: the command line, the web chat and any
other program that shows answers word it the same way from here.

    >>> from qa.wording import describe_confidence
    >>> describe_confidence(0.999, "en"), describe_confidence(0.62, "zh")
    ('very high (99%)', '一般（62%）')
"""

from __future__ import annotations

import math

LANGUAGES = ("en", "zh")
# (lowest confidence, level), highest first. 0.5 is where the verdict turns to found, so
# "moderate" and above are found, "low" and below not found.
CONFIDENCE_LEVELS: tuple[tuple[float, str], ...] = (
    (0.9, "very_high"),
    (0.7, "high"),
    (0.5, "moderate"),
    (0.2, "low"),
    (0.0, "very_low"),
)
CONFIDENCE_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "very_high": "very high",
        "high": "high",
        "moderate": "moderate",
        "low": "low",
        "very_low": "very low",
    },
    "zh": {
        "very_high": "很高",
        "high": "较高",
        "moderate": "一般",
        "low": "较低",
        "very_low": "很低",
    },
}


def _checked(confidence: float) -> float:
    value = float(confidence)
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"a confidence is between 0 and 1, not {confidence!r}")
    return value


def confidence_level(confidence: float) -> str:
    """The level of a confidence: ``very_high``, ``high``, ``moderate``, ``low`` or
    ``very_low`` (see :data:`CONFIDENCE_LEVELS`); ValueError outside 0..1."""
    value = _checked(confidence)
    return next(level for lowest, level in CONFIDENCE_LEVELS if value >= lowest)


def confidence_percent(confidence: float) -> int:
    """The confidence as a whole percentage, rounded down: 0.999 is 99, never 100 unless
    it is certain, and a found answer (0.5 and above) is never shown under 50."""
    return math.floor(_checked(confidence) * 100 + 1e-9)


def confidence_words(confidence: float, language: str = "en") -> str:
    """The level of a confidence in words: "very high", "很高" (English for a language
    other than ``zh``)."""
    table = CONFIDENCE_WORDS.get(language, CONFIDENCE_WORDS["en"])
    return table[confidence_level(confidence)]


def describe_confidence(confidence: float, language: str = "en") -> str:
    """The confidence in words and as a percentage: "very high (99%)", "很高（99%）"."""
    words, percent = confidence_words(confidence, language), confidence_percent(confidence)
    return f"{words}（{percent}%）" if language == "zh" else f"{words} ({percent}%)"
