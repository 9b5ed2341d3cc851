"""Row writes (``core/row_saves``) applied to an empty table, as a changelog keeps them."""

from __future__ import annotations


def applied(writes: list[tuple[bytes, bytes | None]]) -> dict[bytes, bytes]:
    """Each key's last value; a ``None`` value (a tombstone) deletes the key."""
    table: dict[bytes, bytes] = {}
    for key, value in writes:
        if value is None:
            table.pop(key, None)
        else:
            table[key] = value
    return table
