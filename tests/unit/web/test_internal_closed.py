"""Finding 1 of issue 25: ``/internal/*`` (every store's rows) answers a peer secret alone;
without ``STREAMPROC_PEER_SECRET`` it is closed, whatever else is configured."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from streamproc.config import Settings
from tests.support.secure_app import ALICE, OP, owners_file, run

SECRETS = {"session_secret": "s" * 32}  # required whenever tokens are set (finding 2)


async def _rows(client: TestClient, token: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with client.post("/internal/rows", json={"now": None}, headers=headers) as resp:
        return resp.status


def test_internal_closed_with_owners_but_no_peer_secret(tmp_path) -> None:
    settings = Settings(owners_file=owners_file(tmp_path), **SECRETS)

    async def scenario(client: TestClient) -> None:
        assert await _rows(client) == 401
        assert await _rows(client, ALICE) == 401

    run(settings, scenario)


def test_the_operator_token_does_not_open_internal(tmp_path) -> None:
    async def scenario(client: TestClient) -> None:
        assert await _rows(client, OP) == 401

    run(Settings(api_token=OP, **SECRETS), scenario)


def test_internal_closed_in_open_mode(tmp_path) -> None:
    async def scenario(client: TestClient) -> None:
        async with client.post("/internal/rows", json={"now": None}) as resp:
            assert resp.status == 401
            assert "STREAMPROC_PEER_SECRET" in (await resp.json())["error"]

    run(Settings(), scenario)


def test_a_network_address_without_peer_secret_refuses_to_start(tmp_path) -> None:
    owners = owners_file(tmp_path)
    for settings in (Settings(web_host="0.0.0.0", owners_file=owners, **SECRETS),
                     Settings(web_host="0.0.0.0", poller_tokens_sha256="a" * 64, **SECRETS),
                     Settings(web_host="0.0.0.0", api_token=OP, **SECRETS)):
        problem = settings.exposure_problem()
        assert problem is not None and "STREAMPROC_PEER_SECRET" in problem
    good = Settings(web_host="0.0.0.0", api_token=OP, peer_secret="p" * 32, **SECRETS)
    assert good.exposure_problem() is None
