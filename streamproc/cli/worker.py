"""`streamproc worker`: run the Faust worker (agents, tables, web server) in the foreground."""

from __future__ import annotations

import argparse
import logging
import os

from streamproc import config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--web-port", type=int, help="web server port (STREAMPROC_WEB_PORT)")
    parser.add_argument(
        "--loglevel", default=os.environ.get("STREAMPROC_LOGLEVEL", "warning"),
        help="log level (STREAMPROC_LOGLEVEL, default warning)",
    )


def run(args: argparse.Namespace) -> int:
    from streamproc.worker.app import run_worker

    if args.web_port:
        os.environ["STREAMPROC_WEB_PORT"] = str(args.web_port)
    logging.basicConfig(
        level=args.loglevel.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    return run_worker(config.load(), args.loglevel)
