"""`streamproc soak`: a seeded chaos soak (Jepsen's nemesis, Kafka's fault-injection tests).

A private 3-node cluster and 3 workers of one pipeline; the polls of a generated data set
replayed live while, on a schedule drawn from the seed, workers are killed (-9), stopped
(SIGTERM) and started, broker nodes killed and restarted, bursts of public events published
and reports triggered. Every report is checked against the batch command at its watermark,
and the end state against the batch report byte for byte. Prints a table; exits 1 if
anything was lost, wrong or stuck (the table names the seed and the command to replay it).
See streamproc/soak/ and the README ("Guarantees", "The soak").
"""

from __future__ import annotations

import argparse
import logging
import random
import signal
import sys
import time
from pathlib import Path

from streamproc import config
from streamproc.soak.brokers import shared_jars
from streamproc.soak.log import Log
from streamproc.soak.run import SoakConfig, run_soak
from streamproc.soak.table import render


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, help="the schedule's and the data's seed "
                        "(default: a random one, printed so the run can be replayed)")
    parser.add_argument("--minutes", type=float, default=30.0,
                        help="length of the live phase (default 30)")
    parser.add_argument("--stores", type=int, default=200, help="stores in the data set")
    parser.add_argument("--days", type=int, default=8, help="days of polls in the data set")
    parser.add_argument("--run-dir", type=Path, help="where the logs and state go (default: "
                        "<state dir>/soak/seed-S-<time>)")
    parser.add_argument("--session-timeout", type=float, default=10.0,
                        help="the workers' consumer-group session in seconds (default 10)")
    parser.add_argument("--worker-loglevel", default="info",
                        help="log level of the workers' logs in the run directory (default info)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the brokers' data and the workers' state after a pass")


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM ends the soak like Ctrl-C: every process it started is stopped."""
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    if args.minutes <= 0 or args.stores < 1 or args.days < 1:
        print("streamproc soak: --minutes, --stores and --days must be positive",
              file=sys.stderr)
        return 2
    settings = config.load()
    seed = args.seed if args.seed is not None else random.randrange(1, 1_000_000)
    run_dir = args.run_dir or (settings.state_dir / "soak" /
                               f"seed-{seed}-{time.strftime('%Y%m%d-%H%M%S')}")
    if run_dir.exists() and any(run_dir.iterdir()):
        print(f"streamproc soak: {run_dir} is not empty", file=sys.stderr)
        return 2
    cfg = SoakConfig(seed, args.minutes, run_dir.resolve(), shared_jars(settings),
                     stores=args.stores, days=args.days, session_timeout_s=args.session_timeout,
                     keep=args.keep, worker_loglevel=args.worker_loglevel)
    log = Log(cfg.run_dir / "soak.log")
    logging.basicConfig(filename=cfg.run_dir / "clients.log", level=logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        result = run_soak(cfg, log)
    except KeyboardInterrupt:
        log(f"interrupted; every process started was stopped (seed {seed}, {run_dir})")
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    table = render(result)
    print(table)
    (cfg.run_dir / "table.txt").write_text(table + "\n")
    log.close()
    return 0 if result.ok else 1
