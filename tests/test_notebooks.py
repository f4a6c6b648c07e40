"""The notebooks in notebooks/ run from top to bottom without error (so they never rot)."""

from __future__ import annotations

from pathlib import Path

import pytest

import qa

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["quickstart.ipynb", "evaluation.ipynb"])
def test_notebook_runs(name: str, report_index: qa.Index) -> None:
    """Execute the notebook in a fresh kernel; any cell that raises fails the test.

    ``report_index`` makes sure the bundled report's index is built before the kernel
    starts, so the notebook only loads it.
    """
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors
