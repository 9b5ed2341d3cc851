#!/usr/bin/env bash
# End-to-end demo on this machine:
#   set-up -> local Kafka broker -> worker (background) -> synthetic data set -> replay into
#   Kafka -> report snapshot from the worker (out/report.csv) -> the same report computed
#   offline (out/batch_report.csv) -> compare the two.
# The broker and the worker are left running; stop them with:
#   kill "$(cat .streamproc/worker.pid)"; .venv/bin/streamproc broker stop
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

STORES="${DEMO_STORES:-500}"
DAYS="${DEMO_DAYS:-7}"
SEED="${DEMO_SEED:-7}"
STATE_DIR="${STREAMPROC_STATE_DIR:-.streamproc}"
WORKER_PID="$STATE_DIR/worker.pid"
WORKER_LOG="$STATE_DIR/worker.log"

say() { printf '[demo] %s\n' "$*"; }

bash scripts/setup.sh
SP=.venv/bin/streamproc
PY=.venv/bin/python

say "starting the Kafka broker"
"$SP" broker start

mkdir -p "$STATE_DIR" out
if [ -f "$WORKER_PID" ] && kill -0 "$(cat "$WORKER_PID")" 2>/dev/null; then
    say "worker already running (pid $(cat "$WORKER_PID"))"
else
    say "starting the worker in the background (log: $WORKER_LOG)"
    nohup "$SP" worker >>"$WORKER_LOG" 2>&1 </dev/null &
    echo $! >"$WORKER_PID"
fi

say "waiting for the worker's web server"
"$PY" - "${STREAMPROC_WEB_PORT:-6066}" "$WORKER_PID" "$WORKER_LOG" <<'PYEOF'
import os, sys, time, urllib.request
port, pid_file, log = sys.argv[1], sys.argv[2], sys.argv[3]
pid = int(open(pid_file).read())
deadline = time.monotonic() + 180
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
            if r.status == 200:
                sys.exit(0)
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        break
    time.sleep(1)
print(f"[demo] the worker did not come up; last lines of {log}:", file=sys.stderr)
with open(log, errors="replace") as f:
    sys.stderr.write("".join(f.readlines()[-20:]))
sys.exit(1)
PYEOF

DATA=out/data
say "generating $STORES stores x $DAYS days into $DATA"
"$SP" generate --stores "$STORES" --days "$DAYS" --out "$DATA" --seed "$SEED"

say "replaying the data set into Kafka"
"$SP" replay --polls "$DATA/store_status.csv" --hours "$DATA/menu_hours.csv" \
    --timezones "$DATA/timezones.csv" --special-hours "$DATA/special_hours.csv"

say "asking the worker for a report snapshot -> out/report.csv"
"$SP" snapshot --out out/report.csv

say "computing the same report offline -> out/batch_report.csv"
"$SP" report --polls "$DATA/store_status.csv" --hours "$DATA/menu_hours.csv" \
    --timezones "$DATA/timezones.csv" --special-hours "$DATA/special_hours.csv" \
    --out out/batch_report.csv

if cmp -s out/report.csv out/batch_report.csv; then
    say "OK: streaming report equals the batch report ($(($(wc -l <out/report.csv) - 1)) stores)"
else
    say "MISMATCH between out/report.csv and out/batch_report.csv:"
    diff out/report.csv out/batch_report.csv | head -20 || true
    exit 1
fi
say "worker still running (pid $(cat "$WORKER_PID")): http://127.0.0.1:${STREAMPROC_WEB_PORT:-6066}/health"
