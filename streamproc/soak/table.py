"""The table a soak prints at its end: what was injected, what was checked, what was found."""

from __future__ import annotations

from streamproc.soak.outcome import SoakResult
from streamproc.soak.schedule import (
    KILL_BROKER,
    KILL_WORKER,
    RESTART_BROKER,
    START_WORKER,
    STOP_WORKER,
    VIA_HTTP,
    VIA_KAFKA,
)

WIDTH = 44

FAULT_LABELS = ((KILL_WORKER, "worker kill -9"), (STOP_WORKER, "worker SIGTERM"),
                (START_WORKER, "worker started"), (KILL_BROKER, "broker node kill -9"),
                (RESTART_BROKER, "broker node restarted"))


def _row(label: str, value: object, note: str = "") -> str:
    text = f"{value:,}" if isinstance(value, int) else str(value)
    return f"  {label:<{WIDTH - len(text)}}{text}" + (f"   {note}" if note else "")


def replay_command(r: SoakResult) -> str:
    return (f"streamproc soak --seed {r.seed} --minutes {r.minutes:g} --stores {r.stores} "
            f"--days {r.days}")


def render(r: SoakResult) -> str:
    """The whole table, with the verdict and, on failure, why and how to replay it."""
    lines = [f"soak seed {r.seed}: {r.minutes:g} min; {r.stores} stores x {r.days} days of "
             f"polls replayed live at x{r.speed:,.0f}; 3 broker nodes, replication 3",
             f"run directory: {r.run_dir}",
             "  " + "-" * WIDTH, _row("faults injected", sum(
                 r.tally.done[k] for k, _ in FAULT_LABELS) if r.tally else 0)]
    lines += _faults(r) + _reports(r) + _data(r)
    lines += ["  " + "-" * WIDTH, _row("lost", r.lost), _row("wrong", r.wrong),
              _row("stuck (Running at the end)", len(r.stuck)),
              _row("unexpected worker exits", len(r.unexpected_exits)),
              _row("SIGTERM not obeyed in 30 s (SIGKILLed)", len(r.slow_stops)),
              "  " + "-" * WIDTH]
    lines += [_row(label, n) for label, n in r.caught.items()]
    lines += _final(r)
    phases = ", ".join(f"{k} {v:.0f}s" for k, v in r.seconds.items())
    lines.append(f"phases: {phases}")
    if r.ok:
        lines.append(f"result: OK (replay this run: {replay_command(r)})")
    else:
        lines.append(f"result: FAILED, seed {r.seed}; replay it: {replay_command(r)}")
        lines += [f"  - {p}" for p in r.problems()[:20]]
    return "\n".join(lines)


def _faults(r: SoakResult) -> list[str]:
    done = r.tally.done if r.tally else {}
    scheduled = {k: r.schedule.count(k) for k, _ in FAULT_LABELS}
    out = []
    for kind, label in FAULT_LABELS:
        note = "" if done.get(kind, 0) == scheduled[kind] else f"({scheduled[kind]} scheduled)"
        out.append(_row("  " + label, done.get(kind, 0), note))
    return out


def _reports(r: SoakResult) -> list[str]:
    checked = sum(1 for t in r.reports if t.status != "Running")
    return [_row("reports checked", checked, f"({len(r.reports)} triggered, "
                 f"{r.coalesced} triggers coalesced)"),
            _row("  pinned as_of, equal to batch", r.complete(True)),
            _row("  at watermark, equal to batch", r.complete(False, exact=True)),
            _row("  at watermark, equal at a cut", r.complete(False, exact=False)),
            _row("  Failed with the stated bound", r.allowed_failures)]


def _data(r: SoakResult) -> list[str]:
    t = r.tally
    events = (t.events[VIA_KAFKA] + t.events[VIA_HTTP]) if t else 0
    note = (f"({t.events[VIA_KAFKA]:,} to the topic in {t.bursts[VIA_KAFKA]} bursts, "
            f"{t.events[VIA_HTTP]:,} via POST /events in {t.bursts[VIA_HTTP]})") if t else ""
    return [_row("polls", r.polls, f"({r.polls_sent:,} sent live, {r.slices_resent} slices "
                 "sent again)"),
            _row("events (repeats of the data)", events, note)]


def _final(r: SoakResult) -> list[str]:
    f = r.final
    if f is None:
        return ["final check: not reached"]
    yes = {True: "yes", False: "NO"}
    snaps = " ".join(f"{n}:{yes[v]}" for n, v in f.snapshots.items()) or "none"
    restore = ("not read" if f.restore is None else
               f"{yes[f.restore.ok]} ({f.restore.missing} polls missing, {f.restore.extra} extra)")
    return [f"final report = batch, byte for byte: 7 columns {yes[f.default_equal]}, "
            f"+observations_last_week {yes[f.counted_equal]} ({f.lacking} observations "
            f"lacking); /snapshot.csv = batch: {snaps}",
            f"the store-state changelog alone restores every poll of the last 8 days: {restore}"]
