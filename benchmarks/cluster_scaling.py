"""Cluster builds against today's one-process build, in one run: texts/s, start-up, memory.

    python benchmarks/cluster_scaling.py                     # 40 CMRC contexts, 1 round
    python benchmarks/cluster_scaling.py --contexts 100 --rounds 3 --json out.json

The corpus is the first ``--contexts`` CMRC 2018 dev contexts, one file each. Each round
builds it, every build in a fresh process and into a new folder, in this order:

- ``one process``: ``qa.Index.build`` (the default encoder, both cores);
- ``cluster, 1 worker``: ``qa.cluster.build`` with one embedding worker of two threads;
- ``cluster, 2 workers``: two workers of one thread each;

on one local Ray cluster started here (``ray start --head`` on loopback, two CPUs), which
the cluster builds join, so its own start is not counted; each cluster build still starts
its workers (they load the model: the per-worker start-up). Printed: build seconds and
texts/s (texts embedded over the whole build), each worker's start-up (model load inside
the worker) and peak resident memory, and the driver's peak. Medians over the rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import CMRC_DEV, format_table, write_json  # noqa: E402

ONE_PROCESS = r"""
import json, resource, sys, time
import qa
started = time.perf_counter()
index = qa.Index.build([sys.argv[1]])
seconds = time.perf_counter() - started
index.save(sys.argv[2])
texts = len(index.passages) + len(index._contents.windows)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "texts": texts, "driver_mb": peak, "workers": []}))
"""

ON_CLUSTER = r"""
import json, resource, sys, time
from dataclasses import asdict
from qa import cluster
result = cluster.build(
    [sys.argv[1]], index=sys.argv[2], cluster=sys.argv[3],
    workers=int(sys.argv[4]), cpus_per_worker=float(sys.argv[5]),
)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": result.seconds, "texts": result.texts, "driver_mb": peak,
                  "workers": [asdict(w) for w in result.workers]}))
"""

# (name, workers, CPUs a worker): two cores, a quarter CPU kept for reading tasks.
SETTINGS = (("cluster, 1 worker", 1, 1.5), ("cluster, 2 workers", 2, 0.85))


def write_corpus(folder: Path, contexts: int) -> None:
    data = json.loads(CMRC_DEV.read_text(encoding="utf-8"))
    texts = [p["context"] for a in data["data"] for p in a["paragraphs"]][:contexts]
    folder.mkdir(parents=True, exist_ok=True)
    for n, text in enumerate(texts):
        (folder / f"cmrc-{n:04d}.txt").write_text(text, encoding="utf-8")


def start_head(cpus: int) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ray = Path(sys.executable).with_name("ray")
    head = subprocess.Popen(
        [str(ray), "start", "--head", "--block", f"--port={port}", f"--num-cpus={cpus}"]
        + ["--num-gpus=0", "--include-dashboard=false", "--disable-usage-stats"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or head.poll() is not None:
                raise SystemExit("the Ray head node did not start") from None
            time.sleep(0.5)
    time.sleep(3)
    return head, f"127.0.0.1:{port}"


def run(code: str, *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False
    )
    if out.returncode:
        raise SystemExit(f"a build failed:\n{out.stderr[-3000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contexts", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    # The test cluster listens on loopback only, without token authentication.
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    os.environ["RAY_AUTH_MODE"] = "disabled"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    work = Path(tempfile.mkdtemp(prefix="qa-cluster-scaling-"))
    corpus = work / "corpus"
    write_corpus(corpus, args.contexts)
    head, address = start_head(cpus=2)
    runs: dict[str, list[dict[str, Any]]] = {"one process": []}
    try:
        for number in range(args.rounds):
            serial = work / f"index-{number}-serial"
            runs["one process"].append(run(ONE_PROCESS, str(corpus), str(serial)))
            for name, workers, cpus in SETTINGS:
                folder = work / f"index-{number}-{workers}"
                runs.setdefault(name, []).append(
                    run(ON_CLUSTER, str(corpus), str(folder), address, str(workers), str(cpus))
                )
            print(f"round {number + 1} done", file=sys.stderr)
    finally:
        os.killpg(head.pid, signal.SIGKILL)
        head.wait()
    baseline = median(r["texts"] / r["seconds"] for r in runs["one process"])
    rows = []
    for name, results in runs.items():
        rate = median(r["texts"] / r["seconds"] for r in results)
        workers = [w for r in results for w in r["workers"]]
        rows.append(
            [
                name,
                results[0]["texts"],
                median(r["seconds"] for r in results),
                rate,
                rate / baseline,
                median(w["startup_s"] for w in workers) if workers else None,
                max(w["peak_rss_mb"] for w in workers) if workers else None,
                median(r["driver_mb"] for r in results),
            ]
        )
    headers = [
        "build",
        "texts",
        "seconds",
        "texts/s",
        "vs one process",
        "worker start-up s",
        "worker peak MiB",
        "driver peak MiB",
    ]
    print(f"\n## {args.contexts} CMRC contexts, {args.rounds} rounds (medians)")
    print(format_table(headers, rows))
    same = compare(work, args.contexts, [name for name, _, _ in SETTINGS])
    print(f"\n## The cluster indexes against the one-process index (round 1)\n{same}")
    if args.json:
        write_json(args.json, {"args": vars(args) | {"json": str(args.json)}, "runs": runs})
    return 0


def compare(work: Path, contexts: int, names: list[str]) -> str:
    """Passages, vectors and answers (hybrid top 5 of the CMRC questions of these
    contexts) of each round-1 cluster index against the round-1 one-process index."""
    import numpy as np

    import qa
    from qa.index import _all_vectors

    data = json.loads(CMRC_DEV.read_text(encoding="utf-8"))
    paragraphs = [p for a in data["data"] for p in a["paragraphs"]][:contexts]
    questions = [q["question"] for p in paragraphs for q in p["qas"]]
    serial = qa.Index.load(work / "index-0-serial")
    expected = {q: [h.text for h in serial.search(q, k=5)] for q in questions}
    rows = []
    for name, workers in zip(names, (1, 2), strict=True):
        built = qa.Index.load(work / f"index-0-{workers}")
        cosines = [
            float(
                (
                    _all_vectors(getattr(built._contents, part))
                    * _all_vectors(getattr(serial._contents, part))
                )
                .sum(axis=1)
                .min()
            )
            for part in ("paragraph_vectors", "window_vectors")
        ]
        same = sum([h.text for h in built.search(q, k=5)] == expected[q] for q in questions)
        rows.append(
            [
                name,
                built.passages == serial.passages,
                bool(np.array_equal(built._contents.windows, serial._contents.windows)),
                min(cosines),
                f"{same}/{len(questions)}",
            ]
        )
    headers = ["build", "same passages", "same windows", "least cosine", "same top 5"]
    return format_table(headers, rows)


if __name__ == "__main__":
    sys.exit(main())
