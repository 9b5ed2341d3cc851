"""`streamproc worker`: run the Faust worker (agents, tables, web server) in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from streamproc import config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--web-port", type=int, help="web server port (STREAMPROC_WEB_PORT)")
    parser.add_argument(
        "--loglevel", default=os.environ.get("STREAMPROC_LOGLEVEL", "warning"),
        help="log level (STREAMPROC_LOGLEVEL, default warning)",
    )


def run(args: argparse.Namespace) -> int:
    import faust

    from streamproc.kafka.topics import all_topics, changelog_topics, ensure_topics
    from streamproc.worker.app import create_app

    if args.web_port:
        os.environ["STREAMPROC_WEB_PORT"] = str(args.web_port)
    settings = config.load()
    logging.basicConfig(
        level=args.loglevel.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    pipeline = create_app(settings)
    try:
        tables = pipeline.app.tables.values()
        topics = all_topics(settings) + changelog_topics(tables, settings.partitions)
        asyncio.run(ensure_topics(settings.bootstrap, topics))
    except Exception as exc:  # noqa: BLE001 - any failure here means "cannot reach Kafka"
        print(f"streamproc worker: cannot reach Kafka at {settings.bootstrap}: {exc}",
              file=sys.stderr)
        return 1
    worker = faust.Worker(pipeline.app, loglevel=args.loglevel, quiet=True)

    @pipeline.app.task
    async def _quiet_libraries() -> None:
        # Keep the libraries' per-message debug calls cheap whatever the root level is.
        level = max(logging.getLogger().getEffectiveLevel(), logging.INFO)
        for name in ("aiokafka", "faust", "mode", "kafka"):
            logging.getLogger(name).setLevel(level)
        log = logging.getLogger("streamproc")
        log.info("levels: root=%s", logging.getLogger().getEffectiveLevel())

    worker.execute_from_commandline()
    return 0
