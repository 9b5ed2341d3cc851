"""The results table of `streamproc bench`: what a step returns (:class:`Row`,
:class:`Findings`), the run's :class:`Report`, and its Markdown.

The columns (figure, value, target, baseline, verdict) are what readers of the README and of
``bench/results.md`` compare run after run: keep them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

DASH = "—"
MiB = 1024 * 1024
GiB = 1024 * MiB
FACTS = ("date", "machine", "load", "data", "commit", "duration")  # in this order


@dataclass(frozen=True)
class Row:
    """One figure of the table; ``baseline`` is measured in the same run where there is one,
    so that a busy machine moves both."""

    figure: str
    value: str
    target: str = DASH
    baseline: str = DASH
    verdict: str = DASH

    def line(self) -> str:
        """The row as the bench prints it while it runs."""
        return f"  {self.figure}: {self.value}  [{self.target}] {self.baseline} {self.verdict}"

    def cells(self) -> str:
        cells = (self.figure, self.value, self.target, self.baseline, self.verdict)
        return "| " + " | ".join(cells) + " |"


def judged(figure: str, value: str, target: str, baseline: str, ok: bool | None) -> Row:
    """A row with its verdict against ``target`` (None: nothing to judge)."""
    verdict = DASH if ok is None else ("met" if ok else "**missed**")
    return Row(figure, value, target, baseline, verdict)


@dataclass
class Findings:
    """What one step measured: its rows, and notes (under the table) on why a target was
    missed or where a figure comes from."""

    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Report:
    """The whole run: facts about the machine and the data, then every step's findings."""

    facts: dict[str, str] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, findings: Findings) -> None:
        self.rows.extend(findings.rows)
        self.notes.extend(findings.notes)


def markdown(report: Report) -> str:
    """Facts, the table, then the notes."""
    out = [f"* **{key}**: {report.facts[key]}" for key in FACTS if key in report.facts]
    out += ["", "| figure | value | target | baseline | verdict |", "|---|---|---|---|---|"]
    out += [row.cells() for row in report.rows]
    if report.notes:
        out.append("")
        out.extend(f"* {note}" for note in report.notes)
    return "\n".join(out) + "\n"


def fmt_rate(x: float) -> str:
    return f"{x:,.0f} polls/s"


def fmt_s(x: float) -> str:
    if math.isnan(x):
        return "n/a"
    return f"{x * 1000:.0f} ms" if x < 1 else f"{x:.2f} s"


def fmt_bytes(n: float) -> str:
    return f"{n / MiB:,.0f} MiB"
