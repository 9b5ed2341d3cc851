"""The files of a generated data set: the real names, headers (column order) and line
format, so that every reader of the real files reads these unchanged."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

POLLS_FILE = "store_status.csv"
HOURS_FILE = "menu_hours.csv"
TIMEZONES_FILE = "timezones.csv"
SPECIAL_FILE = "special_hours.csv"
POLLS_HEADER = "store_id,status,timestamp_utc"
HOURS_HEADER = "store_id,day,start_time_local,end_time_local"
TIMEZONES_HEADER = "store_id,timezone_str"
SPECIAL_HEADER = "store_id,date,start_time_local,end_time_local"


def write_lines(f: TextIO, header: str, lines: Iterable[str]) -> None:
    """The header, then the lines as generated (each already ends in a newline)."""
    f.write(header + "\n")
    f.writelines(lines)
