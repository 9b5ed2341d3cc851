"""The owners file is read again when it changes: owners change without a restart."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from streamproc.config import Settings
from streamproc.web import access as web_access
from streamproc.web import file_watch

HEADER = "owner_id,token_sha256,store_id\n"


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _write(path: Path, text: str, bump: int) -> None:
    path.write_text(text)
    os.utime(path, ns=(bump, bump))  # a new signature even within the clock's resolution


def _who(acc: web_access.Access, token: str):
    principal = web_access.access.identify(token, acc.operator_token, acc.current_owners(),
                                           acc.pollers)
    return None if principal is None else (principal.owner_id, sorted(principal.stores))


def test_an_owner_added_or_a_store_moved_takes_effect_without_a_restart(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(file_watch, "CHECK_S", 0.0)
    path = tmp_path / "owners.csv"
    _write(path, HEADER + f"alice,{_sha('a')},s1\nalice,{_sha('a')},s2\n", 1)
    acc = web_access.Access.from_settings(
        Settings(owners_file=path, session_secret="k" * 32))
    assert _who(acc, "a") == ("alice", ["s1", "s2"]) and _who(acc, "b") is None
    _write(path, HEADER + f"alice,{_sha('a')},s1\nbob,{_sha('b')},s2\n", 2)
    assert _who(acc, "a") == ("alice", ["s1"])  # s2 moved to bob
    assert _who(acc, "b") == ("bob", ["s2"])


def test_a_broken_or_empty_owners_file_keeps_the_last_good_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(file_watch, "CHECK_S", 0.0)
    path = tmp_path / "owners.csv"
    _write(path, HEADER + f"alice,{_sha('a')},s1\n", 1)
    acc = web_access.Access.from_settings(
        Settings(owners_file=path, session_secret="k" * 32))
    _write(path, HEADER + "alice,not-a-hash\n", 2)  # a typo: never opens or locks out
    assert _who(acc, "a") == ("alice", ["s1"])
    _write(path, HEADER, 3)
    assert _who(acc, "a") == ("alice", ["s1"])


def test_a_bad_owners_file_at_start_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "owners.csv"
    path.write_text(HEADER)
    with pytest.raises(ValueError, match="lists no owner"):
        web_access.Access.from_settings(Settings(owners_file=path, session_secret="k" * 32))
