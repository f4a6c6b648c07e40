"""Shared fixtures: the bundled report's index is built once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

import qa

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
