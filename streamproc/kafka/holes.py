"""Records a consumer must not step over: the next offset each partition must hand on.

The polls and the public events are written by plain (non-transactional) producers to topics
that are never compacted, so their offsets have no gaps: a record handed on at offset ``n``
must be followed by ``n + 1``. A record further on means the ones between were fetched and
lost on the way (a seek, a pause, a rebalance racing the fetch loop), and Faust would count
them as processed: its fetch loop records the offsets it did not see as a "gap" and commits
past it, and its commit accepts one missing record at exactly the committed offset. The
chaos soak found such a poll lost for good about once in ten runs.

:class:`Expected` is the rule alone; the consumer (``faust_compat/consumer.py``) asks it about
each record and seeks back when told to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Verdict(Enum):
    HAND_ON = "hand on"  # the expected record, or one before it (read again after a seek)
    READ_AGAIN = "read again"  # records were skipped: seek back to the first of them
    GONE = "gone"  # skipped again after reading again: not on the broker (retention)


@dataclass
class Expected:
    """Per partition, within one consumer generation, the offset of the next record."""

    next: dict[Any, tuple[int, int]] = field(default_factory=dict)  # tp -> (generation, offset)
    read_again: dict[Any, int] = field(default_factory=dict)  # tp -> offset sought back to

    def moved(self, tp: Any, generation: int, offset: int) -> None:
        """A seek: the next record of ``tp`` is ``offset``."""
        self.next[tp] = (generation, offset)

    def forget(self, tp: Any) -> None:
        """A seek to an unknown place (the log's beginning): expect nothing."""
        self.next.pop(tp, None)
        self.read_again.pop(tp, None)

    def check(self, tp: Any, generation: int, offset: int) -> tuple[Verdict, int]:
        """What to do with the record at ``offset``; with READ_AGAIN and GONE, the first
        offset skipped."""
        expected = self.next.get(tp)
        if expected is None or expected[0] != generation or offset <= expected[1]:
            return self._hand_on(tp, generation, offset), offset
        return self._skipped(tp, generation, expected[1], offset), expected[1]

    def behind(self, tp: Any, generation: int, position: int) -> tuple[Verdict, int]:
        """Whether the consumer's fetch position passed records never handed on (the last
        ones of a batch, lost with no later record to show it): READ_AGAIN from the first of
        them, GONE when that was done already (the position stays past them)."""
        expected = self.next.get(tp)
        if expected is None or expected[0] != generation or position <= expected[1]:
            return Verdict.HAND_ON, position
        return self._skipped(tp, generation, expected[1], position - 1), expected[1]

    def _skipped(self, tp: Any, generation: int, first: int, seen: int) -> Verdict:
        """Records ``first`` .. ``seen - 1`` were not handed on, ``seen`` was reached."""
        if self.read_again.get(tp) == first:
            self._hand_on(tp, generation, seen)
            return Verdict.GONE
        self.read_again[tp] = first
        return Verdict.READ_AGAIN

    def _hand_on(self, tp: Any, generation: int, offset: int) -> Verdict:
        self.next[tp] = (generation, offset + 1)
        if self.read_again.get(tp, offset + 1) <= offset:
            del self.read_again[tp]
        return Verdict.HAND_ON


def commit_would_skip(committed: int | None, acked: list[int]) -> bool:
    """Whether committing ``acked`` would step over the record at the committed offset
    (``committed`` is the next offset to read, Kafka's meaning): Faust commits when the
    lowest acknowledged offset is ``committed + 1``, one past a record never acknowledged."""
    return committed is not None and bool(acked) and min(acked) > committed
