"""Step 1: a week replayed into the main worker, end to end, beside the pure core applying
the same messages in this process (:mod:`bench.core_rate`)."""

from __future__ import annotations

from dataclasses import dataclass

from bench import core_rate, harness
from bench.context import BenchContext, MainWorker
from bench.profiling import write_worker_profile
from bench.replaying import ReplayRun, replay_and_wait
from bench.table import DASH, Findings, Row, fmt_rate, judged

E2E_TARGET = 100_000  # polls/s, issue 15 (issue 8 asked for 50,000)
E2E_CORE_RATIO = 0.5  # end to end ÷ the pure core's apply rate (issue 15)
FIRST_POLL_TARGET_S = 1.0


@dataclass(frozen=True)
class Week1:
    """What later steps compare with: the first week's polls, rate and peak RSS."""

    sent: int
    rate: float
    hwm: int  # bytes


def step_end_to_end(ctx: BenchContext, main: MainWorker) -> tuple[Findings, Week1]:
    ctx.log("end to end (replay of the week) ...")
    raw_profile = ctx.tmp / "profile.raw" if ctx.options.profile else None
    before = harness.polls_applied(main.process)
    run = replay_and_wait(main, ctx.data.polls, ctx.data, before, raw_profile)
    load = harness.loadavg()
    hwm = harness.proc_status_kib(main.process.pid, "VmHWM") * 1024
    ctx.log("the pure core applying the same week in this process ...")
    core = core_rate.week_core(ctx.data.polls, ctx.data.hours, ctx.data.timezones)
    found = Findings(_rows(run, core, load))
    shares: dict[str, float] = {}
    if raw_profile is not None:
        notes, shares = write_worker_profile(raw_profile, run.sent, run.e2e_s, run.profile_err)
        found.notes += notes
    if run.rate / core.polls_per_s < E2E_CORE_RATIO:
        found.notes.append(_core_ratio_note(run, core, load, shares))
    return found, Week1(run.sent, run.rate, hwm)


def _rows(run: ReplayRun, core: core_rate.CoreRun, load: str) -> list[Row]:
    ratio = run.rate / core.polls_per_s
    window = run.e2e_s - run.first_applied_s
    return [
        Row("producer rate (`streamproc replay`, default settings)",
            f"{fmt_rate(run.sent / run.replay_s)} ({run.sent:,} polls in {run.replay_s:.1f} s)"),
        judged("end to end: replay start → all polls applied and caught up",
               f"{fmt_rate(run.rate)} ({run.e2e_s:.1f} s; end-offset wait "
               f"{run.catchup_wait_s * 1000:.0f} ms)",
               f"≥ {E2E_TARGET:,} polls/s", DASH, run.rate >= E2E_TARGET),
        judged("end to end ÷ the pure core applying the same messages (this process)",
               f"{ratio:.3f}", f"≥ {E2E_CORE_RATIO}",
               f"core {fmt_rate(core.polls_per_s)} ({core.messages:,} msgs in "
               f"{core.seconds:.2f} s, no parsing, no Kafka)", ratio >= E2E_CORE_RATIO),
        judged("worker apply window: first poll applied → all applied and caught up",
               f"{window:.1f} s = {fmt_rate(run.sent / window)} (first poll applied "
               f"{run.first_applied_s:.1f} s after the replay started)",
               f"first poll ≤ {FIRST_POLL_TARGET_S:g} s", DASH,
               run.first_applied_s <= FIRST_POLL_TARGET_S),
        Row("worker CPU during end to end",
            f"{run.cpu_s:.1f} s CPU in {run.e2e_s:.1f} s wall "
            f"({100 * run.cpu_s / run.e2e_s:.0f}% of one core); load avg {load}"),
    ]


def _core_ratio_note(run: ReplayRun, core: core_rate.CoreRun, load: str,
                     shares: dict[str, float]) -> str:
    """Why end to end ÷ core is missed: the replay shares the CPUs with the worker."""
    where = ""
    if shares:
        where = (" In the profile (inclusive share of samples): applying polls "
                 f"{shares['apply_polls']:.0f}%, sending produce requests "
                 f"{shares['produce']:.0f}%.")
    return (
        f"**End to end ÷ core is missed** ({run.rate / core.polls_per_s:.2f}; load average "
        f"{load}): the core merges each store's ~{core.polls / core.messages:.0f} polls of "
        f"a message in one step ({fmt_rate(core.polls_per_s)}), while the end-to-end clock "
        f"also holds `streamproc replay` parsing the CSV ({fmt_rate(run.sent / run.replay_s)}"
        f" including its sends) on the same CPUs as the broker and the worker; the replay "
        f"alone is {run.replay_s:.1f} s of the {run.e2e_s:.1f} s." + where)
