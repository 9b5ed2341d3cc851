"""Owners against two real workers: owner A never reads a byte of owner B's data through
any route (stores, fleet, hourly, reports, the report list, live stream, operator routes),
on either worker (requests are passed between them), with a bearer token or a session
cookie; report triggers are coalesced and rate-limited per caller."""

from __future__ import annotations

import hashlib
import json
import time

from streamproc.sandbox import wait_split
from streamproc.sandbox.http import JSON, request, wait_report
from tests.support.data import batch_report, generate, replay
from tests.support.live import SseReader, produce_polls
from tests.support.worker_fixture import started_peers

OPERATOR, SECRET = "operator-token", "peer-secret"
TOKENS = {"alice": "alice-token-1", "bob": "bob-token-2"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def owners_file(tmp_path, stores: list[str]) -> tuple:
    """Alice gets the even-numbered stores, Bob the odd ones; one store is nobody's."""
    mine = {"alice": stores[0:-1:2], "bob": stores[1:-1:2]}
    lines = ["owner_id,token_sha256,store_id"]
    for owner, ids in mine.items():
        digest = hashlib.sha256(TOKENS[owner].encode()).hexdigest()
        lines += [f"{owner},{digest},{s}" for s in ids]
    path = tmp_path / "owners.csv"
    path.write_text("\n".join(lines) + "\n")
    return path, mine


class Seen:
    """Every body one owner received, to check no foreign store id is in any of them."""

    def __init__(self, token: str) -> None:
        self.headers = bearer(token)
        self.bodies: list[tuple[bytes, bytes]] = []  # (what was asked, the answer)

    def call(self, base: str, path: str, method: str = "GET", body: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, object, bytes]:
        status, got, raw = request(base, path, method, body, {**self.headers, **(headers or {})},
                                   timeout=60)
        self.bodies.append((path.encode() + (body or b""), raw))
        return status, got, raw


def test_owner_never_sees_another_owners_data(worker_env, tmp_path, say):
    data = generate(tmp_path / "data", 30, 8, 17)
    expected = batch_report(data, tmp_path / "batch.csv").splitlines()
    stores = [line.split(",")[0] for line in expected[1:]]  # every store the report knows
    path, mine = owners_file(tmp_path, stores)
    env = dict(worker_env, STREAMPROC_API_TOKEN=OPERATOR, STREAMPROC_PEER_SECRET=SECRET,
               STREAMPROC_OWNERS_FILE=str(path), STREAMPROC_TRIGGER_BURST="3",
               STREAMPROC_TRIGGER_PER_MINUTE="1", STREAMPROC_REPORT_DELAY="2")
    with started_peers(env, tmp_path, "ab") as (a, b):
        wait_split([a, b])
        replay(a.env, data)
        op = bearer(OPERATOR)
        full = request(a.base_url, "/snapshot.csv", headers=op, timeout=120)
        assert full[0] == 200 and len(full[2].decode().splitlines()) == len(stores) + 1
        alice, bob = Seen(TOKENS["alice"]), Seen(TOKENS["bob"])
        for base in (a.base_url, b.base_url):
            _stores_and_fleet(base, alice, mine["alice"], stores)
            _operator_routes(base, alice)
        ids = _reports(a.base_url, b.base_url, alice, bob, mine, expected, say)
        _live(a, alice, mine, say)
        _session_cookie(b.base_url, mine["alice"])
        foreign = [s for s in stores if s not in mine["alice"]]
        # an id the owner sent may be echoed back ("unknown store <id>"); nothing else may
        leaks = [(s, raw[:200]) for s in foreign for asked, raw in alice.bodies
                 if s.encode() in raw and s.encode() not in asked]
        assert not leaks, leaks[:5]
        listing = json.loads(request(a.base_url, "/reports", headers=op)[2])["reports"]
        assert set(ids) <= {r["id"] for r in listing}  # the operator sees every report
        for handle in (a, b):  # no token or secret in any log line
            log = handle.log_path.read_text(errors="replace")
            assert not [t for t in (OPERATOR, SECRET, *TOKENS.values()) if t in log]
        say(f"{len(alice.bodies)} answers to owner A on two workers: none holds any of the "
            f"{len(foreign)} other stores' ids")


def _stores_and_fleet(base: str, owner: Seen, own: list[str], stores: list[str]) -> None:
    unknown = owner.call(base, "/stores/123")[2]
    for store in stores:
        status, _, raw = owner.call(base, f"/stores/{store}")
        assert status == (200 if store in own else 404), (store, status, raw[:200])
        if store not in own:  # exactly what a store that does not exist gets
            assert raw.replace(store.encode(), b"123") == unknown
    fleet = json.loads(owner.call(base, "/fleet?limit=1000")[2])
    assert fleet["stores"] == len(own) and {r["store_id"] for r in fleet["worst"]} == set(own)
    foreign = next(s for s in stores if s not in own)
    assert json.loads(owner.call(base, f"/fleet?q={foreign}")[2])["matching"] == 0
    hourly = owner.call(base, "/fleet/hourly?hours=24")
    operator = request(base, "/fleet/hourly?hours=24", headers=bearer(OPERATOR))
    assert hourly[0] == 200 and operator[0] == 200
    total = sum(json.loads(hourly[2])["up_s"]) + sum(json.loads(hourly[2])["down_s"])
    everyone = sum(json.loads(operator[2])["up_s"]) + sum(json.loads(operator[2])["down_s"])
    assert 0 < total < everyone  # a share of the fleet, not all of it


def _operator_routes(base: str, owner: Seen) -> None:
    for path in ("/metrics", "/snapshot.csv", "/table/store-state/", "/router/", "/stats/"):
        status, _, raw = owner.call(base, path)
        assert status == 403, (path, status, raw[:200])
    status = owner.call(base, "/internal/rows", "POST", b'{"now": null}', JSON)[0]
    assert status == 401


def _reports(base_a: str, base_b: str, alice: Seen, bob: Seen, mine: dict,
             expected: list[str], say) -> list[str]:
    """Alice's report holds her stores' rows exactly; Bob cannot read it by any form;
    identical triggers share one report; the fourth trigger in a burst of three gets 429."""
    first = json.loads(alice.call(base_a, "/trigger_report", "POST", b"{}", JSON)[2])["report_id"]
    again = json.loads(alice.call(base_b, "/trigger_report", "POST", b"{}", JSON)[2])["report_id"]
    assert again == first  # same caller, scope and watermark while it runs: coalesced
    alice.call(base_a, "/trigger_report", "POST", b"{}", JSON)
    status, headers, _ = alice.call(base_b, "/trigger_report", "POST", b"{}", JSON)
    assert status == 429 and int(headers["Retry-After"]) >= 1
    bobs = json.loads(bob.call(base_a, "/trigger_report", "POST", b"{}", JSON)[2])["report_id"]
    assert bobs != first  # Bob has his own bucket and his own report
    got = wait_report(base_b, first, 120, headers=alice.headers).decode().splitlines()
    want = [expected[0]] + [r for r in expected[1:] if r.split(",")[0] in mine["alice"]]
    assert got == want
    wait_report(base_a, bobs, 120, headers=bob.headers)
    for base in (base_a, base_b):
        assert bob.call(base, f"/get_report/{first}")[0] == 404
        assert bob.call(base, f"/get_report?report_id={first}&format=json")[0] == 404
        body = json.dumps({"report_id": first}).encode()
        assert bob.call(base, "/get_report", "POST", body, JSON)[0] == 404
        listed = {r["id"] for r in json.loads(bob.call(base, "/reports")[2])["reports"]}
        assert first not in listed and bobs in listed
        listed = {r["id"] for r in json.loads(alice.call(base, "/reports")[2])["reports"]}
        assert bobs not in listed and first in listed
    say(f"owner report: {len(got) - 1} rows, exactly owner A's stores; owner B gets 404 for it "
        "by path, query and POST body on both workers; 2 identical triggers -> 1 report; "
        "the 4th trigger of a burst of 3 -> 429")
    return [first, bobs]


def _live(worker, alice: Seen, mine: dict, say) -> None:
    """A store of each owner goes down: Alice's stream shows hers only."""
    marks = json.loads(request(worker.base_url, "/fleet?limit=1000",
                               headers=bearer(OPERATOR))[2])
    now = marks["watermark_us"]
    reader = SseReader(worker.base_url, alice.headers)
    try:
        t = now + 1_000_000
        batches = [(s, [(t, False)]) for s in mine["bob"]]
        batches += [(s, [(t + 1_000_000, False)]) for s in mine["alice"]]
        produce_polls(worker.env, batches)
        reader.wait_for(lambda e: e["store_id"] in mine["alice"], timeout=60)
        time.sleep(2)
        seen = {e["store_id"] for _, e, _ in reader.events}
    finally:
        reader.close()
    assert seen and seen <= set(mine["alice"]), seen
    alice.bodies.append((b"/live", json.dumps([e for _, e, _ in reader.events]).encode()))
    say(f"/live for owner A: {len(reader.events)} events, all of A's stores")


def _session_cookie(base: str, own: list[str]) -> None:
    status, headers, _ = request(base, "/session", "POST", b"", bearer(TOKENS["alice"]))
    assert status == 200
    cookie = headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert TOKENS["alice"] not in cookie
    value = cookie.split(";", 1)[0]
    fleet = request(base, "/fleet?limit=1000", headers={"Cookie": value})
    assert fleet[0] == 200 and json.loads(fleet[2])["stores"] == len(own)
    assert request(base, "/metrics", headers={"Cookie": value})[0] == 403
    name, _, signed = value.partition("=")
    forged = f"{name}={signed[:-2]}AA"
    assert request(base, "/fleet", headers={"Cookie": forged})[0] == 401
    assert request(base, "/session", "POST", b"", bearer("wrong"))[0] == 401
    assert request(base, "/fleet", headers={"Cookie": "x=1"})[0] == 401

