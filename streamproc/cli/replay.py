"""`streamproc replay`: replay CSV files into Kafka (see producers.replay)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from producers.follow import FollowError
from producers.replay import DEFAULT_CHUNK_ROWS, FIRST_CHUNK_ROWS, PROG, ReplayError, replay
from streamproc import config
from streamproc.core.parsing import HeaderError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--polls", metavar="CSV", help="polls file (.csv or .csv.gz)")
    parser.add_argument("--hours", metavar="CSV", help="business hours file")
    parser.add_argument("--timezones", metavar="CSV", help="time zones file")
    parser.add_argument(
        "--special-hours", metavar="CSV", help="special hours file (holidays, closures)"
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--speed",
        type=float,
        metavar="X",
        help="replay polls in event-time order at X times real time (3600: an hour a second)",
    )
    mode.add_argument(
        "--follow", action="store_true", help="tail the polls file like `tail -f` until Ctrl-C"
    )
    parser.add_argument("--limit", type=int, metavar="N", help="stop after N poll rows")
    parser.add_argument(
        "--chunk-rows",
        type=int,
        default=DEFAULT_CHUNK_ROWS,
        metavar="N",
        help=f"most parsed poll rows per chunk in fast mode; the first chunk is "
        f"{FIRST_CHUNK_ROWS:,} rows at most, each next one twice the last "
        f"(default {DEFAULT_CHUNK_ROWS:,})",
    )
    parser.add_argument("--idle-exit", type=float, metavar="SECONDS", help=argparse.SUPPRESS)
    parser.add_argument(
        "--producer-mode", choices=("batch", "send"), default="batch", help=argparse.SUPPRESS
    )


def _check_args(args: argparse.Namespace) -> None:
    if not (args.polls or args.hours or args.timezones or args.special_hours):
        raise ReplayError("give at least one of --polls, --hours, --timezones, --special-hours")
    if args.follow and not args.polls:
        raise ReplayError("--follow needs --polls")
    if args.speed is not None and not (args.speed > 0 and args.speed < float("inf")):
        raise ReplayError("--speed must be a positive number")
    if args.limit is not None and args.limit < 0:
        raise ReplayError("--limit must be >= 0")
    if args.chunk_rows < 1:
        raise ReplayError("--chunk-rows must be >= 1")
    for name in ("polls", "hours", "timezones", "special_hours"):
        path = getattr(args, name)
        if path and not os.path.isfile(path):
            raise ReplayError(f"--{name.replace('_', '-')} {path}: no such file")




def run(args: argparse.Namespace) -> int:
    from producers.kafka_io import BrokerUnavailable

    # aiokafka logs connection failures and retries itself; a fatal one reaches us as an
    # exception and becomes the one-line message below.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    settings = config.load()
    try:
        _check_args(args)
        summary = asyncio.run(replay(args, settings))
    except ReplayError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return exc.status
    except BrokerUnavailable as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 3
    except HeaderError as exc:
        print(f"{PROG}: bad header: {exc}", file=sys.stderr)
        return 2
    except (FollowError, OSError, EOFError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a Kafka delivery error mid-way, for instance
        from aiokafka.errors import KafkaError

        if isinstance(exc, KafkaError):
            print(f"{PROG}: Kafka error: {exc}", file=sys.stderr)
            return 3
        raise
    print(summary.line())
    return 130 if summary.interrupted else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))
