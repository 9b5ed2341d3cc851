"""``streamproc replay`` run into an in-memory sink (producers/sinks.py), no broker."""

from __future__ import annotations

import argparse
import asyncio

from producers import replay
from producers.sinks import MemorySink
from streamproc import config


def run_memory(args: argparse.Namespace) -> tuple[replay.Summary, MemorySink]:
    """Replay ``args`` (as the CLI parses them) into a :class:`MemorySink`."""
    sink = MemorySink()

    async def factory(bootstrap: str):
        async def close() -> None:
            pass

        return sink, close

    summary = asyncio.run(replay.replay(args, config.Settings(), sink_factory=factory))
    return summary, sink
