"""Which data set `streamproc bench` replays: ``--data``, else ``STREAMPROC_BENCH_DATA`` or
../shared/data beside the checkout (the real week), else one generated to the same size.

``--quick`` and ``--stores`` ask for a size, so they always generate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench import ROOT, harness
from bench.options import BenchOptions

SHARED_DATA = ROOT.parent / "shared" / "data"
# The week file first: the shared folder also holds a smaller sample.
POLLS_NAMES = ("store_status_week.csv.gz", "store_status.csv.gz", "store_status_week.csv",
               "store_status.csv")
FLEET_STORES = 13_900  # the real fleet's size
QUICK_STORES = 1_000


@dataclass(frozen=True)
class DataSet:
    polls: Path
    hours: Path
    timezones: Path
    label: str  # what the table's facts say about it


def find_data(options: BenchOptions, configured: Path | None, tmp: Path, env: dict[str, str],
              log: Callable[[str], None]) -> DataSet:
    """The first complete candidate folder, else a generated week (written under ``tmp``);
    ``configured`` is the ``bench_data`` setting."""
    for folder in _candidates(options, configured):
        found = complete_set(folder)
        if found is not None:
            return found
    size = options.stores or (QUICK_STORES if options.quick else FLEET_STORES)
    return generated(size, tmp / "data", env, log)


def _candidates(options: BenchOptions, configured: Path | None) -> list[Path]:
    if options.data:
        return [options.data]
    if options.quick or options.stores:
        return []
    return [folder for folder in (configured, SHARED_DATA) if folder is not None]


def complete_set(folder: Path) -> DataSet | None:
    """The three files in ``folder``, or None when one is missing."""
    polls = next((folder / n for n in POLLS_NAMES if (folder / n).is_file()), None)
    hours, zones = folder / "menu_hours.csv", folder / "timezones.csv"
    if polls and hours.is_file() and zones.is_file():
        return DataSet(polls, hours, zones, f"{polls}")
    return None


def generated(stores: int, out: Path, env: dict[str, str],
              log: Callable[[str], None]) -> DataSet:
    """``streamproc generate`` of ``stores`` x 7 days (seed 0, so runs compare)."""
    log(f"generating {stores:,} stores x 7 days into {out}")
    harness.timed_cli(env, "generate", "--stores", str(stores), "--days", "7", "--gzip",
                      "--out", str(out))
    return DataSet(out / "store_status.csv.gz", out / "menu_hours.csv", out / "timezones.csv",
                   f"generated: {stores:,} stores x 7 days (seed 0)")
