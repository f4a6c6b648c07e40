"""Cluster builds (qa.cluster) on a real local Ray cluster: the same index as one process
builds, into a folder and into milvus-lite; updates; a worker killed mid-build; a head node
killed mid-build; an unreachable cluster; two builds at once; Ray missing.

One Ray head node (``ray start --head``, on loopback) serves the whole module: Ray takes
seconds to start.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

# The test clusters listen on loopback only (else Ray picks the machine's network
# address), so they go without Ray's token authentication (which a real cluster keeps).
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
os.environ["RAY_AUTH_MODE"] = "disabled"
pytest.importorskip("ray", reason="cluster builds need Ray: pip install -e '.[cluster]'")

import qa  # noqa: E402
from qa import cluster  # noqa: E402
from qa.bundled import BUNDLED_REPORT  # noqa: E402
from qa.cli import main  # noqa: E402
from qa.index import _all_vectors  # noqa: E402
from qa.store import writing  # noqa: E402

from .conftest import CMRC, DEV_QUESTIONS  # noqa: E402

RAY = Path(sys.executable).with_name("ray")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Head:
    """A Ray head node in its own process group (``ray start --head --block``)."""

    def __init__(self, cpus: int = 2) -> None:
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        env = dict(os.environ)
        self.process = subprocess.Popen(
            [
                str(RAY),
                "start",
                "--head",
                "--block",
                f"--port={self.port}",
                f"--num-cpus={cpus}",
                "--num-gpus=0",
                "--include-dashboard=false",
                "--disable-usage-stats",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        while cluster._reachable("127.0.0.1", self.port, 1.0) is not None:
            assert self.process.poll() is None, "ray start exited"
            assert time.monotonic() < deadline, "the Ray head node did not start"
            time.sleep(0.5)
        time.sleep(2)  # the raylet comes up after the GCS

    def kill(self) -> None:
        """SIGKILL every process of the head node (its process group)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=60)


@pytest.fixture(scope="module")
def head() -> Iterator[Head]:
    node = Head()
    try:
        yield node
    finally:
        node.kill()


DOCS = {
    "leping.md": "# 乐平市概况\n\n乐平市位于江西省东北部，是景德镇市代管的县级市。"
    "全市面积1973平方公里。2020年地区生产总值增长4.5%。\n\n## 教育\n\n"
    "教育投入大幅增加，全年新建学校三所。教师队伍不断壮大。家庭医生履约率100%。\n",
    "porcelain.txt": "景德镇以瓷器闻名。这里有千年窑火。陶瓷产业是支柱产业，年产值超过百亿元。",
    "tea.txt": "浮梁县产茶。茶叶远销海外。每年春天举办茶文化节。",
}


def write_docs(folder: Path, count: int = 0) -> Path:
    """The small documents, plus ``count`` CMRC 2018 dev contexts as files (when there)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    if count and CMRC.exists():
        data = json.loads(CMRC.read_text(encoding="utf-8"))
        contexts = [p["context"] for a in data["data"] for p in a["paragraphs"]][:count]
        for n, context in enumerate(contexts):
            (folder / f"cmrc-{n:03d}.txt").write_text(context, encoding="utf-8")
    return folder


def assert_same_index(built: qa.Index, reference: qa.Index) -> None:
    """The same passages, sources and windows; vectors within cosine 0.9999."""
    assert built.passages == reference.passages
    assert built.sources == reference.sources
    assert np.array_equal(built._contents.windows, reference._contents.windows)
    for name in ("paragraph_vectors", "window_vectors"):
        mine = _all_vectors(getattr(built._contents, name))
        theirs = _all_vectors(getattr(reference._contents, name))
        assert mine.shape == theirs.shape
        assert float((mine * theirs).sum(axis=1).min(initial=1.0)) >= 0.9999


def test_the_report_built_on_the_cluster_is_the_one_process_index(head, report_index, tmp_path):
    folder = tmp_path / "leping"
    result = cluster.build([BUNDLED_REPORT], index=folder, cluster=head.address)
    assert result.report.added == [str(Path(BUNDLED_REPORT).resolve())]
    assert result.texts == len(report_index.passages) + len(report_index._contents.windows)
    assert [w.texts for w in result.workers] == [result.texts]  # one worker on 2 CPUs
    assert result.workers[0].startup_s > 0 and result.workers[0].peak_rss_mb > 100
    built = qa.Index.load(folder)
    assert_same_index(built, report_index)
    if DEV_QUESTIONS.exists():
        from qa.evaluation import read_tsv_questions

        # A worker embeds a file's passages in parts of PASSAGES_PER_PART, so the texts
        # meet other texts in a batch and some vectors differ in the 4th decimal; a score is
        # min-max normalised over the candidates (qa.ranking.fuse), which magnifies that,
        # and two hits within it may trade places: each hit is one of the reference's
        # with its score, and the scores are the reference's, to 5e-3.
        for question in read_tsv_questions(DEV_QUESTIONS):
            got = built.search(question.question, k=5)
            expected = report_index.search(question.question, k=10)
            scores = {h.text: h.score for h in expected}
            assert all(h.text in scores for h in got), question
            assert [h.score for h in got] == pytest.approx([scores[h.text] for h in got], abs=5e-3)
            assert [h.score for h in got] == pytest.approx(
                [h.score for h in expected[:5]], abs=5e-3
            )
    assert not (folder / ".partial").exists()


def test_cmrc_contexts_and_updates_as_one_process_does(head, tmp_path, capsys):
    docs = write_docs(tmp_path / "docs", count=6)
    folder = tmp_path / "index"
    assert main(["build", str(docs), "--index", str(folder), "--cluster", head.address]) == 0
    out = capsys.readouterr().out
    assert f"({len(list(docs.iterdir()))} added, 0 replaced, 0 unchanged, 0 skipped)" in out
    reference = qa.Index.build([docs])
    assert_same_index(qa.Index.load(folder), reference)

    (docs / "porcelain.txt").write_text(
        "景德镇的新产业是数字经济。软件园今年开园。", encoding="utf-8"
    )
    (docs / "new.txt").write_text("昌江区新修公路30公里。", encoding="utf-8")
    (docs / "same.txt").write_text(DOCS["tea.txt"], encoding="utf-8")
    (docs / "binary.txt").write_bytes(b"\x00\x01binary\x00" * 50)
    result = cluster.build([docs], index=folder, cluster=head.address)
    expected = reference.add([docs])
    assert result.report.added == expected.added == [str((docs / "new.txt").resolve())]
    assert result.report.replaced == expected.replaced
    assert sorted(result.report.unchanged) == sorted(expected.unchanged)
    assert [(s.source, s.kind) for s in result.report.skipped] == [
        (s.source, s.kind) for s in expected.skipped
    ]
    assert {s.kind for s in result.report.skipped} == {"binary", "duplicate"}
    assert_same_index(qa.Index.load(folder), reference)
    again = cluster.build([docs], index=folder, cluster=head.address)
    assert again.texts == 0 and not again.report.changed


def test_milvus_store_gets_what_the_folder_gets(head, tmp_path):
    pytest.importorskip("milvus_lite", reason="the Milvus store needs milvus-lite")
    from qa.milvus_store import MilvusIndex

    docs = write_docs(tmp_path / "docs", count=2)
    uri = f"milvus-lite:{tmp_path / 'store.db'}"
    result = cluster.build([docs], store=uri, cluster=head.address)
    assert len(result.report.added) == len(list(docs.iterdir()))
    reference = qa.Index.build([docs])
    store = MilvusIndex.load(uri)
    try:
        assert sorted(store.passages, key=repr) == sorted(reference.passages, key=repr)
        assert sorted(store.sources, key=repr) == sorted(reference.sources, key=repr)
        for question in ("乐平市面积多大？", "景德镇的支柱产业是什么？", "茶叶卖到哪里？"):
            assert [h.text for h in store.search(question, k=3)] == [
                h.text for h in reference.search(question, k=3)
            ]
        # Another cluster build is refused while one holds the store.
        refused = pytest.raises(qa.IndexStoreError, match="being written by another cluster")
        with store.build_lock("a build in this test"), refused:
            cluster.build([docs], store=uri, cluster=head.address)
        assert cluster.build([docs], store=uri, cluster=head.address).texts == 0
        assert not store._call("has_collection", store.lock_collection)
    finally:
        store.close()


def _embedding_workers() -> list[int]:
    """Pids of the processes running qa's embedding actors."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"MapBatches(Embedder)" in command:
                pids.append(int(entry.name))
    return pids


def test_a_worker_killed_mid_build_loses_and_duplicates_nothing(head, tmp_path):
    docs = write_docs(tmp_path / "docs", count=8)
    folder = tmp_path / "index"
    parts = folder / ".partial" / "cluster"
    killed: list[int] = []

    def killer() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not killed:
            written = len(list(parts.glob("*.pkl"))) if parts.is_dir() else 0
            workers = _embedding_workers()
            if written >= 1 and workers:
                os.kill(workers[0], signal.SIGKILL)
                killed.append(workers[0])
            time.sleep(0.05)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    result = cluster.build([docs], index=folder, cluster=head.address)
    thread.join(timeout=1)
    assert killed, "the build ended before a worker could be killed"
    assert any(w.pid != killed[0] for w in result.workers)  # Ray started another in its place
    assert len(result.report.added) == len(list(docs.iterdir()))
    assert_same_index(qa.Index.load(folder), qa.Index.build([docs]))


def test_an_unreachable_cluster_is_one_error_and_leaves_the_target(head, tmp_path, capsys):
    docs = write_docs(tmp_path / "docs")
    folder = tmp_path / "new-index"
    with pytest.raises(qa.ClusterError, match=r"cannot reach the Ray cluster at 127\.0\.0\.1:1"):
        cluster.build([docs], index=folder, cluster="127.0.0.1:1")
    assert not folder.exists()
    existing = tmp_path / "existing"
    qa.Index.build([docs / "tea.txt"]).save(existing)
    before = {p: p.read_bytes() for p in existing.rglob("*") if p.is_file()}
    code = main(["build", str(docs), "--index", str(existing), "--cluster", "127.0.0.1:1"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("qa: error: cannot reach the Ray cluster at 127.0.0.1:1")
    assert err.count("\n") == 1
    assert {p: p.read_bytes() for p in existing.rglob("*") if p.is_file()} == before


def test_two_builds_into_one_folder_take_turns(head, tmp_path, capsys):
    docs = write_docs(tmp_path / "docs")
    folder = tmp_path / "index"
    done: list[cluster.ClusterBuild] = []
    with writing(folder):  # another writer holds the folder
        thread = threading.Thread(
            target=lambda: done.append(cluster.build([docs], index=folder, cluster=head.address))
        )
        thread.start()
        time.sleep(3)
        assert thread.is_alive() and not done
    thread.join(timeout=300)
    assert done and len(done[0].report.added) == len(DOCS)
    assert "waiting for pid" in capsys.readouterr().err


def test_without_ray_the_cluster_option_says_what_to_install(tmp_path):
    script = (
        "import sys; sys.modules['ray'] = None\n"
        "from qa.cli import main\n"
        f"sys.exit(main(['build', {str(tmp_path)!r}, '--index', {str(tmp_path / 'i')!r}, "
        "'--cluster', 'auto']))\n"
    )
    write_docs(tmp_path)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr == (
        "qa: error: building on a Ray cluster needs Ray, which is not installed: "
        'pip install -c constraints.txt -e ".[cluster]"\n'
    )
    assert not (tmp_path / "i").exists()


def test_a_head_node_killed_mid_build_stops_with_whole_files_and_a_rerun_resumes(head, tmp_path):
    docs = write_docs(tmp_path / "docs", count=8)
    folder = tmp_path / "index"
    parts = folder / ".partial" / "cluster"
    doomed = Head()
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    build = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "build", str(docs), "--index", str(folder)]
        + ["--cluster", doomed.address],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 300
        while not (parts.is_dir() and any(parts.glob("*.pkl"))):
            assert build.poll() is None, build.communicate()
            assert time.monotonic() < deadline, "no file was written"
            time.sleep(0.05)
        doomed.kill()
        killed_at = time.monotonic()
        _, err = build.communicate(timeout=120)
    finally:
        doomed.kill()
        if build.poll() is None:
            build.kill()
    assert build.returncode == 2, err
    assert time.monotonic() - killed_at < 30
    lines = [line for line in err.splitlines() if line.startswith("qa: error:")]
    assert lines == [
        f"qa: error: the Ray cluster at {doomed.address} went away during the build (its "
        f"head node at {doomed.address} no longer answers); {folder} is as it was, and the "
        f"files finished so far are kept in {parts} for the same build to take again"
    ], err
    assert not (folder / "CURRENT").exists()  # no index yet: nothing half-written
    written = len(list(parts.glob("*.pkl")))
    assert written >= 1
    result = cluster.build([docs], index=folder, cluster=head.address)
    assert len(result.resumed) == written  # taken, not embedded again
    assert_same_index(qa.Index.load(folder), qa.Index.build([docs]))
