"""Live StoreState objects in memory, in front of the Faust table that makes them durable.

The table (RocksDB via rocksdict, changelogged) holds each store's state; this cache keeps
the deserialised objects so that a batch of polls patches aggregates in place instead of
rebuilding them. After a restart or rebalance the cache is refilled lazily.

In the worker, writes that know their partition go through a :class:`PartitionWriter`
(``faust_compat.BatchedChangelog``): the store's partition is explicit, so no Faust "current
event" is needed, and the changelog is sent once per batch (:class:`WriteBehind` holds it).
Through a writer a store is a few rows (issue 24, ``core/state_rows.py``: profile, day rows,
tail; ``core/row_saves.py`` decides what a save writes), so that a save costs what the batch
brought, not the store's history; a store still in today's one-blob key is read and rewritten
as rows on its first save. Without a writer (a plain mapping: the in-process tests and the
core bench) a store is one blob, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from typing import Any, Protocol

from streamproc.core import row_saves
from streamproc.core.state import StoreState
from streamproc.core.state_rows import Poll, split_key, state_from_rows, store_prefix


class PartitionWriter(Protocol):
    """Reads and writes of one partition's rows, without Faust's "current event"."""

    def get(self, partition: int, key: bytes) -> bytes | None: ...

    def put(self, partition: int, key: bytes, value: bytes) -> None: ...

    def delete(self, partition: int, key: bytes) -> None: ...

    def scan(self, partition: int | None, prefix: bytes) -> list[tuple[bytes, bytes]]:
        """The rows whose key starts with ``prefix``, in key order; with ``partition``
        ``None``, those of the first partition this worker holds that has any."""
        ...


class StateCache:
    """``get`` returns the live object; ``save`` writes it through to the durable table."""

    def __init__(self, table: MutableMapping[str, bytes],
                 writer: PartitionWriter | None = None) -> None:
        self.table = table
        self.writer = writer  # used when the caller knows the partition (the agents)
        self._live: dict[str, StoreState] = {}
        self._unsaved: set[str] = set()  # created here, not yet in the table
        self._saved: set[str] = set()  # written by this cache since it was last cleared
        self._written: set[str] = set()  # live objects a writer loaded (see :meth:`get`)
        self._complete = False  # every store of the table is live (so no RocksDB scan needed)
        self._rows: dict[str, row_saves.Written] = {}  # what a writer's rows hold, per store
        self._pending: dict[str, list[Poll]] = {}  # polls added since the store's last save

    def __len__(self) -> int:
        return len(self._live)

    def get(self, store_id: str, partition: int | None = None) -> StoreState:
        """The store's live state.

        With ``partition`` (a writer: the agents) the state comes from that partition's
        RocksDB the first time the writer asks after a (re)start or rebalance, and an
        unknown store is created and kept until saved. Without it (a lookup: reports, web
        views) whatever is live is returned, or what the table holds; an unknown store is an
        empty state that is *not* kept. A lookup may run while the store's partition is being
        restored (a report evaluated across a rebalance) and find nothing, or an older copy
        (a standby's): kept and handed to the writer, that state would be saved without the
        store's past, or never saved at all: a store with hours and no polls vanished from
        every report that way after a takeover (found by ``streamproc soak``)."""
        if partition is None:
            found = self.find(store_id)
            return found if found is not None else StoreState(store_id)
        state = self._live.get(store_id)
        if state is not None and store_id in self._written:
            return state
        self._written.add(store_id)
        state = self._read(store_id, partition)
        if state is None:
            state = StoreState(store_id)
            self._unsaved.add(store_id)
        self._live[store_id] = state
        return state

    def _read(self, store_id: str, partition: int | None) -> StoreState | None:
        """The stored state: the store's rows, else its one-blob key (today's format)."""
        self._pending.pop(store_id, None)
        self._rows.pop(store_id, None)
        if self.writer is not None:
            found = self.writer.scan(partition, store_prefix(store_id))
            if found:
                rows = {split_key(key)[1]: value for key, value in found}
                state = state_from_rows(store_id, rows)
                self._rows[store_id] = row_saves.written_from_rows(state, rows)
                return state
        if partition is not None and self.writer is not None:
            raw = self.writer.get(partition, store_id.encode())
        else:
            raw = self.table.get(store_id)
        return StoreState.from_bytes(store_id, raw) if raw else None

    def add_polls(self, state: StoreState, polls: list[Poll]) -> bool:
        """``state.add_polls(polls)``, remembering the polls for the store's next save (its
        tail row): every poll of a writer's store must arrive through here."""
        changed = state.add_polls(polls)
        if changed and self.writer is not None:
            self._pending.setdefault(state.store_id, []).extend(polls)
        return changed

    def save(self, state: StoreState, partition: int | None = None) -> None:
        """Persist ``state``; through the writer when the partition is known (the agents)."""
        sid = state.store_id
        if partition is not None and self.writer is not None:
            self._save_rows(state, partition)
        else:
            self.table[sid] = state.to_bytes()
        self._unsaved.discard(sid)
        self._saved.add(sid)

    def _save_rows(self, state: StoreState, partition: int) -> None:
        """The first save since a (re)start or rebalance of a store RocksDB had writes every
        row (see :meth:`must_save` and ``row_saves.full_writes``), later ones what changed."""
        sid = state.store_id
        pending = self._pending.pop(sid, [])
        known = self._rows.get(sid)
        if known is None and sid in self._unsaved:
            # new to this partition's RocksDB, so nothing there the changelog could lack: its
            # profile (so that the store exists, even without polls) and what a save writes
            # (a new store of the hours file: 1 row, not 3)
            self._rows[sid], writes = row_saves.save_writes(state, row_saves.NEW_STORE, pending)
        elif known is None or sid not in self._saved:
            self._rows[sid], writes = row_saves.full_writes(state, known)
        else:
            self._rows[sid], writes = row_saves.save_writes(state, known, pending)
        writer = self.writer
        assert writer is not None
        for key, value in writes:
            if value is None:
                writer.delete(partition, key)
            else:
                writer.put(partition, key, value)

    def find(self, store_id: str) -> StoreState | None:
        """The store's state if this worker holds it (live, or stored as rows or as the
        one-blob key); None for a store it does not know (nothing is kept then)."""
        state = self._live.get(store_id)
        if state is not None:
            return state
        state = self._read(store_id, None)
        if state is not None:
            self._live[store_id] = state
        return state

    def is_unsaved(self, store_id: str) -> bool:
        return store_id in self._unsaved

    def must_save(self, store_id: str) -> bool:
        """Whether the store's row is written even when a message changes nothing: the
        first time since a (re)start or rebalance. The message may be one read again
        because the row it made never reached the changelog (a worker killed or stopped
        between its RocksDB write and its changelog send); RocksDB here has the row, so
        nothing would change, and without this write the changelog would never have it:
        the next worker to take the partition over would restore the store without it."""
        return store_id not in self._saved

    def store_ids(self) -> list[str]:
        """Every store this worker holds; scans the durable table once after (re)start (a
        store's rows share the prefix ``<id>/``, an old blob's key is the id)."""
        if not self._complete:
            seen: set[str] = set()
            listed = getattr(self.writer, "store_ids", None)  # a seek per store, not per row
            for key in listed() if listed is not None else self.table:
                text = key.decode(errors="surrogateescape") if isinstance(key, bytes) else key
                store_id = text.partition("/")[0]
                if store_id not in seen:
                    seen.add(store_id)
                    self.get(store_id)
            self._complete = True
        return [k for k in self._live if k not in self._unsaved]  # not phantoms of lookups

    def clear(self) -> None:
        """Forget live objects (after a rebalance: partitions may have moved)."""
        self._live.clear()
        self._unsaved.clear()
        self._saved.clear()
        self._written.clear()
        self._rows.clear()
        self._pending.clear()
        self._complete = False

    def live_states(self) -> Iterator[StoreState]:
        return iter(self._live.values())


class WriteBehind:
    """Rows written since the last :meth:`take`, per partition, the last value of a key only.

    A store saved several times in one batch is sent to the changelog once. The caller
    must hold the acknowledgement of the input behind these rows until they are sent.
    """

    def __init__(self) -> None:
        self._rows: dict[int, dict[bytes, bytes | None]] = {}

    def __len__(self) -> int:
        return sum(len(rows) for rows in self._rows.values())

    def add(self, partition: int, key: bytes, value: bytes | None) -> None:
        """Hold a row; ``None`` is a delete (a tombstone in the changelog)."""
        rows = self._rows.get(partition)
        if rows is None:
            rows = self._rows[partition] = {}
        rows.pop(key, None)  # keep the order of the last writes
        rows[key] = value

    def holds(self, partition: int, key: bytes) -> bool:
        return key in self._rows.get(partition, ())

    def drop(self, partition_gone: Callable[[int], bool]) -> int:
        """Forget the rows of every partition ``partition_gone`` names; returns how many."""
        gone = [p for p in self._rows if partition_gone(p)]
        return sum(len(self._rows.pop(p)) for p in gone)

    def take(self) -> dict[int, dict[bytes, bytes | None]]:
        """Every held row, per partition; the holder is empty afterwards."""
        rows, self._rows = self._rows, {}
        return rows


class KeyedTable:
    """A Faust table with raw ``bytes`` keys seen through ``str`` keys (store ids)."""

    def __init__(self, table: MutableMapping[bytes, Any]) -> None:
        self._table = table

    def get(self, key: str, default=None):
        value = self._table.get(key.encode())
        return default if value is None else value

    def __getitem__(self, key: str):
        return self._table[key.encode()]

    def __setitem__(self, key: str, value) -> None:
        self._table[key.encode()] = value

    def __iter__(self):
        for key in self._table.keys():  # noqa: SIM118 - a faust Table has no __iter__ of keys
            # a day row's key ends in a binary day number: kept, undecodable bytes escaped
            yield key.decode(errors="surrogateescape") if isinstance(key, bytes) else key

    def keys(self):
        return iter(self)

    def values(self):
        return self._table.values()

    def __len__(self) -> int:
        return len(self._table)
