"""Where the table of a `streamproc bench` run goes: stdout, the ``--out`` file (by default
``bench/results.md``) and, with ``--update-readme``, the README's performance section.

``bench/results.md`` is also kept by hand (past runs, the figures before issue 15): the bench
rewrites only its ``## Latest run`` section and leaves the rest as it was.
"""

from __future__ import annotations

from pathlib import Path

from bench import ROOT, harness

RESULTS_TITLE = "# streamproc bench\n"
RESULTS_SECTION = "## Latest run"
README = ROOT / "README.md"
README_SECTION = "## Performance"


def write_results(out: Path, table: str) -> None:
    """``table`` as the ``## Latest run`` section of ``out`` (created when missing)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    text = out.read_text() if out.is_file() else RESULTS_TITLE
    out.write_text(harness.replace_section(text, RESULTS_SECTION, table))


def update_readme(table: str, quick: bool, out: Path, readme: Path = README) -> None:
    readme.write_text(harness.replace_section(readme.read_text(), README_SECTION,
                                              readme_body(table, quick, out)))


def readme_body(table: str, quick: bool, out: Path) -> str:
    """The README's performance section: how to reproduce, then the table. Past figures stay
    out of it (they are in ``bench/results.md``): this text is rewritten on every update."""
    kind = "`streamproc bench --quick`" if quick else "`streamproc bench`"
    return (
        "`streamproc bench` starts the broker if needed and one isolated worker, replays a week "
        "(../shared/data, else a generated set of the same size), and measures every figure "
        "beside its baseline in the same run (`--quick`: a small generated set; `--profile` "
        "needs `pip install -e '.[bench]'` for py-spy). "
        "The machine is shared with other test runs, so figures move from run to run (past "
        "runs, and the figures before issue 15: `bench/results.md`); read each figure beside "
        "its baseline from the same run. "
        f"Latest {kind} on this machine (also in `{_relative(out)}`):\n\n" + table)


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)
