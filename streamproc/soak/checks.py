"""What a report must be: the batch report (`streamproc report`'s code) on the polls the
pipeline had, at the report's watermark.

Why a report can be checked exactly, and how (docs, README "Guarantees", the soak):

* a report's ``now`` is its watermark: the latest poll any worker had applied when the
  report's snapshot caught up with the broker (or its ``as_of``), and its rows are every
  store evaluated at ``now`` on the polls applied at that moment, polls after ``now``
  ignored;
* the live replay sends polls in event-time order, one slice at a time, each slice
  acknowledged before the next; so at any moment every partition holds a time prefix of the
  polls, and every poll up to the replay's acknowledged time ``A`` is in all of them;
* a report includes every poll acknowledged before its trigger. A trigger with
  ``as_of = A`` (a "pinned" report) therefore rests on exactly the polls at or before ``A``:
  its CSV must equal ``streamproc report --as-of A`` byte for byte;
* a trigger without ``as_of`` (as a client sends it) gets ``now`` = the watermark, which
  the replay may have moved past ``A`` meanwhile: the partitions of the other workers may
  then hold a slice or two fewer than the one that set ``now``. Such a report equals
  ``streamproc report --as-of now`` when every partition had caught up (counted as exact);
  otherwise each store's row must equal the batch row at ``now`` computed on that store's
  polls up to some cut between ``A`` and ``now``, one of the prefixes the store can hold
  (counted as "at a cut"). Any other row, a missing or extra store, or a watermark behind
  ``A`` or ahead of what was sent, is wrong.

Bursts of events only repeat polls at or before the ``A`` of every report still open (see
``reports.ReportBook.floor``), so they are inside every cut and change no expectation.
"""

from __future__ import annotations

import io
from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass

from streamproc.core.report_rows import build_states, report_rows, write_csv
from streamproc.core.timeparse import to_iso
from streamproc.soak.data import DataSet

EXAMPLES = 3  # wrong rows quoted in a verdict
EXPLAIN_WINDOW = 60  # a wrong row is explained by a gap among the store's last polls


@dataclass(frozen=True)
class Verdict:
    ok: bool
    exact: bool  # byte for byte the batch report at the report's now
    detail: str = ""


def _csv(states: dict, now_us: int | None, columns: tuple[str, ...]) -> str:
    out = io.StringIO()
    write_csv(report_rows(states, now_us, figures=bool(columns)), out, columns)
    return out.getvalue()


def _rows(text: str) -> tuple[str, dict[str, str], list[str]]:
    """(header, store id -> line, store ids in the order given) of a report CSV."""
    lines = text.splitlines()
    order = [line.split(",", 1)[0] for line in lines[1:]]
    return (lines[0] if lines else ""), dict(zip(order, lines[1:], strict=True)), order


class Oracle:
    """The batch report of the soak's data set, at any ``now`` and on any cut of a store's
    polls, computed with the core functions `streamproc report` runs."""

    def __init__(self, data: DataSet) -> None:
        self.data = data
        self.polls: dict[str, list] = defaultdict(list)
        for poll in data.polls:  # in time order
            self.polls[poll[0]].append(poll)
        self.times = {s: [p[1] for p in ps] for s, ps in self.polls.items()}
        self.hours: dict[str, list] = defaultdict(list)
        for row in data.hours:
            self.hours[row[0]].append(row)
        self.special: dict[str, list] = defaultdict(list)
        for row in data.special:
            self.special[row[0]].append(row)
        self.zones = dict(z for z in data.zones)  # the last row wins
        self.known = set(self.hours) | set(self.zones) | set(self.special)  # before any poll

    def expected(self, now_us: int, columns: tuple[str, ...] = ()) -> str:
        """``streamproc report --as-of now`` on the whole data set."""
        states, now = build_states(self.data.polls, self.data.hours, self.data.zones,
                                   as_of=now_us, special=self.data.special)
        return _csv(states, now, columns)

    def store_line(self, store: str, cut_us: int, now_us: int,
                   columns: tuple[str, ...]) -> str:
        """The batch row of one store at ``now`` on its polls up to ``cut_us``."""
        polls = self.polls.get(store, [])[:bisect_right(self.times.get(store, []), cut_us)]
        states, now = build_states(polls, self.hours.get(store, []),
                                   [(store, self.zones[store])] if store in self.zones else [],
                                   as_of=now_us, special=self.special.get(store, []))
        states.setdefault(store, None)
        return _csv({store: states[store]}, now, columns).splitlines()[1]

    def cuts(self, store: str, lo_us: int, now_us: int) -> list[int]:
        """The prefixes of a store's polls a partition can hold: up to ``lo``, then each of
        its polls in (lo, now]."""
        times = self.times.get(store, [])
        return [lo_us] + times[bisect_right(times, lo_us):bisect_right(times, now_us)]

    def check(self, got: str, now_us: int, lo_us: int, columns: tuple[str, ...]) -> Verdict:
        """A report of ``now`` whose every partition holds at least the polls up to ``lo``."""
        want = self.expected(now_us, columns)
        if got == want:
            return Verdict(True, True)
        got_head, got_rows, order = _rows(got)
        want_head, want_rows, _ = _rows(want)
        if got_head != want_head:
            return Verdict(False, False, f"header {got_head!r} != {want_head!r}")
        if order != sorted(order) or len(order) != len(got_rows):
            return Verdict(False, False, "rows not sorted by store id, or a store twice")
        bad = [(s, problem) for s in sorted(set(got_rows) | set(want_rows))
               if (problem := self._row_problem(s, got_rows.get(s), want_rows.get(s), now_us,
                                                lo_us, columns))]
        if not bad:
            return Verdict(True, False)
        quoted = [problem + (self.explain(s, got_rows[s], now_us, columns)
                             if s in got_rows and s in want_rows else "")
                  for s, problem in bad[:EXAMPLES]]
        return Verdict(False, False, f"{len(bad)} stores wrong, e.g. " + "; ".join(quoted))

    def _row_problem(self, store: str, got: str | None, want: str | None, now_us: int,
                     lo_us: int, columns: tuple[str, ...]) -> str | None:
        if got == want:
            return None
        if want is None:
            return f"{store}: not in the data set"
        if got is None:
            first = self.times.get(store, [now_us + 1])[0]
            unknown_yet = store not in self.known and first > lo_us
            return None if unknown_yet else f"{store}: missing"
        if any(self.store_line(store, cut, now_us, columns) == got
               for cut in self.cuts(store, lo_us, now_us)):
            return None
        return f"got {got!r}, batch {want!r}"

    def explain(self, store: str, got: str, now_us: int, columns: tuple[str, ...]) -> str:
        """What the stream's row rests on, if it is the batch row without a run of the
        store's polls (the usual shape of a loss: a stretch of a partition not applied)."""
        polls = [p for p in self.polls.get(store, []) if p[1] <= now_us][-EXPLAIN_WINDOW:]
        zone = [(store, self.zones[store])] if store in self.zones else []
        for length in range(1, len(polls) + 1):
            for i in range(len(polls) - length + 1):
                hole = {p[1] for p in polls[i:i + length]}
                kept = [p for p in self.polls[store] if p[1] not in hole]
                states, now = build_states(kept, self.hours.get(store, []), zone,
                                           as_of=now_us, special=self.special.get(store, []))
                if _csv({store: states[store]}, now, columns).splitlines()[1] == got:
                    return (f" (= batch without its {length} polls from "
                            f"{to_iso(polls[i][1])} to {to_iso(polls[i + length - 1][1])})")
        return ""

    def latest_poll(self, until_us: int) -> int | None:
        """The timestamp of the latest poll at or before ``until_us``."""
        n = self.data.polls_until(until_us)
        return self.data.polls[n - 1][1] if n else None

    def is_poll_time(self, ts_us: int) -> bool:
        times = self.data.times
        i = bisect_left(times, ts_us)
        return i < len(times) and times[i] == ts_us


def observation_deficit(got: str, want: str) -> tuple[int, int]:
    """(observations the stream's report lacks, stores whose count differs) between two
    reports with the ``observations_last_week`` column last."""
    _, got_rows, _ = _rows(got)
    _, want_rows, _ = _rows(want)
    lacking, differing = 0, 0
    for store, line in want_rows.items():
        want_n = int(line.rsplit(",", 1)[1])
        other = got_rows.get(store)
        got_n = int(other.rsplit(",", 1)[1]) if other else 0
        lacking += max(0, want_n - got_n)
        differing += got_n != want_n
    return lacking, differing
