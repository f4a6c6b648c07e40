"""Running a benchmark's worker on the code before a change and on the working tree, in
one run: each version in a process of its own, ``PYTHONPATH`` on a temporary ``git
worktree`` of the ref for the code before, and an index root of its own (an older qa cannot
read the indexes a newer one writes; a newer one reads an older one's, so the working tree's
root is seeded with the contexts indexes the code before built)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from common import REPO

# The commit before issue 19's work (the meaning of questions).
BEFORE = "919bdc1"
ROOTS = REPO / "index" / ".meaning-roots"


def seed(root: Path, source: Path | None) -> None:
    """Copy the contexts indexes of ``source`` (an index root) into ``root`` once."""
    if source is None or not (source / ".eval-cache").is_dir():
        return
    for folder in (source / ".eval-cache").iterdir():
        target = root / ".eval-cache" / folder.name
        if folder.is_dir() and not target.exists() and (folder / "CURRENT").exists():
            shutil.copytree(folder, target)


def run_versions(
    script: Path,
    worker_args: list[str],
    before: str = BEFORE,
    only: str | None = None,
    roots: Path = ROOTS,
    seed_root: Path | None = None,
) -> dict[str, Any]:
    """Run ``script --worker ARGS --out FILE`` for the code at ``before`` and for the working
    tree (or ``only`` one of them); return each version's JSON output by name."""
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for version in ("before", "after"):
            if only not in (None, version):
                continue
            root = roots / version
            root.mkdir(parents=True, exist_ok=True)
            seed(root, seed_root)
            if version == "after":
                seed(root, roots / "before")
            code = REPO
            if version == "before":
                code = Path(scratch) / "before"
                subprocess.run(
                    ["git", "worktree", "add", "--detach", str(code), before],
                    cwd=REPO,
                    check=True,
                    capture_output=True,
                )
            out = Path(scratch) / f"{version}.json"
            print(f"== {version} ({before if version == 'before' else 'working tree'})", flush=True)
            environment = dict(os.environ, PYTHONPATH=str(code), QA_INDEX_ROOT=str(root))
            environment.setdefault("HF_HUB_OFFLINE", "1")
            command = [sys.executable, str(script), "--worker", *worker_args, "--out", str(out)]
            try:
                subprocess.run(command, env=environment, check=True, cwd=script.parent)
            finally:
                if version == "before":
                    subprocess.run(
                        ["git", "worktree", "remove", "--force", str(code)], cwd=REPO, check=False
                    )
            results[version] = json.loads(out.read_text(encoding="utf-8"))
    return results
