"""`streamproc broker` lifecycle on a private broker (own state dir and ports).

Leaves the shared broker on the default ports alone; reuses its cached jars.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from streamproc import config
from streamproc import localkafka as broker
from streamproc.cli import broker as broker_cli
from streamproc.config import Settings
from tests.support.broker_fixture import private_broker_settings


@pytest.fixture
def private_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name, value in private_broker_settings(tmp_path / "state").items():
        monkeypatch.setenv(name, value)
    settings = config.load()
    yield settings
    broker.stop(settings, timeout=10)


def _cli(action: str) -> int:
    return broker_cli.run(argparse.Namespace(action=action, timeout=None))


def test_start_twice_status_stop_twice(private_env: Settings, capsys) -> None:
    s = private_env
    assert _cli("start") == 0
    out = capsys.readouterr().out
    assert f"running at {s.bootstrap}" in out
    pid = broker.running_pid(s)
    assert pid is not None and broker.is_running(s)
    assert broker.single_node(s).pid_file.read_text().strip() == str(pid)

    assert _cli("start") == 0
    assert f"already running at {s.bootstrap}" in capsys.readouterr().out
    assert broker.running_pid(s) == pid
    assert broker.start(s) == s.bootstrap  # API is idempotent too

    assert _cli("status") == 0
    out = capsys.readouterr().out
    assert f"running (pid {pid})" in out and s.bootstrap in out and str(s.broker_dir) in out
    st = broker.status(s)
    assert st.running and st.ready and st.pid == pid

    assert (s.broker_dir / "data" / "meta.properties").exists()
    assert (s.broker_dir / "logs" / "server.log").exists()

    assert _cli("stop") == 0
    assert "stopped" in capsys.readouterr().out
    assert not broker.is_running(s)
    assert not broker.single_node(s).pid_file.exists()
    assert not os.path.exists(f"/proc/{pid}") or not broker.alive(pid)

    assert _cli("stop") == 0
    assert "not running" in capsys.readouterr().out
    assert _cli("status") == 0
    assert "stopped" in capsys.readouterr().out

    # Restart on the existing (already formatted) storage.
    assert broker.start(s) == s.bootstrap
    assert broker.status(s).ready
    assert broker.stop(s) is True
