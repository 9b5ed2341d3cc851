"""The soak's timetable, drawn from a seed: PURE (no I/O, no clock, no processes).

``build_schedule(seed, options)`` returns every timed action of one soak: the faults (kill -9
or SIGTERM a worker, start one, kill -9 a broker node and restart it a little later), the
report triggers and the bursts of public events, each at a number of seconds after the live
replay started. The same seed and options always give the same list, so a failing seed can
be run again (``streamproc soak --seed S``); the wall clock only decides how late each action
runs, never which one it is.

The schedule keeps a model of who is up, and only draws actions the model allows:

* at least one worker is up at all times, at most ``max_workers`` (a worker counts as down
  from the moment it is killed or told to stop);
* at most one broker node is down at a time, each killed node is restarted before the end,
  and the next broker kill waits ``broker_rest_s`` after a restart (the restarted node must
  catch up with its replicas before another may go, or ``acks=all`` writes would stall);
* triggers and HTTP bursts name a worker that is up in the model;
* everything happens within the duration, and faults stop ``calm_end_s`` before it so that
  the last one's effect (a rebalance, a takeover) has settled by the end.

:func:`timeline` replays the model over a schedule; the unit tests use it to check those
invariants for many seeds.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field

KILL_WORKER = "kill-worker"  # SIGKILL: a crash
STOP_WORKER = "stop-worker"  # SIGTERM: a deploy
START_WORKER = "start-worker"  # a new worker, or a stopped one again with its state dir
KILL_BROKER = "kill-broker"  # SIGKILL one node of the cluster
RESTART_BROKER = "restart-broker"
TRIGGER = "trigger"  # POST /trigger_report on a worker
BURST = "burst"  # public events: straight to the events topic, or POST /events
FAULTS = (KILL_WORKER, STOP_WORKER, START_WORKER, KILL_BROKER, RESTART_BROKER)
VIA_KAFKA, VIA_HTTP = "kafka", "http"
COUNTED = "observations_last_week"  # the optional column that counts every applied poll

# Relative weights of the faults, where the model allows them.
FAULT_WEIGHTS = {KILL_WORKER: 3, STOP_WORKER: 2, START_WORKER: 3, KILL_BROKER: 2}


@dataclass(frozen=True)
class Options:
    """What a schedule may contain; the defaults are the ones `streamproc soak` uses."""

    duration_s: float
    workers: int = 3  # up at the start
    max_workers: int = 4
    brokers: int = 3
    fault_gap_s: tuple[float, float] = (12.0, 24.0)  # between two faults
    report_gap_s: tuple[float, float] = (2.0, 5.0)  # between two triggers
    burst_gap_s: tuple[float, float] = (12.0, 25.0)  # between two bursts
    burst_events: tuple[int, int] = (100, 800)
    broker_down_s: tuple[float, float] = (4.0, 12.0)  # a killed node stays down this long
    broker_rest_s: float = 25.0  # no broker kill this soon after a restart
    calm_start_s: float = 8.0  # no fault before (the replay and the reports get going)
    calm_end_s: float = 25.0  # no fault after duration - this (the last one settles)
    pinned_share: float = 0.5  # triggers with as_of = what the broker acknowledged
    counted_share: float = 0.3  # triggers asking for the observations column too

    def __post_init__(self) -> None:
        if not 1 <= self.workers <= self.max_workers:
            raise ValueError("need 1 <= workers <= max_workers")
        if self.brokers < 3:
            raise ValueError("a broker node can only be killed safely with 3 or more nodes")
        if self.broker_down_s[1] >= self.calm_end_s:
            raise ValueError("calm_end_s must exceed the longest broker outage")


@dataclass(frozen=True)
class Action:
    """One thing to do ``at`` seconds after the live replay started."""

    at: float
    kind: str
    worker: str | None = None  # the worker acted on, or asked (trigger, HTTP burst)
    node: int | None = None  # broker node id (1-based)
    fresh: bool = False  # START_WORKER: a new worker (else a stopped one again)
    pinned: bool = False  # TRIGGER: as_of = the event time acknowledged before it
    columns: tuple[str, ...] = ()  # TRIGGER: optional columns
    via: str = ""  # BURST: VIA_KAFKA or VIA_HTTP
    events: int = 0  # BURST: how many events
    salt: int = 0  # seeds the action's own choices (which polls a burst repeats)

    def describe(self) -> str:
        """One line for the progress log."""
        text = {
            KILL_WORKER: f"kill -9 worker {self.worker}",
            STOP_WORKER: f"SIGTERM worker {self.worker}",
            START_WORKER: f"start worker {self.worker} "
                          f"({'new' if self.fresh else 'again, state dir kept'})",
            KILL_BROKER: f"kill -9 broker node {self.node}",
            RESTART_BROKER: f"restart broker node {self.node}",
            TRIGGER: f"trigger a report on {self.worker}"
                     f"{' (as_of pinned)' if self.pinned else ''}"
                     f"{' +' + ','.join(self.columns) if self.columns else ''}",
            BURST: f"burst of {self.events} events "
                   + ("to the events topic" if self.via == VIA_KAFKA
                      else f"via POST /events on {self.worker}"),
        }[self.kind]
        return text


@dataclass(frozen=True)
class Schedule:
    seed: int
    options: Options
    initial_workers: tuple[str, ...]
    actions: tuple[Action, ...]

    def count(self, kind: str) -> int:
        return sum(1 for a in self.actions if a.kind == kind)


@dataclass
class Up:
    """The model's state: the workers and broker nodes that are up."""

    workers: list[str]
    stopped: list[str] = field(default_factory=list)
    brokers_down: set[int] = field(default_factory=set)
    named: int = 0  # workers named so far (w1, w2, ...)

    def apply(self, action: Action) -> None:
        """Move the model on by one fault (other actions change nothing)."""
        if action.kind in (KILL_WORKER, STOP_WORKER):
            self.workers.remove(action.worker)
            self.stopped.append(action.worker)
        elif action.kind == START_WORKER:
            if action.worker in self.stopped:
                self.stopped.remove(action.worker)
            self.workers.append(action.worker)
            self.named = max(self.named, int(action.worker.lstrip("w")))
        elif action.kind == KILL_BROKER:
            self.brokers_down.add(action.node)
        elif action.kind == RESTART_BROKER:
            self.brokers_down.discard(action.node)


def initial_workers(options: Options) -> tuple[str, ...]:
    return tuple(f"w{i}" for i in range(1, options.workers + 1))


def timeline(schedule: Schedule) -> Iterator[tuple[Action, Up]]:
    """Each action with the model's state right after it (faults applied in order)."""
    up = Up(list(schedule.initial_workers), named=len(schedule.initial_workers))
    for action in schedule.actions:
        up.apply(action)
        yield action, up


def build_schedule(seed: int, options: Options) -> Schedule:
    """Every action of the soak of ``seed``, in time order (see the module docstring)."""
    faults = _faults(random.Random(f"{seed}:faults"), options)
    start = initial_workers(options)
    triggers = _triggers(random.Random(f"{seed}:reports"), options, start, faults)
    bursts = _bursts(random.Random(f"{seed}:bursts"), options, start, faults)
    ordered = sorted([*faults, *triggers, *bursts], key=lambda a: (a.at, a.kind not in FAULTS))
    return Schedule(seed, options, start, tuple(ordered))


def _faults(rng: random.Random, o: Options) -> list[Action]:
    """Faults every ``fault_gap_s``, each one the model allows at that moment."""
    up = Up(list(initial_workers(o)), named=o.workers)
    out: list[Action] = []
    unseen = rng.sample(sorted(FAULT_WEIGHTS), len(FAULT_WEIGHTS))
    broker_free_at, t = o.calm_start_s, o.calm_start_s
    while True:
        t += rng.uniform(*o.fault_gap_s)
        if t > o.duration_s - o.calm_end_s:
            return out
        kind = _pick_fault(rng, o, up, unseen, broker_ok=t >= broker_free_at)
        drawn = _fault(rng, o, up, kind, t)
        for action in drawn:
            up.apply(action)
        out += drawn
        if kind == KILL_BROKER:
            broker_free_at = drawn[-1].at + o.broker_rest_s


def _pick_fault(rng: random.Random, o: Options, up: Up, unseen: list[str],
                broker_ok: bool) -> str:
    """A kind not drawn yet if one is allowed (so that even a short soak has every kind,
    in an order of the seed's), else one at random by :data:`FAULT_WEIGHTS`."""
    allowed = {
        KILL_WORKER: len(up.workers) >= 2,
        STOP_WORKER: len(up.workers) >= 2,
        START_WORKER: len(up.workers) < o.max_workers,
        KILL_BROKER: broker_ok and not up.brokers_down,
    }
    kinds = [k for k, ok in allowed.items() if ok]
    for kind in unseen:
        if allowed[kind]:
            unseen.remove(kind)
            return kind
    return rng.choices(kinds, weights=[FAULT_WEIGHTS[k] for k in kinds])[0]


def _fault(rng: random.Random, o: Options, up: Up, kind: str, t: float) -> list[Action]:
    """The action(s) of one fault: a broker kill comes with its restart."""
    if kind in (KILL_WORKER, STOP_WORKER):
        return [Action(t, kind, worker=rng.choice(sorted(up.workers)))]
    if kind == START_WORKER:
        if up.stopped and rng.random() < 0.5:
            return [Action(t, kind, worker=rng.choice(sorted(up.stopped)))]
        return [Action(t, kind, worker=f"w{up.named + 1}", fresh=True)]
    node = rng.randint(1, o.brokers)
    back = t + rng.uniform(*o.broker_down_s)
    return [Action(t, KILL_BROKER, node=node), Action(back, RESTART_BROKER, node=node)]


class _UpAt:
    """Workers up in the model at any time ``t`` (faults at ``t`` or before applied)."""

    def __init__(self, start: tuple[str, ...], faults: list[Action]) -> None:
        up = Up(list(start), named=len(start))
        self.times: list[float] = [float("-inf")]
        self.states: list[list[str]] = [sorted(up.workers)]
        for action in sorted(faults, key=lambda a: a.at):
            up.apply(action)
            self.times.append(action.at)
            self.states.append(sorted(up.workers))

    def __call__(self, t: float) -> list[str]:
        return self.states[bisect_right(self.times, t) - 1]


def _triggers(rng: random.Random, o: Options, start: tuple[str, ...],
              faults: list[Action]) -> list[Action]:
    up_at, out, t = _UpAt(start, faults), [], 1.0
    while True:
        t += rng.uniform(*o.report_gap_s)
        if t >= o.duration_s:
            return out
        pinned = rng.random() < o.pinned_share
        columns = (COUNTED,) if rng.random() < o.counted_share else ()
        worker = rng.choice(up_at(t))
        out.append(Action(t, TRIGGER, worker=worker, pinned=pinned, columns=columns))


def _bursts(rng: random.Random, o: Options, start: tuple[str, ...],
            faults: list[Action]) -> list[Action]:
    up_at, out, t = _UpAt(start, faults), [], o.calm_start_s / 2
    while True:
        t += rng.uniform(*o.burst_gap_s)
        if t >= o.duration_s:
            return out
        via = rng.choice((VIA_KAFKA, VIA_HTTP))
        worker = rng.choice(up_at(t)) if via == VIA_HTTP else None
        out.append(Action(t, BURST, worker=worker, via=via,
                          events=rng.randint(*o.burst_events), salt=rng.getrandbits(32)))
