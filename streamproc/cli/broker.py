"""`streamproc broker start|stop|status|jars`: the local Kafka broker (streamproc.kafka.broker)."""

from __future__ import annotations

import argparse
import sys

from streamproc import config
from streamproc.kafka.broker import (
    DEFAULT_START_TIMEOUT,
    DEFAULT_STOP_TIMEOUT,
    BrokerError,
    data_dir,
    ensure_jars,
    running_pid,
    start,
    status,
    stop,
    wait_until_ready,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        choices=["start", "stop", "status", "jars"],
        help="start/stop the local broker, show its status, or only fetch jars",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help=f"seconds to wait (start: {DEFAULT_START_TIMEOUT:.0f}, "
        f"stop: {DEFAULT_STOP_TIMEOUT:.0f} before SIGKILL)",
    )


def run(args: argparse.Namespace) -> int:
    settings = config.load()
    try:
        if args.action == "start":
            if running_pid(settings) is not None and wait_until_ready(settings.bootstrap, 2.0):
                print(
                    f"Kafka broker already running at {settings.bootstrap} "
                    f"(pid {running_pid(settings)})"
                )
                return 0
            bootstrap = start(settings, timeout=args.timeout or DEFAULT_START_TIMEOUT)
            print(
                f"Kafka broker running at {bootstrap} (pid {running_pid(settings)}, "
                f"data in {data_dir(settings)})"
            )
        elif args.action == "stop":
            if stop(settings, timeout=args.timeout or DEFAULT_STOP_TIMEOUT):
                print("Kafka broker stopped")
            else:
                print("Kafka broker is not running")
        elif args.action == "status":
            print(status(settings).describe())
        else:
            print(ensure_jars(settings))
    except BrokerError as exc:
        print(f"streamproc broker {args.action}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
