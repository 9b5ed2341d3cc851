"""`streamproc bench`: every performance figure of issues 8 and 15 in one run, beside its baseline.

    streamproc bench [--quick] [--update-readme] [--profile] [--out FILE]

Starts the broker if needed, finds or generates the data (bench/data.py), runs the steps
(bench/pipeline.py says which, in which order) and writes the table (bench/table.py) to
stdout, ``--out`` and optionally the README (bench/publish.py). ``--quick``: 1,000 stores x
7 days and fewer samples, a smoke run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import shutil
import tempfile
import time
import traceback
from pathlib import Path

from bench import ROOT, harness, pipeline, publish
from bench.context import BenchContext, say
from bench.data import find_data
from bench.options import STEPS, BenchOptions
from bench.profiling import PROFILE_OUT
from bench.table import Report, markdown

DEFAULT_OUT = ROOT / "bench" / "results.md"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true",
                        help="small generated data set (1,000 stores x 7 days): ~2 minutes")
    parser.add_argument("--update-readme", action="store_true",
                        help="replace the README's '## Performance' section with the table")
    parser.add_argument("--profile", action="store_true",
                        help=f"py-spy profile of the worker during the end-to-end run "
                             f"(top functions to {PROFILE_OUT.relative_to(ROOT)})")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"Markdown table to write (default {DEFAULT_OUT.relative_to(ROOT)})")
    parser.add_argument("--data", type=Path,
                        help="directory with store_status*.csv[.gz], menu_hours.csv, "
                             "timezones.csv (default ../shared/data, else generated)")
    parser.add_argument("--stores", type=int,
                        help="generate this many stores x 7 days instead (default 1,000 with "
                             "--quick; 13,900 when no shared data)")
    parser.add_argument("--skip", default="", metavar="STEPS",
                        help=f"comma-separated steps to leave out: {', '.join(STEPS)}")
    parser.add_argument("--workers", metavar="COUNTS",
                        help="only the scale-out step: end-to-end polls/s with each number of "
                             "workers, e.g. 1,2,3 (1 is always run: the baseline)")
    parser.add_argument("--events", type=int, metavar="N",
                        help="only the events step: N one-poll events applied per second "
                             "through store-events and POST /events, beside the replay of "
                             "the same polls (e.g. 200000)")
    parser.add_argument("--scale-stores", type=int, metavar="N",
                        help="the scale step: N stores beside 10 x N (default 5,000; 50 with "
                             "--quick)")
    parser.add_argument("--scale-days", type=int, metavar="D",
                        help="the scale step: days of polls per store (default 7; 2 with "
                             "--quick)")
    parser.add_argument("--minute-stores", type=int, metavar="K",
                        help="the minute-poll step: K stores polled each minute (default 200; "
                             "20 with --quick)")
    parser.add_argument("--minute-days", type=int, metavar="D",
                        help="the minute-poll step: days of minute polls kept before the live "
                             "minutes (default 2; 1 with --quick)")
    parser.add_argument("--keep", action="store_true", help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    # keep aiokafka's connection warnings (workers and clients come and go) out of the
    # progress lines
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    options = BenchOptions.from_args(args)
    started, load_start = time.monotonic(), harness.loadavg()
    report = Report(facts=_start_facts(options))
    say(f"{report.facts['date']}; {report.facts['machine']}; load {load_start}")
    tmp = Path(tempfile.mkdtemp(prefix="streamproc-bench-"))
    try:
        status = _measure(options, tmp, report)
    finally:
        if options.keep:
            say(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    report.facts["load"] = (f"load average (1/5/15 min) {load_start} at the start, "
                            f"{harness.loadavg()} at the end (other processes on the machine "
                            "included)")
    report.facts["duration"] = (f"{time.monotonic() - started:.0f} s"
                                + (" (`--quick`)" if options.quick else ""))
    _publish(report, args.out, args.update_readme, options.quick)
    return status


def _measure(options: BenchOptions, tmp: Path, report: Report) -> int:
    """Every step's findings into ``report``; 1 when a step failed (the rows of the steps
    before it are kept, and a note says where it stopped)."""
    try:
        _measure_into(options, tmp, report)
    except Exception as exc:  # report what we have, then fail
        traceback.print_exc()
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        report.notes.append(f"**the bench stopped early**: {type(exc).__name__}: {first_line}")
        return 1
    return 0


def _measure_into(options: BenchOptions, tmp: Path, report: Report) -> None:
    from streamproc import config
    from streamproc import localkafka as broker

    settings = config.load()
    bootstrap = broker.start(settings)
    env = dict(os.environ)  # for the commands it runs (read, never changed)
    data = find_data(options, settings.bench_data, tmp, env, say)
    report.facts["data"] = data.label
    say(f"broker {bootstrap}; data {data.label}")
    ctx = BenchContext(options, tmp, bootstrap, data, env)
    for findings in pipeline.measure(ctx):
        report.add(findings)
        for row in findings.rows:
            print(row.line(), flush=True)


def _start_facts(options: BenchOptions) -> dict[str, str]:
    m = harness.machine()
    who = "the workers" if options.workers else "one worker"
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": (f"{m['nproc']} CPUs ({m['cpu']}), {m['ram']} RAM, Python {m['python']}, "
                    f"Linux {m['kernel']}; broker, producer and {who} on the same machine"),
        "commit": harness.git_commit(ROOT),
    }


def _publish(report: Report, out: Path, update_readme: bool, quick: bool) -> None:
    text = markdown(report)
    print()
    print(text)
    publish.write_results(out, text)
    say(f"table written to {out}")
    if update_readme:
        publish.update_readme(text, quick, out)
        say(f"{publish.README.name} section '{publish.README_SECTION}' updated")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="streamproc bench", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
