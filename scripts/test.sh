#!/usr/bin/env bash
# Sets up everything the tests need on a fresh machine, then runs lint, types and tests.
# Usage: bash scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "wenquanyi"; then
    echo "== installing chromium and a CJK font for the browser tests"
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-wqy-zenhei fonts-dejavu-core >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    echo "== creating .venv"
    python3 -m venv .venv
fi
echo "== installing qa and its test dependencies (torch pinned to the CPU build)"
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -c constraints.txt -e ".[test]"

echo "== ruff"
.venv/bin/ruff check qa tests benchmarks scripts
.venv/bin/ruff format --check qa tests benchmarks scripts
echo "== mypy"
.venv/bin/mypy qa
echo "== pytest"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
.venv/bin/python -m pytest -ra "$@"
