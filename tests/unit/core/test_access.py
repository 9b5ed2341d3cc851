"""core/access.py: who may see what, the owners file, session cookies, the trigger limit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamproc.core import access
from streamproc.core.access import OPERATOR_PRINCIPAL, Principal, RateLimit

A_TOKEN, B_TOKEN, OP = "token-of-a", "token-of-b", "operator-token"
OWNERS_CSV = (
    "owner_id,token_sha256,store_id\n"
    f"alice,{access.token_hash(A_TOKEN)},s1\n"
    f"alice,{access.token_hash(A_TOKEN)},s2\n"
    f"bob,{access.token_hash(B_TOKEN).upper()},s3\n"
)


def owners() -> dict[str, Principal]:
    return access.parse_owners(OWNERS_CSV)


def test_owners_file_groups_stores_and_stores_no_token() -> None:
    parsed = owners()
    assert A_TOKEN not in OWNERS_CSV
    alice = parsed[access.token_hash(A_TOKEN)]
    assert alice.owner_id == "alice" and alice.stores == {"s1", "s2"}
    assert parsed[access.token_hash(B_TOKEN)].stores == {"s3"}  # hex case does not matter


@pytest.mark.parametrize("text, reason", [
    ("", "header"),
    ("owner,token,store\n", "header"),
    ("owner_id,token_sha256,store_id\nalice,abc,s1\n", "64 hex"),
    ("owner_id,token_sha256,store_id\nal ice," + "0" * 64 + ",s1\n", "owner_id"),
    ("owner_id,token_sha256,store_id\nalice," + "0" * 64 + "\n", "3 fields"),
    ("owner_id,token_sha256,store_id\nalice," + "0" * 64 + ",s1\nbob," + "0" * 64 + ",s2\n",
     "already belongs"),
])
def test_bad_owners_file_names_the_problem(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        access.parse_owners(text)


def test_identify_each_role() -> None:
    parsed = owners()
    assert access.identify(OP, OP, parsed) == OPERATOR_PRINCIPAL
    assert access.identify(A_TOKEN, OP, parsed).owner_id == "alice"
    assert access.identify(B_TOKEN, None, parsed).owner_id == "bob"
    for wrong in (None, "", OP + "x", access.token_hash(A_TOKEN)):
        assert access.identify(wrong, OP, parsed) is None
    assert access.identify(None, None, {}) == OPERATOR_PRINCIPAL  # nothing configured: open


def test_owner_sees_only_their_stores_and_reports() -> None:
    alice = owners()[access.token_hash(A_TOKEN)]
    bob = owners()[access.token_hash(B_TOKEN)]
    assert access.visible(alice, ["s3", "s1", "s9", "s2"]) == ["s1", "s2"]
    assert access.visible(OPERATOR_PRINCIPAL, ["s3", "s9"]) == ["s3", "s9"]
    report = {"id": "r", "owner": alice.key}
    assert access.may_see_report(alice, report) and not access.may_see_report(bob, report)
    assert access.may_see_report(OPERATOR_PRINCIPAL, report)
    assert not access.may_see_report(alice, {"id": "r", "owner": "operator"})
    assert not access.may_see_report(alice, {"id": "r"})  # an old record: operators only
    assert access.report_scope(alice) == ["s1", "s2"]
    assert access.report_scope(OPERATOR_PRINCIPAL) is None


@pytest.mark.parametrize("path, owner_may", [
    ("/stores/s1", True), ("/fleet", True), ("/fleet/hourly", True), ("/live", True),
    ("/trigger_report", True), ("/get_report/x", True), ("/reports", True),
    ("/metrics", False), ("/snapshot.csv", False), ("/table/store-state/", False),
    ("/router/", False), ("/stats/", False), ("/fleetx", False), ("/reportsx", False),
])
def test_routes_by_role(path: str, owner_may: bool) -> None:
    alice = owners()[access.token_hash(A_TOKEN)]
    assert access.may_use_route(alice, path) is owner_may
    assert access.may_use_route(OPERATOR_PRINCIPAL, path)


def test_session_cookie_round_trip_and_forgeries() -> None:
    parsed = owners()
    alice = parsed[access.token_hash(A_TOKEN)]
    key = b"k" * 32
    value = access.session_cookie(alice, key, 2_000)
    assert A_TOKEN not in value
    assert access.read_session(value, (key,), 1_000, parsed) == alice
    assert access.read_session(value, (key,), 2_001, parsed) is None  # expired
    assert access.read_session(value, (b"x" * 32,), 1_000, parsed) is None  # another key
    assert access.read_session(value, (key,), 1_000, {}) is None  # owner removed from the file
    forged = access.session_cookie(OPERATOR_PRINCIPAL, b"x" * 32, 2_000)
    assert access.read_session(forged, (key,), 1_000, parsed) is None
    body, _, mac = value.partition(".")
    op_body = access.session_cookie(OPERATOR_PRINCIPAL, key, 2_000).partition(".")[0]
    assert access.read_session(op_body + "." + mac, (key,), 1_000, parsed) is None
    for junk in ("", ".", "a.b", "%%%.%%%", body):
        assert access.read_session(junk, (key,), 1_000, parsed) is None


def test_rate_limit_burst_then_rate() -> None:
    limit = RateLimit(per_minute=6, burst=3)
    assert [limit.take("a", 0.0) for _ in range(3)] == [None] * 3
    wait = limit.take("a", 0.0)
    assert wait == pytest.approx(10.0)  # one trigger every 10 s
    assert limit.take("b", 0.0) is None  # each caller has its own bucket
    assert limit.take("a", 9.0) is not None
    assert limit.take("a", 10.5) is None


@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), max_size=200),
       st.floats(min_value=0.5, max_value=600), st.integers(min_value=1, max_value=20))
def test_rate_limit_never_allows_more_than_burst_plus_rate(times: list[float], per_minute: float,
                                                            burst: int) -> None:
    limit = RateLimit(per_minute=per_minute, burst=burst)
    times = sorted(times)
    allowed = [t for t in times if limit.take("k", t) is None]
    if allowed:
        span = allowed[-1] - allowed[0]
        assert len(allowed) <= burst + span * per_minute / 60.0 + 1e-6
    for t in times:
        wait = limit.take("k", t)
        assert wait is None or 0 < wait <= 60.0 / per_minute + 1e-9


def test_rate_limit_rejects_a_nan_clock_and_bounds_its_keys() -> None:
    limit = RateLimit(per_minute=60, burst=1, max_keys=10)
    with pytest.raises(ValueError):
        limit.take("a", float("nan"))
    for i in range(100):
        limit.take(f"k{i}", float(i))
    assert len(limit.buckets) <= 10


def test_coalesce_key_separates_callers_times_and_watermarks() -> None:
    alice = owners()[access.token_hash(A_TOKEN)]
    keys = {access.coalesce_key(p, a, w) for p in (alice, OPERATOR_PRINCIPAL)
            for a in (None, 1) for w in (None, 5, 6)}
    assert len(keys) == 12


def test_owner_report_request_keeps_its_owner_and_scope() -> None:
    from streamproc.core import report_lifecycle as lc
    rid = lc.new_report_id()
    msg = {"type": "request", "created": "c", "as_of": None, "owner": "owner:alice",
           "stores": ["s1", "s2"]}
    step = lc.next_step(rid, None, msg, running_here=False, now_iso="n")
    assert step.action == lc.GENERATE
    assert step.record["owner"] == "owner:alice" and step.record["stores"] == ["s1", "s2"]
    assert "owner" not in lc.public(step.record) and "stores" not in lc.public(step.record)
    bad = lc.next_step(rid, None, {**msg, "stores": "s1"}, running_here=False, now_iso="n")
    assert bad.action == lc.IGNORE and bad.record is None
    old = lc.next_step(rid, None, {"type": "request"}, running_here=False, now_iso="n")
    assert old.record["owner"] == "operator" and old.record["stores"] is None


def test_pollers_publish_events_and_nothing_else() -> None:
    digest = access.token_hash("poll-me")
    pollers = access.parse_poller_hashes(f" {digest.upper()} ,")
    assert pollers == {digest}
    poller = access.identify("poll-me", "op", {}, pollers)
    assert poller is not None and poller.role == access.POLLER and not poller.is_operator
    assert access.identify("poll-me", None, {}, pollers) == poller  # pollers alone close it
    assert access.identify(None, None, {}, pollers) is None
    assert access.may_use_route(poller, "/events")
    for path in ("/events/x", "/stores/s1", "/fleet", "/reports", "/trigger_report", "/live"):
        assert not access.may_use_route(poller, path), path
    assert not access.may_use_route(Principal(access.OWNER, "o", frozenset({"s"})), "/events")
    cookie = access.session_cookie(poller, b"k", 10**10)
    assert access.read_session(cookie, (b"k",), 0, {}) is None  # a session is for the dashboard


def test_bad_poller_hashes_name_the_entry() -> None:
    with pytest.raises(ValueError, match="not a hex SHA-256"):
        access.parse_poller_hashes("abc," + "0" * 64)
    assert access.parse_poller_hashes(None) == frozenset()
