"""The batch report store by store (issue 24): ``streamproc report`` holds the polls as columns
(``GroupedPolls``, 9 bytes a poll) and builds, asks and drops one store's state at a time
(``batch_rows``), each state derived in one sweep (``StoreState.replace_polls``).

It must give exactly the rows of the way it worked before, kept here as the reference: a
``(ts, active)`` tuple per poll, states built poll by poll (``add_polls``) and all held at
once. And it must not hold more than it says."""

from __future__ import annotations

import argparse
import io
import tracemalloc
from array import array
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamproc import csvfiles
from streamproc.cli import main
from streamproc.cli import report as report_cli
from streamproc.core.hours import CLOSED
from streamproc.core.records import US_PER_DAY, US_PER_HOUR, US_PER_MINUTE, Rejection
from streamproc.core.report_rows import (
    OPTIONAL_COLUMNS,
    GroupedPolls,
    batch_rows,
    build_states,
    group_sources,
    report_rows,
    write_csv,
)
from streamproc.core.state import HORIZON_US, StoreState
from tests.support.report_cases import reports, settings_

ALL_COLUMNS = tuple(OPTIONAL_COLUMNS)


def reference_rows(polls, hours, zones, as_of=None, special=(), figures=False):
    """The report as the batch command computed it before issue 24 (kept verbatim in spirit:
    tuples, ``add_polls`` on each fresh state, every state held until the rows are made)."""
    by_store: dict[str, list[tuple[int, bool]]] = {}
    now = None
    for store_id, ts, active in polls:
        if as_of is not None and ts > as_of:
            by_store.setdefault(store_id, [])
            continue
        by_store.setdefault(store_id, []).append((ts, active))
        if now is None or ts > now:
            now = ts
    if as_of is not None:
        now = as_of
    hours_by: dict[str, list] = {}
    for store_id, day, start, end in hours:
        hours_by.setdefault(store_id, []).append((day, start, end))
    zone_by = dict(zones)
    special_by: dict[str, list] = {}
    for store_id, day, start, end in special:
        special_by.setdefault(store_id, []).append((day, start, end))
    states = {}
    for store_id in by_store.keys() | hours_by.keys() | zone_by.keys() | special_by.keys():
        state = StoreState(store_id)
        state.set_timezone(zone_by.get(store_id))
        state.set_hours(hours_by.get(store_id))
        state.set_special(special_by.get(store_id))
        if now is not None:
            state.add_polls([p for p in by_store.get(store_id, ()) if p[0] >= now - HORIZON_US])
        states[store_id] = state
    return report_rows(states, now, figures=figures)


def new_rows(polls, hours, zones, as_of=None, special=(), figures=False):
    grouped = GroupedPolls(as_of)
    grouped.add(polls)
    return list(batch_rows(grouped, group_sources(hours, zones, special), figures=figures))


@st.composite
def reports_with_special(draw):
    """``reports()`` of the contract properties plus special-hours rows near its polls."""
    polls, hours, zones, as_of = draw(reports())
    stores = sorted({p[0] for p in polls} | {h[0] for h in hours} | {"only-special"})
    first_day = min((ts for _, ts, _ in polls), default=as_of or 0) // US_PER_DAY
    special = []
    for _ in range(draw(st.integers(0, 6))):
        store_id = draw(st.sampled_from(stores))
        day = first_day + draw(st.integers(-1, 10))
        if draw(st.booleans()):
            special.append((store_id, day, CLOSED, CLOSED))
        else:
            start = draw(st.integers(0, 47)) * 30 * US_PER_MINUTE
            special.append((store_id, day, start, draw(st.integers(0, 47)) * 30 * US_PER_MINUTE))
    return polls, hours, zones, as_of, special


@settings(settings_, max_examples=200)
@given(reports_with_special(), st.booleans())
def test_store_by_store_rows_are_the_rows_of_all_states_held(case, figures):
    polls, hours, zones, as_of, special = case
    want = reference_rows(polls, hours, zones, as_of, special, figures)
    assert new_rows(polls, hours, zones, as_of, special, figures) == want
    states, now = build_states(polls, hours, zones, as_of, special)  # the other callers' way
    assert report_rows(states, now, figures=figures) == want


def test_grouped_polls_as_of_keeps_the_store_and_now():
    grouped = GroupedPolls(as_of=100)
    grouped.add([("a", 50, True), ("b", 150, False), ("a", 50, False), ("a", 100, True)])
    assert sorted(grouped.store_ids()) == ["a", "b"]
    assert grouped.get("a") == (array("q", [50, 50, 100]), bytearray([1, 0, 1]))
    assert grouped.get("b") == (array("q"), bytearray())
    assert grouped.now == 100
    free = GroupedPolls()
    assert free.now is None
    bad = Rejection("polls", 3, "x", "why")
    assert free.add([("a", 50, True), bad, ("b", 150, False), ("b", 20, True)]) == [bad]
    assert free.now == 150
    assert free.pop("b") == (array("q", [150, 20]), bytearray([0, 1]))
    assert list(free.store_ids()) == ["a"] and free.now == 50
    assert free.pop("nope") == (array("q"), bytearray())


def _fleet(stores: int, polls_per_store: int) -> GroupedPolls:
    t0 = 1_674_000_000_000_000
    grouped = GroupedPolls()
    grouped.add((f"s{i:05d}", t0 + k * US_PER_HOUR + i, (k + i) % 7 != 0)
                for k in range(polls_per_store) for i in range(stores))
    return grouped


def test_grouped_polls_hold_a_poll_in_a_few_bytes():
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        grouped = _fleet(stores=500, polls_per_store=200)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(grouped.get("s00007")[0]) == 200
    # 9 bytes a poll, arrays over-allocated, two small objects a store; a tuple a poll was ~100
    assert held / 100_000 < 14


def test_batch_rows_hold_one_state_at_a_time():
    """A state costs kilobytes (its observations, hourly buckets, business intervals); the
    rows must not keep them all, and each store's polls are let go once its row is made."""
    stores = 600
    grouped = _fleet(stores=stores, polls_per_store=48)
    rows = batch_rows(grouped, group_sources([], [], []))
    next(rows)  # warm up: the first state, the zone cache
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        made = sum(1 for _ in rows)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert made == stores - 1
    assert not grouped.store_ids()
    one_state = len(StoreState("x").to_bytes()) + 48 * 9  # far less than a held state costs
    assert peak < 200 * one_state, f"{peak:,} bytes at the peak"
    # the old way held every state: at least its polls twice over (kept and observed)
    assert stores * 48 * 18 > 200 * one_state


# -- the command on a generated data set: bad rows, duplicates, DST, gzip, special hours ----


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("batch")
    assert main(["generate", "--stores", "250", "--days", "9", "--seed", "11", "--dst",
                 "--bad-rows", "40", "--duplicates", "0.05", "--gzip", "--out", str(out)]) == 0
    return out


def _records(items):
    return [r for r in items if not isinstance(r, Rejection)]


def _reference_csv(data: Path, as_of: int | None, columns: tuple[str, ...]) -> str:
    rows = reference_rows(
        _records(csvfiles.iter_polls(data / "store_status.csv.gz")),
        _records(csvfiles.iter_hours(data / "menu_hours.csv")),
        _records(csvfiles.iter_timezones(data / "timezones.csv")),
        as_of,
        _records(csvfiles.iter_special_hours(data / "special_hours.csv")),
        figures=bool(columns),
    )
    buf = io.StringIO(newline="")
    write_csv(rows, buf, columns)
    return buf.getvalue()


@pytest.mark.parametrize(("as_of", "columns"), [
    (None, ()),
    (None, ALL_COLUMNS),
    ("2023-03-13 02:30:00 UTC", ALL_COLUMNS),
    ("2023-04-01 00:00:00 UTC", ()),
])
def test_the_command_writes_the_reference_report(dataset, tmp_path, capsys, as_of, columns):
    args = argparse.Namespace(
        polls=dataset / "store_status.csv.gz", hours=dataset / "menu_hours.csv",
        timezones=dataset / "timezones.csv", special_hours=dataset / "special_hours.csv",
        out=tmp_path / "out.csv", as_of=as_of, rejects=tmp_path / "rejects.csv",
        columns=",".join(columns))
    assert report_cli.run(args) == 0
    from streamproc.core.timeparse import parse_timestamp
    want = _reference_csv(dataset, parse_timestamp(as_of) if as_of else None, columns)
    assert (tmp_path / "out.csv").read_text() == want
    assert want.count("\n") == 251  # every store, and the header
    summary = capsys.readouterr().out
    assert ", 250 stores," in summary and " 40 rejected," in summary
    assert len((tmp_path / "rejects.csv").read_text().splitlines()) == 41
