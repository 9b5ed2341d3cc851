"""Finding 10 of issue 25 (part): behind a TLS proxy the worker itself speaks plain HTTP, so
the session cookie must be ``Secure`` when the proxy says the client used HTTPS
(``X-Forwarded-Proto: https``), but only when ``STREAMPROC_TRUST_PROXY=1`` says a proxy that
sets that header stands in front (anyone else could send it)."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from streamproc import config
from streamproc.core import proxy_trust
from tests.support.secure_app import ALICE, owners_file, run

KEY = "k" * 32


def _settings(tmp_path, **env: str) -> config.Settings:
    return config.load({"STREAMPROC_OWNERS_FILE": str(owners_file(tmp_path)),
                        "STREAMPROC_SESSION_SECRET": KEY, **env})


async def _set_cookie(client: TestClient, proto: str | None) -> str:
    headers = {"Authorization": f"Bearer {ALICE}"}
    if proto is not None:
        headers["X-Forwarded-Proto"] = proto
    async with client.post("/session", headers=headers) as resp:
        assert resp.status == 200
        return resp.headers["Set-Cookie"]


def test_a_trusted_proxy_saying_https_makes_the_cookie_secure(tmp_path) -> None:
    async def scenario(client: TestClient) -> None:
        assert "Secure" in await _set_cookie(client, "https")
        assert "Secure" in await _set_cookie(client, "HTTPS, http")  # first hop counts
        assert "Secure" not in await _set_cookie(client, "http")
        assert "Secure" not in await _set_cookie(client, None)

    run(_settings(tmp_path, STREAMPROC_TRUST_PROXY="1"), scenario)


def test_the_header_is_ignored_without_a_trusted_proxy(tmp_path) -> None:
    async def scenario(client: TestClient) -> None:
        assert "Secure" not in await _set_cookie(client, "https")

    run(_settings(tmp_path), scenario)


def test_secure_rule() -> None:
    assert proxy_trust.client_used_tls(False, "https", trust_proxy=True)
    assert not proxy_trust.client_used_tls(False, "https", trust_proxy=False)
    assert proxy_trust.client_used_tls(True, None, trust_proxy=False)
    assert proxy_trust.client_used_tls(True, "http", trust_proxy=True)  # TLS to us is TLS
    assert not proxy_trust.client_used_tls(False, " ", trust_proxy=True)
