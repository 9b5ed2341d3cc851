"""Finding 2 of issue 25: the session cookie is signed with a dedicated random secret
(``STREAMPROC_SESSION_SECRET``, several keys for rotation), never with a key derived from
what others may know (the owners file), and no operator cookie exists without an operator
token."""

from __future__ import annotations

import hashlib

from aiohttp.test_utils import TestClient

from streamproc import config
from streamproc.core import access as core_access
from streamproc.web.access import COOKIE
from tests.support.secure_app import ALICE, OP, owners_file, run

KEY_A, KEY_B = "a" * 32, "b" * 32


def _settings(tmp_path, **env: str) -> config.Settings:
    """Through the environment, as a worker reads it."""
    base = {"STREAMPROC_OWNERS_FILE": str(owners_file(tmp_path)),
            "STREAMPROC_SESSION_SECRET": KEY_A}
    return config.load({**base, **env})


def _forged_operator_cookie(owners_text: str) -> str:
    """What anyone holding the owners file could sign before: the key derived from it."""
    key = hashlib.sha256(b"streamproc-session|||" + owners_text.encode()).digest()
    return core_access.session_cookie(core_access.OPERATOR_PRINCIPAL, key, 2**40)


async def _status(client: TestClient, path: str, cookie: str | None = None) -> int:
    cookies = {COOKIE: cookie} if cookie else None
    async with client.get(path, cookies=cookies) as resp:
        return resp.status


def test_the_owners_file_forges_no_operator_cookie(tmp_path) -> None:
    settings = _settings(tmp_path)
    forged = _forged_operator_cookie(settings.owners_file.read_text())

    async def scenario(client: TestClient) -> None:
        assert await _status(client, "/metrics", forged) == 401

    run(settings, scenario)


def test_no_operator_cookie_without_an_operator_token(tmp_path) -> None:
    settings = _settings(tmp_path)
    signed = core_access.session_cookie(core_access.OPERATOR_PRINCIPAL, KEY_A.encode(), 2**40)

    async def scenario(client: TestClient) -> None:
        assert await _status(client, "/metrics", signed) == 401

    run(settings, scenario)


def test_a_service_that_is_not_open_needs_a_session_secret(tmp_path) -> None:
    for env in ({"STREAMPROC_API_TOKEN": OP}, {"STREAMPROC_OWNERS_FILE": str(owners_file(
            tmp_path))}, {"STREAMPROC_POLLER_TOKENS_SHA256": "a" * 64}):
        problem = config.load(env).exposure_problem()
        assert problem is not None and "STREAMPROC_SESSION_SECRET" in problem, env
    assert config.load({"STREAMPROC_API_TOKEN": OP,
                        "STREAMPROC_SESSION_SECRET": KEY_A}).exposure_problem() is None


def test_rotation_signs_with_the_first_key_and_accepts_any(tmp_path) -> None:
    cookies: dict[str, str] = {}

    def session_with(secret: str, name: str):
        async def scenario(client: TestClient) -> None:
            headers = {"Authorization": f"Bearer {ALICE}"}
            async with client.post("/session", headers=headers) as resp:
                assert resp.status == 200
                cookies[name] = resp.cookies[COOKIE].value
            for other in cookies.values():  # every cookie made so far is still accepted
                assert await _status(client, "/fleet", other) == 200
        return scenario

    run(_settings(tmp_path, STREAMPROC_SESSION_SECRET=KEY_A), session_with(KEY_A, "old"))
    run(_settings(tmp_path, STREAMPROC_SESSION_SECRET=f"{KEY_B},{KEY_A}"),
        session_with(f"{KEY_B},{KEY_A}", "new"))

    async def only_b(client: TestClient) -> None:  # the old key dropped: its cookies end
        assert await _status(client, "/fleet", cookies["new"]) == 200
        assert await _status(client, "/fleet", cookies["old"]) == 401

    run(_settings(tmp_path, STREAMPROC_SESSION_SECRET=KEY_B), only_b)


def test_workers_whose_owners_files_differ_read_each_others_cookies(tmp_path) -> None:
    cookie: list[str] = []

    async def make(client: TestClient) -> None:
        async with client.post("/session", headers={"Authorization": f"Bearer {ALICE}"}) as r:
            cookie.append(r.cookies[COOKIE].value)

    async def read(client: TestClient) -> None:
        assert await _status(client, "/fleet", cookie[0]) == 200

    run(_settings(tmp_path), make)
    other = tmp_path / "other.csv"
    other.write_text(owners_file(tmp_path).read_text() + "\n")  # one byte more
    run(_settings(tmp_path, STREAMPROC_OWNERS_FILE=str(other)), read)
