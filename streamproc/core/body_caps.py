"""How much one ``POST /events`` body may cost, as pure functions.

The byte limit alone (``STREAMPROC_EVENTS_MAX_BYTES``) lets 4 MiB of one-byte lines through:
millions of lines to decode, and as many rejections, each a dead-letter message. A body is
therefore capped in lines (:data:`MAX_LINES`, far above a real poller's batch) and refused
whole when more than :data:`MAX_REJECTIONS` of its lines are bad (a producer that broken is
better told at once than half-published); and only the first :data:`DEAD_LETTER_EACH` bad
lines of a body are dead-lettered one by one, the rest as one summary.
"""

from __future__ import annotations

from streamproc.core.records import Rejection

MAX_LINES = 100_000  # newline-separated lines in one body (blank ones included)
MAX_REJECTIONS = 1_000  # bad lines in one body beyond which nothing of it is published
DEAD_LETTER_EACH = 5  # bad lines of one body dead-lettered one by one
OFF_LOOP_BYTES = 256 * 1024  # bodies at least this large are decoded in a thread


def line_count(body: bytes) -> int:
    """Lines of a body as the decoders split it (cheap: one pass in C)."""
    return body.count(b"\n") + (1 if body and not body.endswith(b"\n") else 0)


def too_many_lines(body: bytes) -> str | None:
    """Why a body has too many lines to be decoded, or None."""
    n = line_count(body)
    if n <= MAX_LINES:
        return None
    return f"request body has {n} lines, more than {MAX_LINES}: send it in several requests"


def too_many_rejections(rejections: list[Rejection]) -> str | None:
    """Why a body is refused whole for its bad lines, or None."""
    if len(rejections) <= MAX_REJECTIONS:
        return None
    first = rejections[0]
    return (f"{len(rejections)} bad lines, more than {MAX_REJECTIONS}: nothing of this body "
            f"was published (line {first.line}: {first.reason[:200]})")


def dead_letters(rejections: list[Rejection]) -> list[Rejection]:
    """What a body's rejections send to the dead-letter topic: the first few as they are,
    then one summary standing for the others (their count, lines and first reason)."""
    if len(rejections) <= DEAD_LETTER_EACH + 1:
        return list(rejections)
    head, rest = rejections[:DEAD_LETTER_EACH], rejections[DEAD_LETTER_EACH:]
    summary = Rejection(rest[0].source, rest[0].line, rest[0].raw,
                        f"and {len(rest)} more bad lines of this body (lines {rest[0].line}-"
                        f"{rest[-1].line}; the first: {rest[0].reason[:200]})")
    return [*head, summary]
