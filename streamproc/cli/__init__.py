"""The `streamproc` console script: one subcommand per module of this package, imported lazily.

Each command module (``streamproc/cli/<command>.py``) exposes ``add_arguments(parser)`` and
``run(args) -> int``, so that ``streamproc --help`` stays fast and a broken optional piece
cannot break the others.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS: dict[str, str] = {
    "broker": "manage the local Kafka broker (start|stop|status)",
    "worker": "run the Faust worker with its web server",
    "report": "compute the report offline from CSV files",
    "generate": "write a realistic synthetic data set",
    "replay": "replay CSV files into Kafka",
    "snapshot": "ask a running worker for a report snapshot",
    "bench": "run the benchmark harness",
    "soak": "a seeded chaos soak on a private 3-node cluster, checked against the batch",
}


def command_module(name: str):
    """The module of one command: ``streamproc.cli.<name>``."""
    return importlib.import_module(f"{__name__}.{name}")


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="streamproc", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    wanted = argv[0] if argv and argv[0] in COMMANDS else None
    for name, help_text in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == wanted:
            command_module(name).add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    module = command_module(args.command)
    return int(module.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
