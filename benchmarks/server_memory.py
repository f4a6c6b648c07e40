"""Where the web server's memory goes under the soak's load: allocator, torch, queue, sessions.

Starts ``qa serve`` (the default encoder; over a copy of the bundled report's index) in a
child process with a probe thread that records every second: the resident memory (VmRSS,
and its anonymous part), glibc's heap (mallinfo2: bytes in use, free bytes kept in the
heap, bytes in mmapped blocks, the heap's size), the threads, the Python objects, the
sessions Gradio holds state for and the events its queue keeps statistics of. Then the
load of ``tests/test_soak.py::test_fifty_clients_for_a_minute`` (its clients, imported from
it: questions, chat messages, document lists, HTTP API calls that each open a session, and
writers that upload and ask), after the same warm-up upload, and prints each figure at the
start of the soak, at the peak of its first and last 20 s windows (the soak's memory check)
and at the end, with the growth between the windows.

    .venv/bin/python benchmarks/server_memory.py                      # as the soak runs it
    .venv/bin/python benchmarks/server_memory.py --no-uploads         # torch never runs
    .venv/bin/python benchmarks/server_memory.py --server-env MALLOC_ARENA_MAX=2
    .venv/bin/python benchmarks/server_memory.py --idle 30            # idle only, no load

The figures measure one run on whatever else the machine is doing: repeat a run before
trusting a difference of a few MB.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

WINDOW_SECONDS = 20.0
FIELDS = [
    ("rss", "RSS"),
    ("anon", "RssAnon"),
    ("heap_in_use", "malloc in use"),
    ("heap_free", "malloc free, kept"),
    ("mmapped", "malloc mmapped"),
    ("arena", "malloc heap"),
    ("smaps_brk", "  anon: main heap (brk)"),
    ("smaps_arenas", "  anon: threads' malloc arenas"),
    ("smaps_stacks", "  anon: thread stacks"),
    ("smaps_pymalloc", "  anon: Python's arenas"),
    ("smaps_other", "  anon: other mmaps"),
    ("threads", "threads"),
    ("objects", "Python objects (k)"),
    ("arrow", "Arrow pool in use (pandas)"),
    ("sessions", "Gradio sessions"),
    ("queue_events", "queue statistics"),
]


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _status() -> dict[str, float]:
    values: dict[str, float] = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "RssAnon", "Threads"):
            values[key] = float(rest.split()[0])
    return values


ARENA_HEAP = 64 * 2**20  # glibc's HEAP_MAX_SIZE: a thread arena's heap is aligned to it


def anonymous_memory() -> dict[str, float]:
    """Resident anonymous memory (MB) by what it is, from /proc/self/smaps: the main heap,
    threads' malloc arenas (64 MiB-aligned heaps), thread stacks (8 MiB), CPython's
    1 MiB object arenas, and other mappings (malloc's mmapped blocks, libraries' own)."""
    sizes = dict.fromkeys(("brk", "arenas", "stacks", "pymalloc", "other"), 0.0)
    kind, size = "", 0
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split()
        if "-" in fields[0] and len(fields) >= 5 and ":" not in fields[0]:
            low, high = (int(part, 16) for part in fields[0].split("-"))
            path = fields[5] if len(fields) > 5 else ""
            size = high - low
            if path == "[heap]":
                kind = "brk"
            elif path in ("", "[stack]") and "rw" in fields[1]:
                if size == 8 * 2**20:
                    kind = "stacks"
                elif low % ARENA_HEAP == 0 and size <= ARENA_HEAP:
                    kind = "arenas"
                elif size == 2**20:
                    kind = "pymalloc"
                else:
                    kind = "other"
            else:
                kind = ""
        elif fields[0] == "Rss:" and kind:
            sizes[kind] += int(fields[1]) / 1024
    return {f"smaps_{name}": value for name, value in sizes.items()}


def probe(out: Path, demo_box: list[Any], stop: threading.Event) -> None:
    """Record the server's memory figures once a second, as JSON lines (MB where sizes)."""
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = _MallInfo2
    began = time.monotonic()
    objects, count = 0.0, 0
    anonymous: dict[str, float] = {}
    with out.open("w") as stream:
        while not stop.wait(1.0):
            if count % 5 == 0:  # counting the objects takes a while: every 5 s
                objects = len(gc.get_objects()) / 1000
                anonymous = anonymous_memory()
            count += 1
            status = _status()
            info = libc.mallinfo2()
            demo = demo_box[0] if demo_box else None
            sessions = queue_events = 0
            if demo is not None:
                holder = getattr(demo, "state_holder", None)
                sessions = len(getattr(holder, "session_data", {}) or {})
                queue = getattr(demo, "_queue", None)
                queue_events = len(getattr(queue, "event_analytics", {}) or {})
            arrow = sys.modules.get("pyarrow")
            pool = arrow.default_memory_pool().bytes_allocated() if arrow else 0
            row = {
                "arrow": pool / 2**20,
                "t": round(time.monotonic() - began, 1),
                "rss": status["VmRSS"] / 1024,
                "anon": status["RssAnon"] / 1024,
                "threads": status["Threads"],
                "heap_in_use": info.uordblks / 2**20,
                "heap_free": info.fordblks / 2**20,
                "mmapped": info.hblkhd / 2**20,
                "arena": info.arena / 2**20,
                "objects": objects,
                "sessions": sessions,
                "queue_events": queue_events,
                **anonymous,
            }
            stream.write(json.dumps(row) + "\n")
            stream.flush()


def serve_with_probe(port: int, out: Path, session_capacity: int | None) -> None:
    """The child: ``qa serve`` on ``port`` with the probe thread running."""
    from qa.app import server

    if session_capacity is not None:
        server.SESSION_CAPACITY = session_capacity
    demo_box: list[Any] = []
    build = server.build_app

    def capture(*args: Any) -> Any:
        demo = build(*args)
        demo_box.append(demo)
        return demo

    server.build_app = capture  # type: ignore[assignment]
    threading.Thread(target=probe, args=(out, demo_box, threading.Event()), daemon=True).start()
    server.serve(port=port)


def read_probe(path: Path) -> list[dict[str, float]]:
    """The probe's records so far."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run_load(url: str, seconds: float, warmup: float, uploads: bool, folder: Path) -> dict:
    """The soak's clients for warmup + seconds; returns the tally's counts and the times."""
    from gradio_client import handle_file

    from tests import test_soak as soak

    if not uploads:
        soak.WRITERS = 0
    warm_file = folder / "warm-up.txt"
    warm_file.write_text("预热文档：桂花节在十月举办。", encoding="utf-8")
    warm = soak.connect(url)
    if uploads:
        soak.call(warm, [handle_file(str(warm_file))], "warm-up", "leping", api_name="/upload")
    warm.close()
    pool = soak.questions()
    tally = soak.Tally()
    deadline = [float("inf")]
    start = threading.Barrier(soak.CLIENTS + 1)
    threads = [
        threading.Thread(
            target=soak.soak_client,
            args=(n, url, pool, folder, start, deadline, tally),
            daemon=True,
        )
        for n in range(soak.CLIENTS)
    ]
    for thread in threads:
        thread.start()
    start.wait(timeout=300)
    began = time.time()
    deadline[0] = time.monotonic() + warmup + seconds
    for thread in threads:
        thread.join(timeout=warmup + seconds + soak.CALL_TIMEOUT + 30)
    return {"began": began, "counts": dict(tally.counts), "failures": len(tally.failures)}


def summarise(rows: list[dict[str, float]], start: float, warmup: float, seconds: float) -> None:
    """Print each figure at the soak's start, its windows' peaks, its end, and the growth."""
    soak = [r for r in rows if start + warmup <= r["t"] <= start + warmup + seconds]
    if not soak:
        print("no samples in the soak")
        return
    t0 = soak[0]["t"]
    first = [r for r in soak if r["t"] < t0 + WINDOW_SECONDS]
    last = [r for r in soak if r["t"] >= t0 + seconds - WINDOW_SECONDS]
    peak_first = max(first, key=lambda r: r["rss"])
    peak_last = max(last, key=lambda r: r["rss"])
    header = ["", "idle", "soak start", "first 20 s peak", "last 20 s peak", "end", "growth"]
    print(" | ".join(header))
    idle = rows[0]
    for key, name in FIELDS:
        cells = [idle[key], soak[0][key], peak_first[key], peak_last[key], soak[-1][key]]
        growth = peak_last[key] - peak_first[key]
        print(" | ".join([name, *(f"{v:,.1f}" for v in cells), f"{growth:+,.1f}"]))
    print(f"RSS max over the soak: {max(r['rss'] for r in soak):,.0f} MB")


def main(argv: list[str] | None = None) -> int:
    """Run the server and its load (or, with --serve, be the server)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="soak length (60)")
    parser.add_argument("--warmup", type=float, default=15.0, help="warm-up before it (15)")
    parser.add_argument("--no-uploads", action="store_true", help="no writers: torch idle")
    parser.add_argument("--idle", type=float, default=0.0, help="only watch it idle this long")
    parser.add_argument("--session-capacity", type=int, help="the server's session capacity")
    parser.add_argument(
        "--server-env", action="append", default=[], help="KEY=VALUE for the server's env"
    )
    parser.add_argument("--keep", action="store_true", help="keep the probe's records")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--probe", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve_with_probe(args.port, args.probe, args.session_capacity)
        return 0

    from tests.app_server import free_port

    work = Path(tempfile.mkdtemp(prefix="qa-server-memory-"))
    root = work / "index"
    root.mkdir()
    import qa

    qa.default_index().save(root / "leping")
    port = free_port()
    out = work / "probe.jsonl"
    env = dict(os.environ, QA_INDEX_ROOT=str(root), GRADIO_TEMP_DIR=str(work / "gradio-tmp"))
    env.update(GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    env.update(dict(item.split("=", 1) for item in args.server_env))
    command = [sys.executable, __file__, "--serve", "--port", str(port), "--probe", str(out)]
    if args.session_capacity is not None:
        command += ["--session-capacity", str(args.session_capacity)]
    log = (work / "server.log").open("w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        import httpx

        for _ in range(480):
            try:
                if httpx.get(url, timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        started = read_probe(out)[-1]["t"] if out.exists() and read_probe(out) else 0.0
        if args.idle:
            time.sleep(args.idle)
            rows = read_probe(out)
            idle = [r for r in rows if r["t"] >= started]
            first, last = idle[0]["rss"], idle[-1]["rss"]
            print(f"idle for {args.idle:.0f} s: RSS {first:,.0f} to {last:,.0f} MB")
            return 0
        result = run_load(url, args.seconds, args.warmup, not args.no_uploads, work)
        rows = read_probe(out)
        # The probe's clock started with the server; the load's warm-up begins at its barrier.
        elapsed = time.time() - result["began"]
        load_start = rows[-1]["t"] - elapsed
        print(f"requests {sum(result['counts'].values())}, failures {result['failures']}:")
        print(f"  {result['counts']}")
        summarise(rows, load_start, args.warmup, args.seconds)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
        if args.keep:
            print(f"probe records: {out}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
