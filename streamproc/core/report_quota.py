"""How many reports each caller may keep and have running, as pure functions.

One caller's reports must never push out another's: an owner triggering with a new ``as_of``
every minute would otherwise expire every other owner's and the operator's reports once the
global count was reached. So each principal has a count of its own (the operator
``STREAMPROC_REPORTS_MAX``, each owner ``STREAMPROC_REPORTS_MAX_PER_OWNER``) and eviction
happens within the principal; the total stays bounded by the owners file's size. Likewise
an owner may have only ``STREAMPROC_REPORT_MAX_RUNNING_PER_OWNER`` generations running, so
the worker's few generation slots are never all one owner's."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

OPERATOR_KEY = "operator"  # access.Principal.key of the operator
RUNNING = "Running"  # report_lifecycle.RUNNING (kept here: core modules stay independent)


class TooManyRunning(Exception):
    """The caller's reports being generated are at its cap (the API answers 429)."""


@dataclass(frozen=True)
class Quota:
    """Reports kept per principal, and running generations per owner."""

    operator_keep: int
    owner_keep: int
    owner_running: int

    def keep_for(self, principal_key: str) -> int:
        """Finished reports (and as many Expired records) ``principal_key`` keeps."""
        return self.operator_keep if principal_key == OPERATOR_KEY else self.owner_keep


def owner_of(record: dict[str, Any]) -> str:
    """Whose report a record is (records from before owners were kept: the operator's)."""
    return str(record.get("owner") or OPERATOR_KEY)


def beyond_keep(newest_first: Iterable[tuple[str, str]],
                keep_for: Callable[[str], int]) -> set[str]:
    """Ids of (id, principal key) pairs, newest first, beyond their principal's count."""
    seen: dict[str, int] = {}
    due = set()
    for report_id, principal_key in newest_first:
        seen[principal_key] = seen.get(principal_key, 0) + 1
        if seen[principal_key] > keep_for(principal_key):
            due.add(report_id)
    return due


def running_refusal(principal_key: str, records: Iterable[dict[str, Any]],
                    quota: Quota) -> str | None:
    """Why ``principal_key`` may not start one more generation now, or None. The operator
    answers for the service and waits for a slot instead."""
    if principal_key == OPERATOR_KEY:
        return None
    running = sum(1 for r in records
                  if r.get("status") == RUNNING and owner_of(r) == principal_key)
    if running >= quota.owner_running:
        return (f"{running} of your reports are still being generated (at most "
                f"{quota.owner_running} at once); retry when one has finished")
    return None
