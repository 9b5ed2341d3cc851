"""Record shapes shared by parsing, state and the wire format (see docs/conventions.md)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple, TypeVar

# Safe in a CSV cell (no formula prefix, comma, quote or newline), a URL path and a Kafka key.
STORE_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")

US_PER_SECOND = 1_000_000
US_PER_MINUTE = 60 * US_PER_SECOND
US_PER_HOUR = 60 * US_PER_MINUTE
US_PER_DAY = 24 * US_PER_HOUR
DEFAULT_TIMEZONE = "America/Chicago"

Poll = tuple[str, int, bool]
HoursRow = tuple[str, int, int, int]
TimezoneRow = tuple[str, str]
SpecialRow = tuple[str, int, int, int]  # store_id, local date (days since 1970), start, end
R = TypeVar("R")


class Rejection(NamedTuple):
    """A row that was not accepted, with enough context for an operator to fix it."""

    source: str
    line: int
    raw: str
    reason: str


def is_valid_store_id(store_id: str) -> bool:
    return STORE_ID_PATTERN.fullmatch(store_id) is not None


def split_records(items: Iterable[R | Rejection]) -> tuple[list[R], list[Rejection]]:
    """Records and Rejections of any source, apart, each in its order: the one helper for every
    reader that keeps the records and reports the rejections (a chunk of a file, a POST body).
    """
    records: list[R] = []
    rejections: list[Rejection] = []
    for item in items:
        if isinstance(item, Rejection):
            rejections.append(item)
        else:
            records.append(item)
    return records, rejections
