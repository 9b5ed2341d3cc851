"""Finding 10 of issue 25 (rest): a session can be revoked before it expires. Every worker
watches ``STREAMPROC_REVOKED_SESSIONS_FILE`` (one session id, or a principal such as
``owner:alice`` or ``operator``, per line); a cookie it names is refused at once, without a
restart, and a ``/live`` stream it opened ends."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient

from streamproc import config
from streamproc.core import access as core_access
from streamproc.web.access import COOKIE
from tests.support import secure_app
from tests.support.secure_app import ALICE, BOB, OP, owners_file


def _settings(tmp_path) -> config.Settings:
    return config.load({"STREAMPROC_OWNERS_FILE": str(owners_file(tmp_path)),
                        "STREAMPROC_API_TOKEN": OP, "STREAMPROC_SESSION_SECRET": "r" * 32,
                        "STREAMPROC_REVOKED_SESSIONS_FILE": str(tmp_path / "revoked.txt")})


_run = secure_app.run_with_live


async def _session(client: TestClient, token: str) -> tuple[str, str]:
    async with client.post("/session", headers={"Authorization": f"Bearer {token}"}) as resp:
        assert resp.status == 200
        cookie, session_id = resp.cookies[COOKIE].value, (await resp.json())["session_id"]
    client.session.cookie_jar.clear()  # each request names its cookie itself
    return cookie, session_id


async def _status(client: TestClient, cookie: str) -> int:
    async with client.get("/fleet", headers={"Cookie": f"{COOKIE}={cookie}"}) as resp:
        return resp.status


def test_a_revoked_session_is_refused_at_once_and_others_are_not(tmp_path) -> None:
    settings = _settings(tmp_path)

    async def scenario(client: TestClient) -> None:
        first, first_id = await _session(client, ALICE)
        second, _ = await _session(client, ALICE)
        bobs, _ = await _session(client, BOB)
        assert [await _status(client, c) for c in (first, second, bobs)] == [200, 200, 200]
        (tmp_path / "revoked.txt").write_text(f"# revoked\n{first_id}\n")
        await asyncio.sleep(1.1)  # the file is looked at about once a second
        assert [await _status(client, c) for c in (first, second, bobs)] == [401, 200, 200]
        (tmp_path / "revoked.txt").write_text("owner:alice\n")  # every session of alice
        await asyncio.sleep(1.1)
        assert [await _status(client, c) for c in (first, second, bobs)] == [401, 401, 200]

    _run(settings, scenario)


def test_a_live_stream_ends_when_its_session_is_revoked(tmp_path) -> None:
    settings = _settings(tmp_path)

    async def scenario(client: TestClient) -> None:
        cookie, session_id = await _session(client, BOB)
        async with client.get("/live", headers={"Cookie": f"{COOKIE}={cookie}"}) as resp:
            assert resp.status == 200
            await resp.content.readline()
            (tmp_path / "revoked.txt").write_text(session_id + "\n")
            text = (await asyncio.wait_for(resp.content.read(), 6.0)).decode()
        assert "event: end" in text

    _run(settings, scenario)


def test_revocation_rule() -> None:
    alice = core_access.Principal(core_access.OWNER, "alice", frozenset({"s1"}))
    owners = {"h": alice}
    key = b"k" * 32
    value = core_access.session_cookie(alice, key, 2_000, "sid1")
    assert core_access.read_session(value, (key,), 1_000, owners) == alice
    for revoked in ({"sid1"}, {"owner:alice"}):
        assert core_access.read_session(value, (key,), 1_000, owners,
                                        revoked=frozenset(revoked)) is None
    assert core_access.read_session(value, (key,), 1_000, owners,
                                    revoked=frozenset({"sid2", "operator"})) == alice
