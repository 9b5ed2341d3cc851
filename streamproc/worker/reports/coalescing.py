"""Identical report triggers answered with one report.

Triggers from the same caller, for the same scope, ``as_of``, watermark and columns, while
the first is still Running, get its id instead of a new report: a client retrying, or many
clients asking at once, cost one generation.
"""

from __future__ import annotations

from collections.abc import Callable

REMEMBERED = 1000  # recent triggers remembered


class Coalescer:
    """Recent trigger keys and the report each started (bounded, oldest forgotten first)."""

    def __init__(self, remembered: int = REMEMBERED) -> None:
        self.remembered = remembered
        self._ids: dict[str, str] = {}  # key -> report id

    def running(self, key: str, is_running: Callable[[str], bool]) -> str | None:
        """The report started for ``key`` if it is still running."""
        report_id = self._ids.get(key)
        return report_id if report_id is not None and is_running(report_id) else None

    def remember(self, key: str, report_id: str) -> None:
        self._ids[key] = report_id
        while len(self._ids) > self.remembered:  # the oldest first: O(1) a call
            del self._ids[next(iter(self._ids))]
