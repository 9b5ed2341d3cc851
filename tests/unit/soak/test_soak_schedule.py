"""The soak's seeded schedule (streamproc/soak/schedule.py): a seed names one run, and no
seed draws a schedule that breaks the soak's rules (never every worker down, never two
broker nodes down, every node restarted, everything inside the duration)."""

from __future__ import annotations

import functools

import pytest

from streamproc.soak.schedule import (
    BURST,
    FAULTS,
    KILL_BROKER,
    KILL_WORKER,
    RESTART_BROKER,
    START_WORKER,
    STOP_WORKER,
    TRIGGER,
    VIA_HTTP,
    Options,
    Schedule,
    build_schedule,
    timeline,
)

SEEDS = range(150)
DURATIONS = (180.0, 600.0, 1800.0)


@functools.cache
def drawn(seed: int, duration: float) -> Schedule:
    return build_schedule(seed, Options(duration_s=duration))


def test_same_seed_same_schedule() -> None:
    for duration in DURATIONS:
        options = Options(duration_s=duration)
        assert build_schedule(7, options) == build_schedule(7, options)


def test_other_seed_other_schedule() -> None:
    options = Options(duration_s=600.0)
    assert build_schedule(7, options).actions != build_schedule(8, options).actions


@pytest.mark.parametrize("duration", DURATIONS)
def test_never_every_worker_down_nor_too_many_up(duration: float) -> None:
    for seed in SEEDS:
        schedule = drawn(seed, duration)
        for action, up in timeline(schedule):
            assert 1 <= len(up.workers) <= schedule.options.max_workers, (seed, action)
            assert len(set(up.workers)) == len(up.workers), (seed, action)


@pytest.mark.parametrize("duration", DURATIONS)
def test_never_two_broker_nodes_down_and_each_comes_back(duration: float) -> None:
    for seed in SEEDS:
        schedule = drawn(seed, duration)
        for action, up in timeline(schedule):
            assert len(up.brokers_down) <= 1, (seed, action)
        assert not up.brokers_down, seed
        kills = [a for a in schedule.actions if a.kind == KILL_BROKER]
        restarts = [a for a in schedule.actions if a.kind == RESTART_BROKER]
        assert [a.node for a in kills] == [a.node for a in restarts], seed
        for kill, restart in zip(kills, restarts, strict=True):
            assert restart.at > kill.at, seed


@pytest.mark.parametrize("duration", DURATIONS)
def test_actions_within_the_duration_and_in_order(duration: float) -> None:
    for seed in SEEDS:
        schedule = drawn(seed, duration)
        times = [a.at for a in schedule.actions]
        assert times == sorted(times), seed
        assert all(0 <= t < duration for t in times), seed
        faults = [a for a in schedule.actions if a.kind in FAULTS]
        calm = (schedule.options.calm_start_s, duration - schedule.options.calm_end_s)
        assert all(calm[0] <= a.at <= calm[1] for a in faults if a.kind != RESTART_BROKER)


@pytest.mark.parametrize("duration", DURATIONS)
def test_actions_name_workers_that_are_up_or_down_as_they_should(duration: float) -> None:
    for seed in SEEDS:
        schedule = drawn(seed, duration)
        up = list(schedule.initial_workers)
        for action in schedule.actions:
            if action.kind in (KILL_WORKER, STOP_WORKER, TRIGGER) or (
                    action.kind == BURST and action.via == VIA_HTTP):
                assert action.worker in up, (seed, action)
            if action.kind == START_WORKER:
                assert action.worker not in up, (seed, action)
            if action.kind in (KILL_WORKER, STOP_WORKER):
                up.remove(action.worker)
            elif action.kind == START_WORKER:
                up.append(action.worker)


def test_broker_kills_rest_between_restart_and_next_kill() -> None:
    for seed in SEEDS:
        schedule = drawn(seed, 1800.0)
        brokers = [a for a in schedule.actions if a.kind in (KILL_BROKER, RESTART_BROKER)]
        for restart, kill in zip(brokers[1::2], brokers[2::2], strict=False):
            assert kill.at - restart.at >= schedule.options.broker_rest_s, seed


def test_a_three_minute_soak_injects_every_kind_of_fault() -> None:
    for seed in SEEDS:
        schedule = drawn(seed, 180.0)
        kinds = {a.kind for a in schedule.actions}
        assert {KILL_WORKER, STOP_WORKER, START_WORKER, KILL_BROKER} <= kinds, seed
        assert schedule.count(TRIGGER) >= 30 and schedule.count(BURST) >= 5, seed


def test_started_workers_are_new_or_stopped_before() -> None:
    for seed in SEEDS:
        schedule = drawn(seed, 1800.0)
        gone: set[str] = set()
        for action in schedule.actions:
            if action.kind in (KILL_WORKER, STOP_WORKER):
                gone.add(action.worker)
            if action.kind == START_WORKER:
                assert action.fresh != (action.worker in gone), (seed, action)


def test_options_refuse_what_the_soak_cannot_do_safely() -> None:
    with pytest.raises(ValueError):
        Options(duration_s=60.0, brokers=1)
    with pytest.raises(ValueError):
        Options(duration_s=60.0, workers=5, max_workers=4)
