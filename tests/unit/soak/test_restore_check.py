"""The soak's changelog check finds a poll that only a takeover would lose."""

from __future__ import annotations

from streamproc.core.records import US_PER_DAY
from streamproc.core.row_saves import full_writes
from streamproc.core.state import StoreState
from streamproc.core.state_rows import day_key
from streamproc.soak.restore_check import compare, restored_polls
from tests.support.row_writes import applied

DAY = 19426  # 2023-03-10
T0 = DAY * US_PER_DAY


def _rows(state: StoreState) -> dict[bytes, bytes]:
    """The changelog's last values after a full save of ``state``."""
    return applied(full_writes(state, None)[1])


def _state(store_id: str, polls: list[tuple[int, bool]]) -> StoreState:
    state = StoreState(store_id)
    state.add_polls(polls)
    return state


def test_a_complete_changelog_restores_every_poll() -> None:
    polls = [("s1", T0 + 3600_000_000 * h, h % 3 != 0) for h in range(30)]
    rows = _rows(_state("s1", [(ts, up) for _, ts, up in polls]))
    check = compare(restored_polls(rows), polls, since_us=T0)
    assert check.ok and check.stores == 1


def test_a_stale_day_row_is_found() -> None:
    """The day row of an earlier save (without the day's last poll) landed last."""
    polls = [("s1", T0 + 3600_000_000 * h, True) for h in range(20)]
    rows = _rows(_state("s1", [(ts, up) for _, ts, up in polls]))
    stale = _rows(_state("s1", [(ts, up) for _, ts, up in polls[:-1]]))
    rows[day_key("s1", DAY)] = stale[day_key("s1", DAY)]
    check = compare(restored_polls(rows), polls, since_us=T0)
    assert (check.missing, check.extra) == (1, 0)
    assert not check.ok
    assert "2023-03-10 19:00:00" in check.examples[0]


def test_polls_before_the_window_are_not_asked_for() -> None:
    polls = [("s1", T0 - US_PER_DAY, True), ("s1", T0 + 1, False)]
    rows = _rows(_state("s1", [(T0 + 1, False)]))
    assert compare(restored_polls(rows), polls, since_us=T0).ok


def test_an_invented_poll_is_found() -> None:
    polls = [("s1", T0 + 1, True)]
    rows = _rows(_state("s1", [(T0 + 1, True), (T0 + 2, False)]))
    check = compare(restored_polls(rows), polls, since_us=T0)
    assert (check.missing, check.extra) == (0, 1)
