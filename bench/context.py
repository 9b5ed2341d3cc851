"""What the steps of one `streamproc bench` run are given: :class:`BenchContext` (the whole
run) and :class:`MainWorker` (the worker the main sequence measures)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.data import DataSet
from bench.options import BenchOptions
from streamproc.config import Settings
from streamproc.sandbox import WorkerProcess


def say(text: str) -> None:
    """A progress line: a full run takes minutes, and the table comes only at the end."""
    print(f"bench: {text}", flush=True)


@dataclass(frozen=True)
class BenchContext:
    options: BenchOptions
    tmp: Path  # this run's scratch directory (removed at the end unless --keep)
    bootstrap: str  # host:port of the broker
    data: DataSet
    # The environment of `streamproc` commands that talk to no worker (generate); a worker's
    # commands use its own ``WorkerProcess.env``.
    env: dict[str, str] = field(default_factory=dict)
    log: Callable[[str], None] = say


@dataclass(frozen=True)
class MainWorker:
    """The isolated worker (own app id, topics, state dir, port) and its settings, read from
    its environment: this process's own settings are the broker's, not the worker's."""

    process: WorkerProcess
    settings: Settings

    @property
    def input_topics(self) -> list[str]:
        s = self.settings
        return [s.topic_polls, s.topic_hours, s.topic_timezones]

    @property
    def all_topics(self) -> set[str]:
        """Every topic the worker's settings name (deleted after the run)."""
        s = self.settings
        return {s.topic_polls, s.topic_hours, s.topic_timezones, s.topic_special_hours,
                s.topic_events, s.topic_deadletter, s.topic_outages, s.topic_reports}
