"""The code a soak's workers run must not change while it runs.

Each worker the schedule starts is a new ``python -m streamproc worker``: it imports the
source files as they are on disk at that moment. Editing the checkout during a soak (a test
run, a fix being tried) makes later workers run other code than the earlier ones, and the
table then judges a mix of versions. It happened: a 30-minute soak counted 45 wrong reports,
every one from workers started while the core was being edited. So the soak fingerprints the
sources when it starts and refuses to start a worker once they differ, naming the files.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import producers
import streamproc

Fingerprint = dict[str, tuple[int, int]]  # path -> (mtime ns, size)


class CodeChanged(RuntimeError):
    """The sources changed since the soak started; no worker of this run may start now."""


def package_roots() -> list[Path]:
    """The directories of the packages a worker imports."""
    return [Path(streamproc.__file__).parent, Path(producers.__file__).parent]


def fingerprint(roots: Iterable[Path]) -> Fingerprint:
    """Modification time and size of every Python source under ``roots`` (stat only)."""
    found: Fingerprint = {}
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            st = path.stat()
            found[str(path)] = (st.st_mtime_ns, st.st_size)
    return found


def changed_files(before: Fingerprint, now: Fingerprint) -> list[str]:
    """Sources added, removed or modified between two fingerprints."""
    return sorted(p for p in before.keys() | now.keys() if before.get(p) != now.get(p))


class CodeGuard:
    """Taken when the soak starts; :meth:`check` before each worker start."""

    def __init__(self, roots: Iterable[Path] | None = None) -> None:
        self.roots = list(package_roots() if roots is None else roots)
        self.taken = fingerprint(self.roots)

    def check(self) -> None:
        changed = changed_files(self.taken, fingerprint(self.roots))
        if changed:
            shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5
                                              else "")
            raise CodeChanged(
                f"the worker code changed since the soak started ({shown}): a worker started "
                "now would run other code than the earlier ones. Run the soak from a checkout "
                "nobody edits meanwhile (for example `git worktree add`).")
