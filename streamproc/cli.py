"""The `streamproc` console script: one subcommand per module, imported lazily.

Each command module exposes ``add_arguments(parser)`` and ``run(args) -> int`` so that
``streamproc --help`` stays fast and a broken optional piece cannot break the others.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "broker": ("streamproc.broker", "manage the local Kafka broker (start|stop|status)"),
    "worker": ("streamproc.worker", "run the Faust worker with its web server"),
    "report": ("streamproc.batch", "compute the report offline from CSV files"),
    "generate": ("streamproc.generate", "write a realistic synthetic data set"),
    "replay": ("producers.replay", "replay CSV files into Kafka"),
    "snapshot": ("streamproc.snapshot_cli", "ask a running worker for a report snapshot"),
    "bench": ("bench.run", "run the benchmark harness"),
}


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="streamproc", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    wanted = argv[0] if argv and argv[0] in COMMANDS else None
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == wanted:
            importlib.import_module(module).add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    module = importlib.import_module(COMMANDS[args.command][0])
    return int(module.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
