"""`streamproc generate`: write a realistic synthetic data set (see streamproc.synthetic)."""

from __future__ import annotations

import argparse
import gzip
import io
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from streamproc.progress import Progress
from streamproc.synthetic import (
    DEFAULT_START,
    DST_START,
    HOURS_FILE,
    HOURS_HEADER,
    MISS_RATE,
    POLLS_FILE,
    POLLS_HEADER,
    SPECIAL_FILE,
    SPECIAL_HEADER,
    TIMEZONES_FILE,
    TIMEZONES_HEADER,
    GenConfig,
    crossed_transitions,
    generate,
    special_hours_lines,
    write_lines,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stores", type=int, required=True, help="distinct store ids")
    parser.add_argument("--days", type=int, required=True, help="days of polls")
    parser.add_argument("--out", type=Path, required=True, help="directory to write into")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--start", help="UTC start, ISO 8601 (default 2023-01-18T00:00, or 2023-03-08 with --dst)"
    )
    parser.add_argument(
        "--dst", action="store_true", help="make the range cross the US DST change of 2023-03-12"
    )
    parser.add_argument(
        "--bad-rows", type=int, default=0, metavar="K", help="malformed rows in total (default 0)"
    )
    parser.add_argument(
        "--duplicates",
        type=float,
        default=0.002,
        metavar="F",
        help="fraction of polls duplicated, 20%% of them with conflicting status (default 0.002)",
    )
    parser.add_argument("--gzip", action="store_true", help="write store_status.csv.gz")


def parse_start(text: str | None, dst: bool) -> datetime:
    if text is None:
        return DST_START if dst else DEFAULT_START
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _open_text(path: Path, gz: bool) -> TextIO:
    if gz:
        raw = path.open("wb")
        # mtime=0 and no file name: identical bytes for identical arguments.
        zipped = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6)
        zipped.myfileobj = raw  # closed together with the gzip stream
        return io.TextIOWrapper(zipped, encoding="ascii", newline="\n", write_through=False)
    return path.open("w", encoding="ascii", newline="\n", buffering=1 << 20)


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    try:
        cfg = GenConfig(
            stores=args.stores,
            days=args.days,
            seed=args.seed,
            start=parse_start(args.start, args.dst),
            dst=args.dst,
            bad_rows=args.bad_rows,
            duplicates=args.duplicates,
        )
    except ValueError as exc:
        print(f"streamproc generate: bad --start: {exc}", file=sys.stderr)
        return 2
    us_changes = crossed_transitions("America/New_York", cfg.start_us, cfg.end_us)
    if cfg.dst and not us_changes:
        print("streamproc generate: --dst but the range crosses no US DST change", file=sys.stderr)
        return 2
    progress = Progress("generate polls", total=int(cfg.stores * cfg.days * 24 * (1 - MISS_RATE)))
    try:
        data = generate(cfg, progress)
    except ValueError as exc:
        print(f"streamproc generate: {exc}", file=sys.stderr)
        return 2
    progress.close()

    args.out.mkdir(parents=True, exist_ok=True)
    polls_name = POLLS_FILE + (".gz" if args.gzip else "")
    with _open_text(args.out / polls_name, args.gzip) as f:
        write_lines(f, POLLS_HEADER, data.polls)
    with _open_text(args.out / HOURS_FILE, False) as f:
        write_lines(f, HOURS_HEADER, data.hours)
    with _open_text(args.out / TIMEZONES_FILE, False) as f:
        write_lines(f, TIMEZONES_HEADER, data.timezones)
    special = special_hours_lines(cfg, data.stores)
    with _open_text(args.out / SPECIAL_FILE, False) as f:
        write_lines(f, SPECIAL_HEADER, special)

    if cfg.dst:
        eu_changes = crossed_transitions("Europe/Berlin", cfg.start_us, cfg.end_us)
        crossed = ", ".join(
            f"{label} {t:%Y-%m-%d %H:%M} UTC"
            for label, ts in (("US", us_changes), ("EU", eu_changes))
            for t in ts
        )
        print(f"DST changes crossed: {crossed}", file=sys.stderr)
    bad = sum(data.bad.values())
    print(
        f"generated {cfg.stores:,} stores, {len(data.polls) - data.bad['polls']:,} polls "
        f"({data.duplicates:,} duplicates), {len(data.hours) - data.bad['hours']:,} hours rows, "
        f"{len(data.timezones) - data.bad['timezones']:,} timezones rows, "
        f"{len(special):,} special hours rows, {bad:,} bad rows "
        f"in {time.monotonic() - started:.1f}s -> {args.out}"
    )
    return 0
