"""Copies of a polls file moved by whole weeks (the bench's weeks 2-4 and the live fleet's
backlog)."""

from __future__ import annotations

import datetime as dt
import gzip
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO


def shift_weeks(src: Path, out_dir: Path, weeks: list[int]) -> list[Path]:
    """Copies of the polls file with every timestamp moved by +7*w days (plain CSV).
    Only the date part of ``YYYY-MM-DD hh:mm:ss[.f] UTC`` changes; a row whose timestamp
    does not parse is copied as is (it is rejected on replay like in the original)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"store_status_plus{w}w.csv" for w in weeks]
    opener = gzip.open if src.suffix == ".gz" else open
    shifted = _DateShifter(weeks)
    outs = [p.open("w", newline="", buffering=1 << 20) for p in paths]
    try:
        with opener(src, "rt", newline="") as f:
            header = f.readline()
            ts_col, last = _timestamp_column(header)
            for o in outs:
                o.write(header)
            if last:
                _copy_last_column(f, outs, shifted)
            else:
                _copy_column(f, outs, ts_col, shifted)
    finally:
        for o in outs:
            o.close()
    return paths


class _DateShifter:
    """``YYYY-MM-DD`` -> that date moved by each number of weeks (None: not a date), cached:
    a week of polls has a handful of dates and millions of rows."""

    def __init__(self, weeks: list[int]) -> None:
        self.weeks = weeks
        self.cache: dict[str, list[str] | None] = {}

    def __call__(self, date: str) -> list[str] | None:
        if date not in self.cache:
            try:
                d = dt.date.fromisoformat(date)
                self.cache[date] = [(d + dt.timedelta(days=7 * w)).isoformat()
                                    for w in self.weeks]
            except ValueError:
                self.cache[date] = None
        return self.cache[date]


def _timestamp_column(header: str) -> tuple[int, bool]:
    """(index of the timestamp column, whether it is the last one)."""
    cols = [c.strip() for c in header.split(",")]
    ts_col = cols.index("timestamp_utc") if "timestamp_utc" in cols else len(cols) - 1
    return ts_col, ts_col == len(cols) - 1


def _copy_last_column(lines: Iterable[str], outs: list[TextIO],
                      shifted: _DateShifter) -> None:
    """The usual layout, timestamp last: one split from the end, the rest kept as is (this
    loop runs once per poll of a week: it stays inline)."""
    for line in lines:
        head, sep, ts = line.rpartition(",")
        new = shifted(ts[:10]) if sep else None
        if new is None:
            for o in outs:
                o.write(line)
            continue
        rest = ts[10:]
        for o, d in zip(outs, new, strict=True):
            o.write(f"{head},{d}{rest}")


def _copy_column(lines: Iterable[str], outs: list[TextIO], ts_col: int,
                 shifted: _DateShifter) -> None:
    """Any other layout: the timestamp at ``ts_col``."""
    for line in lines:
        parts = line.split(",")
        new = shifted(parts[ts_col][:10]) if len(parts) > ts_col else None
        if new is None:
            for o in outs:
                o.write(line)
            continue
        for o, d in zip(outs, new, strict=True):
            o.write(",".join([*parts[:ts_col], d + parts[ts_col][10:], *parts[ts_col + 1:]]))
