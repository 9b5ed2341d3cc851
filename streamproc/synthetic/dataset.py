"""The whole generated data set (polls, business hours, zones) as lines, from one random
stream: :func:`generate`."""

from __future__ import annotations

from dataclasses import dataclass, field
from random import Random

from streamproc.progress import Progress
from streamproc.synthetic.bad_rows import (
    bad_hours_rows,
    bad_poll_rows,
    bad_timezone_rows,
    insert_spread,
    split_bad_rows,
)
from streamproc.synthetic.hours import hours_lines
from streamproc.synthetic.options import GenConfig
from streamproc.synthetic.polls import Formatter, polls_for
from streamproc.synthetic.stores import Store, make_stores


@dataclass
class Dataset:
    """Lines (each ending in a newline, without the header) of the three files."""

    polls: list[str]
    hours: list[str]
    timezones: list[str]
    stores: list[Store]
    bad: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0


def generate(cfg: GenConfig, progress: Progress | None = None) -> Dataset:
    """The whole data set for ``cfg`` as lines; a pure function of ``cfg``.

    Everything is drawn from one ``Random(cfg.seed)`` in a fixed order (stores, hours, zones,
    polls, bad rows): same arguments, same bytes. Reordering these steps changes the output.
    """
    _check(cfg)
    rng = Random(cfg.seed)
    stores = make_stores(rng, cfg)
    hours = [line for s in stores if s.shape is not None
             for line in hours_lines(rng, s.store_id, s.shape)]
    timezones = _timezone_lines(rng, stores)
    polls, duplicates = _poll_lines(rng, stores, cfg, progress)

    split = split_bad_rows(cfg.bad_rows)
    ids = [s.store_id for s in stores]
    polls.extend(bad_poll_rows(rng, split["polls"], ids, cfg))
    rng.shuffle(polls)  # stores and bad rows interleaved, not one store after the other
    insert_spread(rng, hours, bad_hours_rows(rng, split["hours"], ids))
    insert_spread(rng, timezones, bad_timezone_rows(rng, split["timezones"], ids))
    return Dataset(polls, hours, timezones, stores, split, duplicates)


def _check(cfg: GenConfig) -> None:
    if cfg.stores < 1 or cfg.days < 1:
        raise ValueError("--stores and --days must be at least 1")
    if not 0 <= cfg.duplicates <= 1:
        raise ValueError("--duplicates must be a fraction between 0 and 1")
    if cfg.bad_rows < 0:
        raise ValueError("--bad-rows must be >= 0")


def _timezone_lines(rng: Random, stores: list[Store]) -> list[str]:
    zoned = [s for s in stores if s.zone is not None]
    rng.shuffle(zoned)
    return [f"{s.store_id},{s.zone}\n" for s in zoned]


def _poll_lines(rng: Random, stores: list[Store], cfg: GenConfig,
                progress: Progress | None) -> tuple[list[str], int]:
    """Every polled store's lines, and how many of them are duplicates."""
    fmt = Formatter()
    polls: list[str] = []
    duplicates = 0
    for store in stores:
        if store.polled:
            n, d = polls_for(rng, store, cfg, fmt, polls)
            duplicates += d
            if progress is not None:
                progress.advance(n + d)
    return polls, duplicates
