"""A soak refuses to start a worker once the sources changed under it (a 30-minute soak
judged a mix of code versions: workers started while the core was being edited)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from streamproc.soak.code_guard import CodeChanged, CodeGuard, package_roots
from streamproc.soak.fleet import Fleet


def _tree(root: Path) -> Path:
    (root / "pkg" / "sub").mkdir(parents=True)
    (root / "pkg" / "a.py").write_text("A = 1\n")
    (root / "pkg" / "sub" / "b.py").write_text("B = 2\n")
    return root / "pkg"


def test_unchanged_sources_pass(tmp_path: Path) -> None:
    guard = CodeGuard([_tree(tmp_path)])
    guard.check()
    guard.check()


@pytest.mark.parametrize("change", ["edit", "add", "remove"])
def test_an_edit_an_added_or_a_removed_file_is_named(tmp_path: Path, change: str) -> None:
    root = _tree(tmp_path)
    guard = CodeGuard([root])
    target = root / "sub" / ("c.py" if change == "add" else "b.py")
    if change == "edit":
        target.write_text("B = 3\n")  # same size: the mtime tells
        st = target.stat()
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    elif change == "add":
        target.write_text("C = 3\n")
    else:
        target.unlink()
    with pytest.raises(CodeChanged, match=str(target)):
        guard.check()


def test_the_fleet_checks_before_it_spawns(tmp_path: Path) -> None:
    root = _tree(tmp_path / "src")
    fleet = Fleet({}, tmp_path, print, CodeGuard([root]))
    (root / "a.py").write_text("A = 10\n")
    with pytest.raises(CodeChanged):
        fleet.start("w1")
    assert fleet.slots == {}  # nothing spawned


def test_the_guard_watches_the_packages_a_worker_imports() -> None:
    names = {p.name for p in package_roots()}
    assert names == {"streamproc", "producers"}
