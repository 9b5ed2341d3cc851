"""What one soak found: the figures of its table and the verdict (see ``table``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from streamproc.soak.actions import Tally
from streamproc.soak.reports import COMPLETE, LOST, RUNNING, Tracked
from streamproc.soak.restore_check import RestoreCheck
from streamproc.soak.schedule import Schedule


@dataclass
class FinalCheck:
    """The end state, everything replayed and every worker settled, against the batch."""

    counted_equal: bool = False  # the report with observations_last_week, byte for byte
    default_equal: bool = False  # the contract's seven columns, byte for byte
    snapshots: dict[str, bool] = field(default_factory=dict)  # /snapshot.csv per worker
    lacking: int = 0  # observations the counted report lacks (polls never applied)
    differing: int = 0  # stores whose observation count differs
    oracle_equal: bool = False  # the soak's in-process batch = `streamproc report`'s output
    restore: RestoreCheck | None = None  # what the changelog alone restores (a takeover)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (self.counted_equal and self.default_equal and all(self.snapshots.values())
                and bool(self.snapshots) and self.oracle_equal and not self.problems
                and self.restore is not None and self.restore.ok)

    @property
    def wrong(self) -> int:
        """Final reports or snapshots that differ from the batch report."""
        return ((not self.counted_equal) + (not self.default_equal)
                + sum(not v for v in self.snapshots.values()))


@dataclass
class SoakResult:
    seed: int
    minutes: float
    stores: int
    days: int
    run_dir: Path
    schedule: Schedule
    speed: float = 0.0
    tally: Tally | None = None
    reports: list[Tracked] = field(default_factory=list)
    coalesced: int = 0
    unaccepted: list[str] = field(default_factory=list)
    polls: int = 0  # in the data set
    polls_sent: int = 0  # by the live replay
    slices_resent: int = 0
    final: FinalCheck | None = None
    unexpected_exits: list[str] = field(default_factory=list)
    slow_stops: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # per phase
    # what the workers' consumers caught and mended (faust_compat/consumer.py), from their logs
    caught: dict[str, int] = field(default_factory=dict)

    def complete(self, pinned: bool, exact: bool | None = None) -> int:
        return sum(1 for t in self.reports if t.status == COMPLETE and t.pinned == pinned
                   and t.verdict is not None and t.verdict.ok
                   and (exact is None or t.verdict.exact == exact))

    @property
    def wrong_reports(self) -> list[Tracked]:
        """Complete but not what the batch says, or Failed for another reason than the
        stated bound."""
        return [t for t in self.reports
                if (t.status == COMPLETE and not (t.verdict and t.verdict.ok))
                or (t.status not in (COMPLETE, RUNNING, LOST) and not t.allowed_failure)]

    @property
    def allowed_failures(self) -> int:
        return sum(1 for t in self.reports if t.allowed_failure)

    @property
    def stuck(self) -> list[Tracked]:
        return [t for t in self.reports if t.status == RUNNING]

    @property
    def lost(self) -> int:
        """Observations missing at the end, plus reports whose id was forgotten."""
        lacking = self.final.lacking if self.final else 0
        return lacking + sum(1 for t in self.reports if t.status == LOST)

    @property
    def wrong(self) -> int:
        return len(self.wrong_reports) + (self.final.wrong if self.final else 0)

    @property
    def ok(self) -> bool:
        return (self.final is not None and self.final.ok and self.lost == 0
                and self.wrong == 0 and not self.stuck and not self.unexpected_exits
                and not self.unaccepted and not self.errors)

    def problems(self) -> list[str]:
        """Why the soak failed, one line each (empty when it passed)."""
        out = [f"report {t.report_id}: {t.status} {t.error or (t.verdict and t.verdict.detail)}"
               for t in self.wrong_reports]
        out += [f"report {t.report_id}: still Running" for t in self.stuck]
        out += [f"report {t.report_id}: {t.error}" for t in self.reports if t.status == LOST]
        out += [e.splitlines()[0] for e in self.unexpected_exits]
        out += self.unaccepted + self.errors
        if self.final is None:
            out.append("the final check did not run")
        else:
            out += self.final.problems
        return out
