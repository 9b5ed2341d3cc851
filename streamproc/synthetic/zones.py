"""Time zones of the generated stores, and where a zone's UTC offset changes in a range."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from streamproc.core.records import US_PER_SECOND

# (zone, weight) roughly as in the real timezones.csv, plus a few non-US zones so that the
# report meets offsets the US data never has.
ZONES: tuple[tuple[str, float], ...] = (
    ("America/New_York", 0.58),
    ("America/Los_Angeles", 0.23),
    ("America/Chicago", 0.11),
    ("America/Phoenix", 0.03),
    ("America/Denver", 0.012),
    ("America/Detroit", 0.005),
    ("America/Indiana/Indianapolis", 0.002),
    ("America/Boise", 0.001),
    ("Pacific/Honolulu", 0.001),
    ("Europe/London", 0.002),
    ("Europe/Berlin", 0.002),
    ("Asia/Kolkata", 0.001),
    ("Asia/Tokyo", 0.001),
)


def crossed_transitions(zone: str, start_us: int, end_us: int) -> list[datetime]:
    """UTC hours (to the hour) at which ``zone``'s UTC offset changes within [start, end):
    how ``--dst`` checks its range, and where special hours put the DST date."""
    tz = ZoneInfo(zone)
    found = []
    t = datetime.fromtimestamp(start_us / US_PER_SECOND, UTC)
    end = datetime.fromtimestamp(end_us / US_PER_SECOND, UTC)
    prev = t.astimezone(tz).utcoffset()
    while t < end:
        t += timedelta(hours=1)
        off = t.astimezone(tz).utcoffset()
        if off != prev:
            found.append(t)
            prev = off
    return found
