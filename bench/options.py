"""The command line of `streamproc bench` as the steps see it: parsed once into
:class:`BenchOptions`, so that no step reads ``argparse`` or the environment."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

# the steps ``--skip`` may leave out
STEPS = ("reference", "reports", "live", "weeks", "recovery", "fleet", "scale", "minute")


@dataclass(frozen=True)
class BenchOptions:
    quick: bool = False  # a small generated data set and fewer samples
    profile: bool = False  # py-spy on the worker during some steps
    stores: int | None = None  # generate this many stores
    data: Path | None = None  # replay this folder's files
    skip: frozenset[str] = frozenset()
    workers: str | None = None  # "1,2,3": only the scale-out runs (parsed when they start)
    events: int | None = None  # only the events runs, with this many events
    keep: bool = False  # keep the scratch directory and the topics (debugging)
    scale_stores: int | None = None  # the scale step's N (it also runs 10 x N)
    scale_days: int | None = None  # the scale step's days of polls
    minute_stores: int | None = None  # the minute-poll step's stores
    minute_days: int | None = None  # the minute-poll step's days of history

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> BenchOptions:
        skip = frozenset(s.strip() for s in args.skip.split(",") if s.strip())
        return cls(quick=args.quick, profile=args.profile, stores=args.stores, data=args.data,
                   skip=skip, workers=args.workers, events=args.events, keep=args.keep,
                   scale_stores=getattr(args, "scale_stores", None),
                   scale_days=getattr(args, "scale_days", None),
                   minute_stores=getattr(args, "minute_stores", None),
                   minute_days=getattr(args, "minute_days", None))

    def runs(self, step: str) -> bool:
        return step not in self.skip
