"""`streamproc report`: the whole contract offline, from CSV files to the report CSV.

This is also the in-repo oracle that the streaming tests compare against.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import TypeVar

from streamproc import csvfiles
from streamproc.core.parsing import HeaderError
from streamproc.core.records import Rejection
from streamproc.core.report_rows import (
    OPTIONAL_COLUMNS,
    GroupedPolls,
    batch_rows,
    check_columns,
    group_sources,
    write_csv,
)
from streamproc.core.timeparse import format_timestamp, parse_timestamp
from streamproc.progress import Progress

T = TypeVar("T")
_CHUNK = 1 << 16  # poll rows handed to GroupedPolls.add at a time (counted per chunk)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--polls", required=True, type=Path, help="store_status CSV (.csv/.gz)")
    parser.add_argument("--hours", required=True, type=Path, help="business hours CSV")
    parser.add_argument("--timezones", required=True, type=Path, help="time zones CSV")
    parser.add_argument(
        "--special-hours", type=Path, help="special hours CSV (holidays, closures; optional)"
    )
    parser.add_argument("--out", required=True, type=Path, help="report CSV to write")
    parser.add_argument("--as-of", help="report at this UTC time instead of the newest poll")
    parser.add_argument("--rejects", type=Path, help="write rejected rows to this CSV")
    parser.add_argument("--columns", default="",
                        help="optional columns to add, comma-separated: "
                             + ",".join(OPTIONAL_COLUMNS))


class RejectSink:
    """Collects rejected rows so the run can count and (optionally) keep them."""

    def __init__(self) -> None:
        self.rejections: list[Rejection] = []

    def accept(self, items: Iterable[T | Rejection]) -> Iterator[T]:
        for item in items:
            if isinstance(item, Rejection):
                self.rejections.append(item)
            else:
                yield item

    def write(self, path: Path) -> None:
        with path.open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["source", "line", "reason", "raw"])
            for r in self.rejections:
                writer.writerow([r.source, r.line, r.reason, _cell_safe(r.raw)])


def _cell_safe(text: str) -> str:
    """Defuse spreadsheet formulas in echoed raw input."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _special_rows(path: Path | None, sink: RejectSink) -> list:
    """The accepted special-hours rows, read before the polls so a bad header stops early."""
    return [] if path is None else list(sink.accept(csvfiles.iter_special_hours(path)))


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    for path in (args.polls, args.hours, args.timezones, args.special_hours):
        if path is not None and not path.exists():
            print(f"streamproc report: no such file: {path}", file=sys.stderr)
            return 2
    try:
        as_of = parse_timestamp(args.as_of) if args.as_of else None
    except ValueError as exc:
        print(f"streamproc report: bad --as-of {args.as_of!r}: {exc}", file=sys.stderr)
        return 2
    try:
        columns = check_columns([c.strip() for c in args.columns.split(",") if c.strip()])
    except ValueError as exc:
        print(f"streamproc report: bad --columns: {exc}", file=sys.stderr)
        return 2
    sink = RejectSink()
    progress = Progress("reading polls")
    try:
        special = _special_rows(args.special_hours, sink)
        polls = GroupedPolls(as_of)
        items = csvfiles.iter_polls(args.polls)
        while chunk := list(islice(items, _CHUNK)):  # the rejections kept in file order
            progress.advance(len(chunk))
            sink.rejections += polls.add(chunk)
        sources = group_sources(
            sink.accept(csvfiles.iter_hours(args.hours)),
            sink.accept(csvfiles.iter_timezones(args.timezones)),
            special,
        )
    except HeaderError as exc:
        print(f"streamproc report: {exc}", file=sys.stderr)
        return 2
    progress.close()
    now = polls.now
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", newline="") as f:
        # store by store: the polls are held (compactly), the states one at a time
        n_rows = write_csv(batch_rows(polls, sources, figures=bool(columns)), f, columns)
    if args.rejects:
        sink.write(args.rejects)
    now_text = format_timestamp(now) if now is not None else "none"
    print(
        f"report: {progress.count} poll rows, {len(sink.rejections)} rejected, "
        f"{n_rows} stores, now {now_text}, {time.monotonic() - started:.1f}s -> {args.out}"
    )
    return 0
