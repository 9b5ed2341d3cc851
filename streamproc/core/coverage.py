"""Whether the workers' answers to one snapshot cover every partition exactly once.

A report is assembled from each worker's rows for the partitions it holds. During a
rebalance two workers may both still claim a partition, or none yet: a report built then
would count stores twice or miss them. The snapshot asks this before it trusts the answers
(and retries when it gets a reason).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence


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
