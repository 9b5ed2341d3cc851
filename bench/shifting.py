"""Copies of a polls file moved by whole weeks (the bench's weeks 2-4 and the live fleet's
backlog)."""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path


def shift_weeks(src: Path, out_dir: Path, weeks: list[int]) -> list[Path]:
    """Copies of the polls file with every timestamp moved by +7*w days (plain CSV).
    Only the date part of ``YYYY-MM-DD hh:mm:ss[.f] UTC`` changes; a row whose timestamp
    does not parse is copied as is (it is rejected on replay like in the original)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"store_status_plus{w}w.csv" for w in weeks]
    opener = gzip.open if src.suffix == ".gz" else open
    cache: dict[str, list[str] | None] = {}

    def shifted(date: str) -> list[str] | None:
        if date not in cache:
            try:
                d = dt.date.fromisoformat(date)
                cache[date] = [(d + dt.timedelta(days=7 * w)).isoformat() for w in weeks]
            except ValueError:
                cache[date] = None
        return cache[date]

    outs = [p.open("w", newline="", buffering=1 << 20) for p in paths]
    try:
        with opener(src, "rt", newline="") as f:
            header = f.readline()
            cols = [c.strip() for c in header.split(",")]
            ts_col = cols.index("timestamp_utc") if "timestamp_utc" in cols else len(cols) - 1
            last = ts_col == len(cols) - 1
            for o in outs:
                o.write(header)
            for line in f:
                if last:
                    head, sep, ts = line.rpartition(",")
                    new = shifted(ts[:10]) if sep else None
                    if new is None:
                        for o in outs:
                            o.write(line)
                        continue
                    rest = ts[10:]
                    for o, d in zip(outs, new, strict=True):
                        o.write(f"{head},{d}{rest}")
                else:
                    parts = line.split(",")
                    new = shifted(parts[ts_col][:10]) if len(parts) > ts_col else None
                    if new is None:
                        for o in outs:
                            o.write(line)
                        continue
                    for o, d in zip(outs, new, strict=True):
                        parts2 = list(parts)
                        parts2[ts_col] = d + parts[ts_col][10:]
                        o.write(",".join(parts2))
    finally:
        for o in outs:
            o.close()
    return paths
