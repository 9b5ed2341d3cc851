#!/usr/bin/env bash
# Idempotent set-up of a fresh machine (Debian/Ubuntu); safe to run again and again.
#   1. Java 17+ and Maven for the local Kafka broker (apt, only if missing)
#   2. chromium + chromium-driver for the browser tests (apt, only if missing)
#   3. .venv with Python 3.11 and `pip install -e '.[test]'` (skipped if pyproject.toml unchanged)
#   4. the Kafka broker jars from Maven Central into .streamproc/jars (cached)
# apt problems only print a warning; a missing Python or a failing pip install is an error.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

say() { printf '[setup] %s\n' "$*"; }
warn() { printf '[setup] WARNING: %s\n' "$*" >&2; }

# ------------------------------------------------------------------ apt (best effort)
APT_UPDATED=0
apt_install() {
    # apt_install PKG... : install Debian packages, never failing the script.
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo="sudo -n"
        else
            warn "not root and no password-less sudo: cannot apt-get install $*"
            return 0
        fi
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        warn "apt-get not available: install $* yourself"
        return 0
    fi
    if [ "$APT_UPDATED" -eq 0 ]; then
        say "apt-get update"
        if $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null; then
            APT_UPDATED=1
        else
            warn "apt-get update failed"
        fi
    fi
    say "apt-get install $*"
    if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "$@" </dev/null >/dev/null; then
        warn "apt-get install $* failed"
    fi
    return 0
}

if ! command -v java >/dev/null 2>&1; then
    apt_install openjdk-17-jre-headless
fi
if ! command -v mvn >/dev/null 2>&1 && [ ! -f .streamproc/jars/.complete ]; then
    apt_install maven
fi
if ! { command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; }; then
    apt_install chromium chromium-driver
fi

# ------------------------------------------------------------------ Python venv
find_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.11 python3 python3.12; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] < (3, 13)))' \
                2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

if [ ! -x .venv/bin/python ]; then
    PY="$(find_python)" || {
        apt_install python3.11 python3.11-venv
        PY="$(find_python)" || { echo "[setup] ERROR: Python 3.11 not found" >&2; exit 1; }
    }
    say "creating .venv with $PY ($("$PY" -V 2>&1))"
    if ! "$PY" -m venv .venv; then
        rm -rf .venv
        apt_install python3-venv python3.11-venv
        "$PY" -m venv .venv
    fi
fi

HASH="$(sha256sum <pyproject.toml | cut -d" " -f1)"
MARKER=.venv/.streamproc-installed
if [ -x .venv/bin/streamproc ] && [ "$(cat "$MARKER" 2>/dev/null || true)" = "$HASH" ]; then
    say "Python packages up to date"
else
    say "pip install -e '.[test]' (first time: a few minutes)"
    export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e '.[test]'
    echo "$HASH" >"$MARKER"
fi

# ------------------------------------------------------------------ broker jars
if command -v java >/dev/null 2>&1; then
    JARS="$(.venv/bin/streamproc broker jars)"
    say "Kafka broker jars ready in $JARS"
else
    warn "Java not found: the Kafka broker (and integration tests) cannot run"
fi
say "done"
