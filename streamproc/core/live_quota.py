"""Who may open one more ``/live`` stream, as a pure function.

Each stream holds a socket and a queue on the worker, and the worker's file descriptors are
shared with RocksDB and Kafka, so the total is capped (``STREAMPROC_LIVE_MAX_CLIENTS``). A
total alone lets one owner hold every stream and shut the others out, so each owner (each
principal but the operator, who answers for the service) also has a cap of their own
(``STREAMPROC_LIVE_MAX_PER_PRINCIPAL``)."""

from __future__ import annotations

from dataclasses import dataclass

CALLER, WORKER = "caller", "worker"  # whose cap refused: 429 (theirs) or 503 (everyone's)


@dataclass(frozen=True)
class Refusal:
    """Why one more stream is refused, and whose cap it met."""

    cap: str
    reason: str


def refusal(held_by_caller: int, held_total: int, per_caller_max: int, total_max: int,
            capped_caller: bool) -> Refusal | None:
    """None when the caller may open one more stream. ``capped_caller``: the caller's own
    cap applies (an owner; not the operator)."""
    if capped_caller and held_by_caller >= per_caller_max:
        return Refusal(CALLER, f"you already follow /live {held_by_caller} times here "
                               f"(at most {per_caller_max}); close one")
    if held_total >= total_max:
        return Refusal(WORKER, f"{held_total} clients already follow /live here")
    return None
