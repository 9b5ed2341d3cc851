#!/usr/bin/env bash
# The whole check: set-up, lint, then every test (unit, integration against the real local
# Kafka broker, browser). Extra arguments go to pytest. Exit status is non-zero on any failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/setup.sh

echo "[test] ruff check ."
.venv/bin/ruff check .

echo "[test] pytest $*"
exec .venv/bin/python -m pytest "$@"
