"""Load check for the web chat: many gradio_client clients asking at once through ``/ask``.

Starts ``qa serve`` on a free loopback port (or connects to ``--url``), then runs
``--clients`` threads, each with its own client, each asking ``--questions`` questions one
after another, all starting together. Prints the median and p95 latency of the answers and
exits with status 1 unless every question was answered.

    .venv/bin/python scripts/load_check.py                      # 20 clients x 10 questions
    .venv/bin/python scripts/load_check.py --url http://127.0.0.1:7860/
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from gradio_client import Client

DEV_QUESTIONS = Path(__file__).resolve().parents[2] / "shared" / "eval" / "leping-dev.tsv"
FALLBACK_QUESTIONS = [
    "2020年乐平市的地区生产总值是多少？",
    "累计核酸检测了多少人？",
    "什么是三讲一评？",
    "如何改善医院条件？",
    "家庭医生履约率是多少？",
    "2021年财政总收入预期增长多少？",
    "乡下婚礼和丧事铺张浪费怎么办？",
    "法国的首都是哪里？",
    "新增学前教育学位多少个？",
    "How many poor households were lifted out of poverty?",
]


def questions() -> list[str]:
    """The development questions when ../shared is there, else a built-in list."""
    if not DEV_QUESTIONS.exists():
        return FALLBACK_QUESTIONS
    found = []
    for line in DEV_QUESTIONS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            found.append(line.split("\t")[1])
    return found or FALLBACK_QUESTIONS


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def started_server(timeout: float = 300) -> Iterator[str]:
    """Run ``python -m qa.cli serve`` on a free port until the block ends; yield its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", PYTHONUNBUFFERED="1")
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "qa.cli", "serve", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            deadline = time.monotonic() + timeout
            while True:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise SystemExit(f"qa serve did not start:\n{log.read()}")
                try:
                    if httpx.get(url, timeout=5).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def run(url: str, clients: int, per_client: int, k: int, mode: str) -> int:
    """Run the load; print the figures; return the exit status."""
    pool = questions()
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def client_thread(number: int) -> None:
        try:
            client = Client(url, verbose=False, analytics_enabled=False)
        except Exception as exc:
            with lock:
                failures.append(f"client {number}: cannot connect: {exc}")
            barrier.abort()
            return
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            return
        for i in range(per_client):
            question = pool[(number * per_client + i) % len(pool)]
            start = time.perf_counter()
            try:
                answer = client.predict(question, k, mode, api_name="/ask")
                if not isinstance(answer, dict) or len(answer.get("hits", ())) != k:
                    raise ValueError(f"unexpected answer {answer!r:.200}")
            except Exception as exc:
                with lock:
                    failures.append(f"client {number}, {question!r}: {exc}")
                continue
            with lock:
                latencies.append(time.perf_counter() - start)

    threads = [threading.Thread(target=client_thread, args=(n,)) for n in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    expected = clients * per_client
    print(f"{clients} clients x {per_client} questions ({mode}, k={k}) against {url}")
    print(f"answered: {len(latencies)}/{expected}  failed: {len(failures)}")
    if latencies:
        ordered = sorted(latencies)
        p95 = (
            statistics.quantiles(ordered, n=20, method="inclusive")[18]
            if len(ordered) > 1
            else ordered[0]
        )
        print(
            f"latency: median {statistics.median(ordered):.2f} s  p95 {p95:.2f} s  "
            f"max {ordered[-1]:.2f} s  min {ordered[0]:.2f} s"
        )
        print(f"wall time {wall:.1f} s  throughput {len(latencies) / wall:.1f} questions/s")
    for failure in failures[:10]:
        print("FAILED", failure)
    return 0 if len(latencies) == expected and not failures else 1


def main() -> int:
    """Parse the arguments and run the load check."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running app (default: start one)")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--questions", type=int, default=10, help="questions per client")
    parser.add_argument("-k", type=int, default=5)
    parser.add_argument("--mode", default="hybrid", choices=("hybrid", "dense", "keyword"))
    args = parser.parse_args()
    if args.url:
        return run(args.url, args.clients, args.questions, args.k, args.mode)
    with started_server() as url:
        return run(url, args.clients, args.questions, args.k, args.mode)


if __name__ == "__main__":
    sys.exit(main())
