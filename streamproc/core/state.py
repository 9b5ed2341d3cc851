"""Per-store state: kept polls, their observations and per-hour aggregates, updated in place.

The report for a window is "business time, status of the nearest observation". Between two
consecutive observations the time splits at their midpoint, so the whole past can be cut into
gaps ``[o_k, o_k+1)`` whose up/down business time never changes unless a neighbour arrives.
We keep the up contributions summed per UTC hour (``_up`` buckets; an hour's down time between
two observations is its business time less its up time): an arriving poll
touches only the two gaps around it, and a query sums whole hours and integrates only the
partial hours at the window edges, plus the head and tail that extend the first and last
observation to the window edges. Hours, special hours or time zone changes rebuild
everything from the kept polls, which is why polls outside business hours are kept too.

Only the polls, the hours, the special hours and the zone are serialised; the rest is derived.
"""

from __future__ import annotations

import struct
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from itertools import compress
from operator import not_

from streamproc.core.hours import (
    ALWAYS_OPEN,
    HoursSpec,
    SpecialSpec,
    normalize_hours,
    normalize_special,
    shared_bounds,
    shared_spec,
)
from streamproc.core.records import US_PER_DAY, US_PER_HOUR

HORIZON_US = 8 * US_PER_DAY  # observations older than now - 8 days are ignored (the contract)
WINDOWS_US = (US_PER_HOUR, US_PER_DAY, 7 * US_PER_DAY)
_B_MARGIN_US = 2 * US_PER_DAY  # how far business intervals are computed beyond what is needed
_FORMAT_VERSION = 2  # 2 appends the special hours; version 1 (without them) is still read
# A late batch that changes more than 1/32 of the kept polls rebuilds what follows its earliest
# poll (_rebuild_after) instead of observing each poll in place (_observe): in place, a poll
# costs about as much as rebuilding ~60 kept polls (the real week in 10 batches per store, as
# a 10x fleet's replay sends it: all in place 13.2 s, with this rule 6.1 s; in-process).
_REBUILD_FRACTION = 32
# A batch of less than half the kept polls is inserted poll by poll (a bisect and a memmove
# each) rather than merged through a dict of every kept poll: 7.6 -> 5.8 s on the same run.
_MERGE_FRACTION = 2

Values = tuple[int, int, int, int, int, int]
# Per-hour buckets hold business µs of one hour: at most 3.6e9 < 2**32, so 4 bytes each (half
# of a store's memory was its 8-byte buckets); a negative value would raise, never wrap.
_BUCKET = "I"
_BUCKET_BYTES = array(_BUCKET).itemsize
_FULL_HOUR = array(_BUCKET, [US_PER_HOUR])
ZERO: Values = (0, 0, 0, 0, 0, 0)
_ALWAYS_OPEN_BOUNDS = ((ALWAYS_OPEN[0][0],), (ALWAYS_OPEN[0][1],), (0,))


def _buckets(n: int) -> array:
    """``n`` zeroed hour buckets."""
    return array(_BUCKET, bytes(n * _BUCKET_BYTES))


class StoreState:
    """Everything the report needs about one store; see the module docstring."""

    __slots__ = (
        "store_id", "tz", "hours", "special", "_poll_ts", "_poll_up",
        "_obs_ts", "_obs_up", "_base", "_up", "_b_lo", "_b_hi", "_b_start", "_b_end", "_b_before",
        "_memo",
    )

    def __init__(self, store_id: str) -> None:
        self.store_id = store_id
        self.tz: str | None = None
        self.hours: HoursSpec | None = None
        self.special: SpecialSpec | None = None
        self._poll_ts = array("q")  # sorted, unique
        self._poll_up = bytearray()  # 1 active, 0 inactive (inactive wins on duplicates)
        self._reset_derived()

    # ----------------------------------------------------------------------------- updates

    def add_polls(self, polls: Iterable[tuple[int, bool]]) -> bool:
        """Merge polls (ts_us, active); return whether anything changed (idempotent)."""
        polls = polls if isinstance(polls, list) else list(polls)
        if not polls:
            return False
        if not self._poll_ts or min(polls)[0] > self._poll_ts[-1]:
            return self._append(polls)
        if len(polls) * _MERGE_FRACTION > len(self._poll_ts):
            if not self._merge_bulk(polls):
                return False
            self._memo = None
            self._rebuild_after(min(polls)[0])
            return True
        changes = self._merge_polls(polls)
        if not changes:
            return False
        self._memo = None
        if len(changes) * _REBUILD_FRACTION > len(self._poll_ts):
            self._rebuild_after(min(changes)[0])
        else:
            self._observe(changes)
        return True

    def replace_polls(self, ts: Sequence[int], up: Sequence[int], since_us: int | None = None
                      ) -> None:
        """Keep exactly these polls (``ts[i]`` with status ``up[i]``, 1 active, 0 inactive; any
        order; inactive wins on duplicates), those older than ``since_us`` left out, and derive
        the rest in one sweep (:meth:`_fill_buckets`).

        The batch report's way to build a store from a whole file: the same state as
        :meth:`add_polls` on a fresh store, which observes poll by poll and costs about ten
        times as much; and it takes the columns as they are, without a tuple per poll."""
        merged = dict(zip(ts, up, strict=True))
        if len(merged) != len(ts):  # duplicates: inactive wins
            merged.update(dict.fromkeys(compress(ts, map(not_, up)), 0))
        ordered = sorted(merged)
        if since_us is not None:
            del ordered[: bisect_left(ordered, since_us)]
        self._poll_ts = array("q", ordered)
        self._poll_up = bytearray(map(merged.__getitem__, ordered))
        self._memo = None
        self._rebuild_observations()

    def set_hours(self, rows: Iterable[Sequence[int]] | None) -> bool:
        spec = normalize_hours(rows)
        if spec == self.hours:
            return False
        self.hours = spec
        self._rebuild()
        return True

    def set_special(self, rows: Iterable[Sequence[int]] | None) -> bool:
        """Replace all special dates at once (the compacted topic carries a store's full set)."""
        spec = normalize_special(rows)
        if spec == self.special:
            return False
        self.special = spec
        self._rebuild()
        return True

    def set_timezone(self, tz: str | None) -> bool:
        if tz == self.tz:
            return False
        self.tz = tz
        self._rebuild()
        return True

    def evict_before(self, cutoff_us: int) -> bool:
        """Forget polls strictly older than ``cutoff_us``; keeps the aggregates exact."""
        n = bisect_left(self._poll_ts, cutoff_us)
        if n == 0:
            return False
        self._memo = None
        del self._poll_ts[:n]
        del self._poll_up[:n]
        k = bisect_left(self._obs_ts, cutoff_us)
        if min(k, len(self._obs_ts) - 1) > 0:
            self._sweep(0, min(k, len(self._obs_ts) - 1), -1)
        del self._obs_ts[:k]
        del self._obs_up[:k]
        self._trim_buckets()
        if self._b_lo < cutoff_us - 2 * _B_MARGIN_US:  # let the interval cache shrink too
            self._b_lo = self._b_hi = 0
        return True

    # ----------------------------------------------------------------------------- queries

    @property
    def poll_count(self) -> int:
        return len(self._poll_ts)

    @property
    def first_poll_us(self) -> int | None:
        return self._poll_ts[0] if self._poll_ts else None

    @property
    def last_poll_us(self) -> int | None:
        return self._poll_ts[-1] if self._poll_ts else None

    def polls(self) -> list[tuple[int, bool]]:
        return [(ts, bool(up)) for ts, up in zip(self._poll_ts, self._poll_up, strict=True)]

    def poll_columns(self, since_us: int, until_us: int) -> tuple[array, bytearray]:
        """(timestamps, statuses 1/0) of the kept polls with ``since_us <= ts < until_us``
        (one UTC day's row of the layout), as copies of the columns: no tuple per poll."""
        i = bisect_left(self._poll_ts, since_us)
        j = bisect_left(self._poll_ts, until_us, i)
        return self._poll_ts[i:j], self._poll_up[i:j]

    def observations(self, since_us: int, until_us: int) -> list[tuple[int, bool]]:
        """Observations (polls inside business hours) with ``since_us <= ts <= until_us``."""
        lo = bisect_left(self._obs_ts, since_us)
        hi = bisect_right(self._obs_ts, until_us)
        return [(self._obs_ts[i], bool(self._obs_up[i])) for i in range(lo, hi)]

    def business_pieces(self, x_us: int, y_us: int) -> list[tuple[int, int]]:
        """The business intervals inside [x_us, y_us), clipped to it."""
        if y_us <= x_us:
            return []
        self._cover(x_us, y_us)
        return self._business(x_us, y_us)

    def latest_observation(self, now_us: int) -> tuple[int, bool] | None:
        """The newest observation at or before ``now_us`` within the horizon."""
        i = bisect_right(self._obs_ts, now_us) - 1
        if i < 0 or self._obs_ts[i] < now_us - HORIZON_US:
            return None
        return self._obs_ts[i], bool(self._obs_up[i])

    def status_since(self, now_us: int) -> tuple[int, bool] | None:
        """(first observation of the current run of equal statuses, status) at ``now_us``."""
        obs, ups = self._obs_ts, self._obs_up
        i = bisect_right(obs, now_us) - 1
        horizon = now_us - HORIZON_US
        if i < 0 or obs[i] < horizon:
            return None
        status = ups[i]
        while i > 0 and ups[i - 1] == status and obs[i - 1] >= horizon:
            i -= 1
        return obs[i], bool(status)

    def business_time(self, x_us: int, y_us: int) -> int:
        """Business µs inside [x_us, y_us)."""
        if y_us <= x_us:
            return 0
        self._cover(x_us, y_us)
        return self._business_time(x_us, y_us)

    def hourly(self, start_hour: int, end_hour: int, now_us: int) -> tuple[list[int], list[int]]:
        """Up and down business µs per UTC hour ``h`` in [start_hour, end_hour), at ``now_us``.

        Hour ``h`` is [h*1h, (h+1)*1h) clipped to ``now_us``; the same rules as :meth:`values`
        (nearest observation, horizon), so a window's value is the sum of its whole hours.
        """
        n = max(end_hour - start_hour, 0)
        ups, downs = [0] * n, [0] * n
        obs = self._obs_ts
        lo = bisect_left(obs, now_us - HORIZON_US)
        hi = bisect_right(obs, now_us)
        end_hour = min(end_hour, -(-now_us // US_PER_HOUR))
        if lo >= hi or end_hour <= start_hour:
            return ups, downs
        first, last = obs[lo], obs[hi - 1]
        self._cover(start_hour * US_PER_HOUR, min(end_hour * US_PER_HOUR, now_us))
        # whole hours between the first and the last observation come straight from buckets
        h1 = max(start_hour, -(-first // US_PER_HOUR))
        h2 = min(end_hour, min(last, now_us) // US_PER_HOUR)
        for h in range(h1, h2):
            i = h - self._base
            if 0 <= i < len(self._up):
                up = self._up[i]
                ups[h - start_hour] = up
                downs[h - start_hour] = self._business_time(h * US_PER_HOUR,
                                                            (h + 1) * US_PER_HOUR) - up
        for h in range(start_hour, end_hour):
            if h1 <= h < max(h1, h2):
                continue
            a, b = h * US_PER_HOUR, min((h + 1) * US_PER_HOUR, now_us)
            if a < b:
                ups[h - start_hour], downs[h - start_hour] = self._window(a, b, lo, hi)
        return ups, downs

    def is_open(self, ts_us: int) -> bool:
        self._cover(ts_us, ts_us + 1)
        i = bisect_right(self._b_start, ts_us) - 1
        return i >= 0 and ts_us < self._b_end[i]

    def values(self, now_us: int) -> Values:
        """(up_hour, up_day, up_week, down_hour, down_day, down_week) in µs at ``now_us``."""
        if self._memo is not None and self._memo[0] == now_us:
            return self._memo[1]
        lo = bisect_left(self._obs_ts, now_us - HORIZON_US)
        hi = bisect_right(self._obs_ts, now_us)
        if lo >= hi:
            return ZERO
        self._cover(now_us - WINDOWS_US[-1], now_us)
        ups, downs = [], []
        shared: dict = {}  # the three windows share their right edge: reuse its integrals
        for length in WINDOWS_US:
            up, down = self._window(now_us - length, now_us, lo, hi, shared)
            ups.append(up)
            downs.append(down)
        values = (ups[0], ups[1], ups[2], downs[0], downs[1], downs[2])
        self._memo = (now_us, values)
        return values

    # ----------------------------------------------------------------------------- serialisation

    def to_bytes(self) -> bytes:
        tz = (self.tz or "").encode()
        hours = self.hours
        head = struct.pack("<BH", _FORMAT_VERSION, len(tz)) + tz
        if hours is None:
            head += struct.pack("<i", -1)
        else:
            head += struct.pack("<i", len(hours))
            head += b"".join(struct.pack("<bqq", d, s, e) for d, s, e in hours)
        special = self.special or ()
        head += struct.pack("<i", len(special))
        head += b"".join(struct.pack("<iqq", d, s, e) for d, s, e in special)
        n = len(self._poll_ts)
        return head + struct.pack("<I", n) + self._poll_ts.tobytes() + bytes(self._poll_up)

    @classmethod
    def from_bytes(cls, store_id: str, data: bytes) -> StoreState:
        version, tz_len = struct.unpack_from("<BH", data, 0)
        if version not in (1, _FORMAT_VERSION):
            raise ValueError(f"unknown store state format {version}")
        pos = 3
        tz = data[pos : pos + tz_len].decode() or None
        pos += tz_len
        (n_hours,) = struct.unpack_from("<i", data, pos)
        pos += 4
        hours = None
        if n_hours >= 0:
            hours = shared_spec(tuple(struct.unpack_from("<bqq", data, pos + 17 * i)
                                      for i in range(n_hours)))
            pos += 17 * n_hours
        special = None
        if version >= 2:
            (n_special,) = struct.unpack_from("<i", data, pos)
            pos += 4
            rows = [struct.unpack_from("<iqq", data, pos + 20 * i) for i in range(n_special)]
            special = normalize_special(rows)
            pos += 20 * n_special
        (n,) = struct.unpack_from("<I", data, pos)
        pos += 4
        state = cls(store_id)
        state.tz, state.hours, state.special = tz, hours, special
        state._poll_ts.frombytes(data[pos : pos + 8 * n])
        state._poll_up[:] = data[pos + 8 * n : pos + 9 * n]
        state._rebuild()
        return state

    # ----------------------------------------------------------------------------- internals

    def _reset_derived(self) -> None:
        """Forget everything derived, business intervals included (hours or zone changed)."""
        self._forget_business()
        self._reset_observations()

    def _forget_business(self) -> None:
        self._b_lo = self._b_hi = 0  # business intervals are known for [_b_lo, _b_hi)
        self._b_start: Sequence[int] = ()  # shared between stores (hours.shared_bounds)
        self._b_end: Sequence[int] = ()
        self._b_before: Sequence[int] = ()  # business time of the intervals before each

    def _reset_observations(self) -> None:
        self._memo: tuple[int, Values] | None = None  # values() of the last query
        self._obs_ts = array("q")
        self._obs_up = bytearray()
        self._base = 0  # hour index of _up[0]
        self._up = _buckets(0)

    def _merge_bulk(self, polls: list[tuple[int, bool]]) -> bool:
        """Merge many polls at once (dict and sort); return whether anything changed."""
        merged = dict(zip(self._poll_ts, self._poll_up, strict=True))
        incoming = {ts: 1 if up else 0 for ts, up in polls}
        if len(incoming) != len(polls):  # duplicates inside the batch: inactive wins
            for ts, up in polls:
                if not up:
                    incoming[ts] = 0
        common = incoming.keys() & merged.keys()
        for ts in common:
            incoming[ts] &= merged[ts]
        if len(common) == len(incoming) and all(incoming[ts] == merged[ts] for ts in common):
            return False  # nothing new, no downgrade: an idempotent re-delivery
        merged.update(incoming)
        ordered = sorted(merged)
        self._poll_ts = array("q", ordered)
        self._poll_up = bytearray(map(merged.__getitem__, ordered))
        return True

    def _append(self, polls: list[tuple[int, bool]]) -> bool:
        """Polls all newer than every kept one (the live case): extend the arrays and
        observe from the previous last observation on, so a batch costs what it brings,
        not what is kept (the bulk path re-merged and re-observed the whole history)."""
        incoming: dict[int, int] = {}
        for ts, active in polls:  # duplicates inside the batch: inactive wins
            incoming[ts] = incoming.get(ts, 1) & (1 if active else 0)
        ordered = sorted(incoming)
        self._memo = None
        self._poll_ts.extend(ordered)
        self._poll_up.extend(map(incoming.__getitem__, ordered))
        self._cover(ordered[0], ordered[-1] + 1)
        starts, ends = self._b_start, self._b_end
        first_new = len(self._obs_ts)
        for ts in ordered:
            i = bisect_right(starts, ts) - 1
            if i >= 0 and ts < ends[i]:
                self._obs_ts.append(ts)
                self._obs_up.append(incoming[ts])
        if len(self._obs_ts) - first_new > 0 and len(self._obs_ts) > 1:
            self._fill_buckets(max(first_new - 1, 0))
        return True

    def _merge_polls(self, polls: Iterable[tuple[int, bool]]) -> list[tuple[int, int]]:
        """Insert or downgrade polls in place; return (ts, new status) of those changed."""
        changed: list[tuple[int, int]] = []
        ts_arr, up_arr = self._poll_ts, self._poll_up
        for ts, active in polls:
            up = 1 if active else 0
            i = bisect_left(ts_arr, ts)
            if i < len(ts_arr) and ts_arr[i] == ts:
                if up_arr[i] and not up:  # a duplicate saying inactive wins
                    up_arr[i] = 0
                    changed.append((ts, 0))
                continue
            ts_arr.insert(i, ts)
            up_arr.insert(i, up)
            changed.append((ts, up))
        return changed

    def _rebuild(self) -> None:
        """Hours or zone changed: forget the business intervals, recompute the rest."""
        self._forget_business()
        self._rebuild_observations()

    def _rebuild_observations(self) -> None:
        """Recompute observations and buckets from the polls, keeping business intervals."""
        self._reset_observations()
        if not self._poll_ts:
            return
        self._cover(self._poll_ts[0], self._poll_ts[-1] + 1)
        polls, ups = self._poll_ts, self._poll_up
        lo, hi = polls[0], polls[-1]
        for start, end in zip(self._b_start, self._b_end, strict=True):
            if end <= lo or start > hi:
                continue
            i, j = bisect_left(polls, start), bisect_left(polls, end)  # polls in [start, end)
            self._obs_ts.extend(polls[i:j])
            self._obs_up.extend(ups[i:j])
        if len(self._obs_ts) > 1:
            self._fill_buckets()

    def _rebuild_after(self, since: int) -> None:
        """Recompute observations and buckets from the first observation at or after
        ``since`` on (a late batch): what comes before it stands. The buckets lose what the
        gaps after the last standing observation put in (its own hour's part integrated
        from the old observations, the later hours dropped), then the sweep refills them."""
        obs, ups = self._obs_ts, self._obs_up
        keep = bisect_left(obs, since) - 1  # the last observation whose gap before stands
        if keep < 1:
            self._rebuild_observations()
            return
        x = obs[keep]
        self._cover(x, self._poll_ts[-1] + 1)
        hour = x // US_PER_HOUR
        i = hour - self._base
        if i < 0:
            del self._up[:]
        elif i < len(self._up):
            self._up[i] -= self._integrate(x, (hour + 1) * US_PER_HOUR)[0]
            del self._up[i + 1 :]
        del obs[keep + 1 :]
        del ups[keep + 1 :]
        polls, states = self._poll_ts, self._poll_up
        for start, end in zip(self._b_start, self._b_end, strict=True):
            if end <= x:
                continue
            i, j = bisect_right(polls, max(start - 1, x)), bisect_left(polls, end)
            obs.extend(polls[i:j])
            ups.extend(states[i:j])
        if len(obs) > keep + 1:
            self._fill_buckets(keep)

    def _runs(self, first: int = 0, last: int = -1) -> list[tuple[int, int, int]]:
        """Maximal [start, end, status) runs between observations ``first`` and ``last``."""
        obs, ups = self._obs_ts, self._obs_up
        last = last % len(obs)
        runs = []
        start, status = obs[first], ups[first]
        for k in range(first + 1, last + 1):
            if ups[k] != status:
                mid = (obs[k - 1] + obs[k]) // 2
                runs.append((start, mid, status))
                start, status = mid, ups[k]
        runs.append((start, obs[last], status))
        return runs

    def _fill_buckets(self, k: int = 0) -> None:
        """Bucket the gaps from observation ``k`` to the last in one sweep of status runs
        against business intervals. The gaps before ``k`` may be bucketed already (an
        append), but nothing after observation ``k`` is: the sweep's whole hours are set,
        not added."""
        first, last = self._obs_ts[k], self._obs_ts[-1]
        if not self._up:
            self._base = first // US_PER_HOUR
            size = (last - 1) // US_PER_HOUR - self._base + 1
            self._up = _buckets(size)
        else:  # keep the older gaps' buckets; grow to the last gap's hour
            self._bucket(first // US_PER_HOUR)
            self._bucket((last - 1) // US_PER_HOUR)
        base, buckets = self._base, self._up
        for s, e in self._up_pieces(k, len(self._obs_ts) - 1):
            h1, h2 = -(-s // US_PER_HOUR), e // US_PER_HOUR
            if h1 >= h2:  # within one hour, or across one hour boundary
                while s < e:
                    hour = s // US_PER_HOUR
                    cut = min(e, (hour + 1) * US_PER_HOUR)
                    buckets[hour - base] += cut - s
                    s = cut
            else:  # partial hour, whole hours (no other piece touches them), partial hour
                if s < h1 * US_PER_HOUR:
                    buckets[h1 - 1 - base] += h1 * US_PER_HOUR - s
                buckets[h1 - base : h2 - base] = _FULL_HOUR * (h2 - h1)
                if h2 * US_PER_HOUR < e:
                    buckets[h2 - base] += e - h2 * US_PER_HOUR

    def _up_pieces(self, k0: int, k1: int) -> Iterator[tuple[int, int]]:
        """The business pieces of the up runs between observations ``k0`` and ``k1``, in
        order (down time is what business time the up buckets leave: it is not bucketed)."""
        starts, ends = self._b_start, self._b_end
        j = max(bisect_right(starts, self._obs_ts[k0]) - 1, 0)
        for x, y, status in self._runs(k0, k1):
            if not status:
                continue
            while j < len(starts) and ends[j] <= x:
                j += 1
            i = j
            while i < len(starts) and starts[i] < y:
                s, e = max(starts[i], x), min(ends[i], y)
                if s < e:
                    yield s, e
                i += 1

    def _observe(self, changes: list[tuple[int, int]]) -> None:
        """Apply new or downgraded polls ``(ts, status)`` to the observations and buckets:
        the gaps they touch are taken out, the observations changed, the new gaps put in.
        A late batch costs what it brings (the gaps around each poll), not what is kept."""
        obs, ups = self._obs_ts, self._obs_up
        n = len(obs)
        final = dict(changes)  # a poll inserted, then downgraded in the same batch: inactive
        opened = [(ts, final[ts]) for ts in sorted(final) if self.is_open(ts)]
        if not opened:
            return
        if n < 2:  # no gap yet: nothing to take out
            self._rebuild_observations()
            return
        spans: list[list[int]] = []  # [lo, hi]: old observations whose gaps change
        downgrades: list[int] = []  # old observations that turn inactive
        inserts: list[tuple[int, int, int]] = []  # (old index it goes before, ts, status)
        for ts, up in opened:
            k = bisect_left(obs, ts)
            if k < n and obs[k] == ts:  # both gaps around it change
                downgrades.append(k)
                lo, hi = max(k - 1, 0), min(k + 1, n - 1)
            else:
                inserts.append((k, ts, up))
                lo, hi = max(k - 1, 0), min(k, n - 1)
            if spans and lo <= spans[-1][1]:  # touching spans are one: no gap counted twice
                spans[-1][1] = max(spans[-1][1], hi)
            else:
                spans.append([lo, hi])
        for lo, hi in spans:
            if lo < hi:
                self._sweep(lo, hi, -1)
        for k in downgrades:
            ups[k] = 0
        for shift, (k, ts, up) in enumerate(inserts):
            obs.insert(k + shift, ts)
            ups.insert(k + shift, up)
        before = [k for k, _, _ in inserts]
        for lo, hi in spans:  # the same spans in the new indexes, the inserted ones inside
            lo, hi = lo + bisect_left(before, lo), hi + bisect_right(before, hi + 1)
            if lo < hi:
                self._sweep(lo, hi, +1)

    def _sweep(self, k0: int, k1: int, sign: int) -> None:
        """Add (``sign`` +1) or take out (-1) the up time of the gaps between observations
        ``k0`` and ``k1``, hour by hour (a few gaps: the buckets they touch are not fresh)."""
        obs = self._obs_ts
        first, last = obs[k0], obs[k1]
        self._cover(first, last)
        self._bucket(first // US_PER_HOUR)
        self._bucket((last - 1) // US_PER_HOUR)
        buckets, base = self._up, self._base
        for s, e in self._up_pieces(k0, k1):
            while s < e:
                hour = s // US_PER_HOUR
                cut = min(e, (hour + 1) * US_PER_HOUR)
                buckets[hour - base] += sign * (cut - s)
                s = cut

    def _bucket(self, hour: int) -> int:
        """Index of ``hour`` in the bucket arrays, growing them as needed."""
        if not self._up:
            self._base = hour
        if hour < self._base:
            self._up[:0] = _buckets(self._base - hour)
            self._base = hour
        i = hour - self._base
        if i >= len(self._up):
            self._up.extend(_buckets(i + 1 - len(self._up)))
        return i

    def _trim_buckets(self) -> None:
        if not self._obs_ts:
            self._up, self._base = _buckets(0), 0
            return
        drop = self._obs_ts[0] // US_PER_HOUR - self._base
        if drop > 0:
            del self._up[:drop]
            self._base += drop

    def _cover(self, x: int, y: int) -> None:
        """Make sure business intervals are known on [x, y)."""
        if self._b_lo <= x and y <= self._b_hi and self._b_hi > self._b_lo:
            return
        if self.hours is None and self.special is None:
            self._b_lo, self._b_hi = ALWAYS_OPEN[0]
            self._b_start, self._b_end, self._b_before = _ALWAYS_OPEN_BOUNDS
            return
        lo = min(x, self._b_lo) if self._b_hi > self._b_lo else x
        hi = max(y, self._b_hi)
        first_day = (lo - _B_MARGIN_US) // US_PER_DAY  # whole days: shared between stores
        end_day = -(-(hi + _B_MARGIN_US) // US_PER_DAY)
        self._b_lo, self._b_hi = first_day * US_PER_DAY, end_day * US_PER_DAY
        self._b_start, self._b_end, self._b_before = shared_bounds(
            self.hours, self.tz, first_day, end_day, self.special)

    def _business(self, x: int, y: int) -> list[tuple[int, int]]:
        """Business pieces of [x, y); the range must be covered."""
        starts, ends = self._b_start, self._b_end
        i = max(bisect_right(starts, x) - 1, 0)
        pieces = []
        while i < len(starts) and starts[i] < y:
            s, e = max(starts[i], x), min(ends[i], y)
            if s < e:
                pieces.append((s, e))
            i += 1
        return pieces

    def _business_time(self, x: int, y: int) -> int:
        """Business µs of [x, y) (the range must be covered): the business time before y
        less that before x, two bisects (a report asks it for every window of every store)."""
        return self._business_before(y) - self._business_before(x) if x < y else 0

    def _business_before(self, t: int) -> int:
        """Business µs of the covered intervals before ``t``."""
        i = bisect_right(self._b_start, t) - 1
        if i < 0:
            return 0
        return self._b_before[i] + min(t, self._b_end[i]) - self._b_start[i]

    def _window(
        self, a: int, now: int, lo: int, hi: int, shared: dict | None = None
    ) -> tuple[int, int]:
        """Up/down business µs in [a, now) from effective observations obs[lo:hi].

        ``shared`` memoises integrals that several windows ending at ``now`` have in common.
        """
        shared = {} if shared is None else shared
        obs, obs_up = self._obs_ts, self._obs_up
        first, last = obs[lo], obs[hi - 1]
        up = down = 0
        if a < first:  # head: the first observation extends back to the window start
            t = self._business_time(a, min(first, now))
            up, down = (up + t, down) if obs_up[lo] else (up, down + t)
        if last < now:  # tail: the last observation extends to now
            start = max(last, a)
            t = shared.get(("tail", start, now))
            if t is None:
                t = shared[("tail", start, now)] = self._business_time(start, now)
            up, down = (up + t, down) if obs_up[hi - 1] else (up, down + t)
        x, y = max(a, first), min(now, last)
        if x < y:
            u, d = self._interior(x, y, shared)
            up, down = up + u, down + d
        return up, down

    def _interior(self, x: int, y: int, shared: dict) -> tuple[int, int]:
        """Up/down of the interior gaps over [x, y): the whole hours between them from the
        buckets (only those: a week's window sums 168 buckets, not every kept hour twice),
        the partial hours at both ends integrated (the right end is the same for all three
        windows of :meth:`values`, so it is remembered in ``shared``)."""
        hx, hy = x // US_PER_HOUR, y // US_PER_HOUR
        if hx == hy:
            return self._integrate(x, y)
        right = shared.get(("right", y))
        if right is None:
            right = shared[("right", y)] = self._integrate(hy * US_PER_HOUR, y)
        left = self._integrate(x, (hx + 1) * US_PER_HOUR)
        n = len(self._up)
        i, j = min(max(hx + 1 - self._base, 0), n), min(max(hy - self._base, 0), n)
        up = sum(self._up[i:j])
        # every business µs of an hour between two observations is up or down: the down
        # buckets would repeat what the up buckets and the business intervals already say
        down = self._business_time((self._base + i) * US_PER_HOUR,
                                   (self._base + j) * US_PER_HOUR) - up if i < j else 0
        return left[0] + up + right[0], left[1] + down + right[1]

    def _integrate(self, x: int, y: int) -> tuple[int, int]:
        """Directly integrate the interior gaps over [x, y) (a partial hour at most)."""
        if y <= x:
            return 0, 0
        obs, obs_up = self._obs_ts, self._obs_up
        k = max(bisect_right(obs, x) - 1, 0)  # gap [obs k, obs k+1) contains x
        up = down = 0
        while k + 1 < len(obs) and obs[k] < y:
            a, b = obs[k], obs[k + 1]
            mid = (a + b) // 2
            for s, e, status in ((a, mid, obs_up[k]), (mid, b, obs_up[k + 1])):
                s, e = max(s, x), min(e, y)
                if s < e:
                    t = self._business_time(s, e)
                    if status:
                        up += t
                    else:
                        down += t
            k += 1
        return up, down
