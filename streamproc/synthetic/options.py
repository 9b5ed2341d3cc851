"""What one generated data set is made of: :class:`GenConfig`, the parsed arguments of
`streamproc generate` (every file is a pure function of it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from streamproc.core.records import US_PER_DAY, US_PER_SECOND

# The real data's week starts on this day; the DST default puts the US spring-forward change
# of 2023-03-12 inside a week.
DEFAULT_START = datetime(2023, 1, 18, tzinfo=UTC)
DST_START = datetime(2023, 3, 8, tzinfo=UTC)


@dataclass(frozen=True)
class GenConfig:
    stores: int
    days: int
    seed: int = 0
    start: datetime = DEFAULT_START
    dst: bool = False
    bad_rows: int = 0
    duplicates: float = 0.002

    @property
    def start_us(self) -> int:
        return to_us(self.start)

    @property
    def end_us(self) -> int:
        return self.start_us + self.days * US_PER_DAY


def to_us(dt: datetime) -> int:
    """Microseconds since the epoch, in integers only (a float would round the microseconds)."""
    delta = dt.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * US_PER_SECOND + delta.microseconds
