"""The web chat on a Milvus store: ``qa serve --store milvus-lite:...`` through gradio_client.

The store is built by ``qa build --store`` in a process that exits before the server starts
(milvus-lite lets one process open a file at a time).
"""

from __future__ import annotations

import html
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pymilvus", reason="the Milvus store needs pymilvus: pip install 'qa[milvus]'")
pytest.importorskip("milvus_lite", reason="the Milvus store tests need milvus-lite (pip package)")

from gradio_client import Client, handle_file  # noqa: E402

from qa.cli import main  # noqa: E402
from qa.milvus_store import MilvusIndex  # noqa: E402
from tests.app_server import running_server  # noqa: E402

DOCS = {
    "tea.txt": "婺源盛产绿茶，茶园面积十二万亩。每年清明前后采摘明前茶。",
    "bridge.txt": "彩虹桥建于南宋，是一座廊桥，全长一百四十米，横跨星江。",
}
UPLOAD = "梅岭村的古樟树有八百年树龄，树高二十六米，村民称它为樟树王。"


def test_serve_refuses_index_and_store_together(tmp_path, capsys):
    uri = f"milvus-lite:{tmp_path / 's.db'}"
    assert main(["serve", "--index", str(tmp_path), "--store", uri]) == 2
    assert capsys.readouterr().err == "qa: error: give --index or --store, not both\n"


def test_serve_on_a_store_answers_and_takes_uploads(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    db = tmp_path / "s.db"
    uri = f"milvus-lite:{db}"
    built = subprocess.run(
        [sys.executable, "-m", "qa.cli", "build", *map(str, docs.iterdir()), "--store", uri],
        capture_output=True,
        text=True,
        timeout=180,
        env=dict(os.environ, HF_HUB_OFFLINE="1"),
    )
    assert built.returncode == 0, built.stderr
    root = tmp_path / "index"

    with running_server(root, tmp_path, "--store", uri) as url:
        client = Client(url, verbose=False, analytics_enabled=False)
        hits = client.predict("彩虹桥有多长？", 3, "hybrid", api_name="/ask")["hits"]
        assert "一百四十米" in hits[0]["sentence"]
        assert Path(hits[0]["source"]).name == "bridge.txt"

        info, table = client.predict("s", api_name="/documents")
        assert info.startswith("**s**:") and "from 2 documents" in info and "Milvus store" in info
        assert "read-only" not in info
        assert sorted(row[0] for row in table["data"]) == ["bridge.txt", "tea.txt"]

        source = tmp_path / "古樟树.txt"
        source.write_text(UPLOAD, encoding="utf-8")
        status, dropdown, info, table, _ = client.predict(
            [handle_file(str(source))], "s", "s", api_name="/upload"
        )
        assert "Added 古樟树.txt" in html.unescape(status)
        assert dropdown["value"] == "s"
        assert "from 3 documents" in html.unescape(info)
        assert "古樟树.txt" in [row[0] for row in table["data"]]
        kept = root / "s-uploads" / "files" / "古樟树.txt"
        assert kept.read_text(encoding="utf-8") == UPLOAD

        hits = client.predict("古樟树有多少年树龄？", 3, "hybrid", "s", api_name="/ask")["hits"]
        assert "八百年" in hits[0]["sentence"]
        assert hits[0]["source"] == str(kept.resolve())

        # User indexes under the index root work beside the store.
        status, dropdown, *_ = client.predict(
            [handle_file(str(source))], "notes", "s", api_name="/upload"
        )
        assert "Added 古樟树.txt" in html.unescape(status)
        assert [c[0] for c in dropdown["choices"]] == ["s", "notes"]
        assert (root / "notes" / "files" / "古樟树.txt").exists()
        hits = client.predict("樟树王有多高？", 1, "hybrid", "notes", api_name="/ask")["hits"]
        assert "二十六米" in hits[0]["text"]

    # The server has exited: the upload is in the store for the next process.
    store = MilvusIndex.load(uri)
    try:
        assert sorted(Path(s.source).name for s in store.sources) == [
            "bridge.txt",
            "tea.txt",
            "古樟树.txt",
        ]
    finally:
        store.close()
