"""Whether the workers' answers to one snapshot cover every partition exactly once.

A report is assembled from each worker's rows for the partitions it holds. During a
rebalance two workers may both still claim a partition, or none yet: a report built then
would count stores twice or miss them. The snapshot asks this before it trusts the answers
(and retries when it gets a reason).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


def coverage_problem(parts: Mapping[str, Sequence[int]], partitions: int) -> str | None:
    """None when the workers' partitions are exactly ``0..partitions-1``, each once; else why
    not, naming the partitions (``parts``: worker -> the partitions it answered for)."""
    counts = Counter(p for held in parts.values() for p in held)
    missing = sorted(set(range(partitions)) - set(counts))
    twice = sorted(p for p, n in counts.items() if n > 1)
    stray = sorted(p for p in counts if not 0 <= p < partitions)
    if missing:
        return f"partitions {missing} have no worker right now (a rebalance is in progress)"
    if twice:
        owners = {p: sorted(w for w, held in parts.items() if p in held) for p in twice}
        return f"partitions held by two workers at once (a rebalance is in progress): {owners}"
    if stray:
        return f"partitions {stray} do not exist (the topics have {partitions})"
    return None


def duplicate_ids(ids: Sequence[str]) -> list[str]:
    """Store ids that occur more than once (sorted)."""
    return sorted(k for k, n in Counter(ids).items() if n > 1)


@dataclass
class StabilityWait:
    """How long a snapshot has gone without a stable assignment of the partitions.

    A snapshot retried because the workers moved partitions is making progress as long as
    the assignment keeps changing (a worker joined, left, was taken over): each change
    restarts the clock. It gives up only after ``bound_s`` seconds in which the assignment
    stayed the same and still no attempt succeeded (a peer that never answers, a partition
    that nobody holds): then the report fails, naming the bound, instead of staying Running
    without progress.
    """

    bound_s: float
    epoch: int
    since: float  # when the assignment last changed (or the wait began)

    def note(self, epoch: int, now: float) -> None:
        """The assignment's epoch now: a new one restarts the clock."""
        if epoch != self.epoch:
            self.epoch, self.since = epoch, now

    def exhausted(self, now: float) -> bool:
        return now - self.since > self.bound_s
