"""Settings from the environment: every field has one variable, defaults written once."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from streamproc import config


def test_every_setting_has_one_environment_variable() -> None:
    assert set(config.ENV) == {f.name for f in fields(config.Settings)}
    assert len(set(config.ENV.values())) == len(config.ENV)


def test_unset_or_empty_variables_give_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in config.ENV.values():
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("STREAMPROC_API_TOKEN", "")
    monkeypatch.delenv("BROKER_SESSION_TIMEOUT", raising=False)
    assert config.load() == config.Settings()


def test_values_are_converted_to_the_field_types(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    monkeypatch.setenv("STREAMPROC_WEB_PORT", "7001")
    monkeypatch.setenv("STREAMPROC_ALERT_AFTER", "2.5")
    monkeypatch.setenv("STREAMPROC_STATE_DIR", str(tmp_path / "s"))
    monkeypatch.setenv("STREAMPROC_API_TOKEN", "t0k")
    monkeypatch.delenv("STREAMPROC_SESSION_TIMEOUT", raising=False)
    monkeypatch.setenv("BROKER_SESSION_TIMEOUT", "10")  # Faust's own name
    s = config.load()
    assert (s.web_port, s.alert_after_min, s.state_dir, s.api_token, s.session_timeout_s) == (
        7001, 2.5, (tmp_path / "s").resolve(), "t0k", 10.0)


def test_a_bad_number_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMPROC_PARTITIONS", "eight")
    with pytest.raises(ValueError):
        config.load()


def test_the_advertised_url_is_callable_by_peers() -> None:
    assert config.Settings(web_host="127.0.0.1", web_port=7).advertised_url == "http://127.0.0.1:7"
    assert config.Settings(web_url="http://worker1:6066/").advertised_url == "http://worker1:6066"
    anywhere = config.Settings(web_host="0.0.0.0", web_port=6066).advertised_url
    assert "0.0.0.0" not in anywhere and anywhere.endswith(":6066")


def test_no_anonymous_service_on_the_network_unless_said() -> None:
    assert config.Settings(web_host="127.0.0.1").exposure_problem() is None
    assert "STREAMPROC_API_TOKEN" in config.Settings(web_host="0.0.0.0").exposure_problem()
    # A network address needs a peer secret, tokens a session secret (issue 25, findings 1-2).
    peer = {"peer_secret": "p" * 32, "session_secret": "s" * 32}
    assert config.Settings(web_host="0.0.0.0", api_token="t", **peer).exposure_problem() is None
    assert config.Settings(web_host="10.1.2.3", allow_anonymous=True,
                           **peer).exposure_problem() is None


def test_booleans_are_spelled_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMPROC_ALLOW_ANONYMOUS", "1")
    assert config.load().allow_anonymous is True
    monkeypatch.setenv("STREAMPROC_ALLOW_ANONYMOUS", "maybe")
    with pytest.raises(ValueError, match="STREAMPROC_ALLOW_ANONYMOUS"):
        config.load()
