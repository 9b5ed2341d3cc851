"""A broker node and a worker SIGKILLed during one paced replay, on a 3-node cluster.

A private 3-node cluster (replication factor 3, ``min.insync.replicas=2``) and three workers
of one pipeline sharing the partitions. While a paced replay of the standard data set runs,
the broker node that coordinates the workers' consumer group is killed with SIGKILL, and a
few seconds later one of the three workers. The replay must finish (its writes, ``acks=all``,
go on with two in-sync replicas), the two surviving workers take the dead one's partitions
over, and a report triggered on one survivor and read on the other must equal the batch
command's report byte for byte (nothing lost, nothing counted twice); so must each
survivor's snapshot.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from streamproc import localkafka as broker
from streamproc.sandbox import WorkerProcess, isolated_env, wait_for
from streamproc.sandbox.http import JSON, request
from tests.support.broker_fixture import PrivateCluster, private_cluster
from tests.support.data import batch_report, replay_args
from tests.support.reliability import (
    FAST_FAILOVER,
    Background,
    first_diff,
    owned_partitions,
    snapshot,
)
from tests.support.worker_fixture import started_peers, wait_split

# 8 event days at 4 event hours per second: a replay of ~48 s, so both kills and the
# takeover that follows them happen while it runs.
SPEED = "14400"
BROKER_KILL_AT = 8.0  # seconds into the replay
WORKER_KILL_AFTER = 4.0  # seconds after the broker kill
COUNTED = "observations_last_week"  # an optional report column: in-hours polls per store
# Reports triggered at most: a Failed one (the worker gave up on a consistent snapshot) is
# printed and triggered again; the first Complete one must equal the batch report.
REPORT_TRIES = 3


@dataclass
class Timeline:
    """Monotonic times of the scenario's events, printed relative to the replay's start."""

    replay_started: float
    marks: dict[str, float] = field(default_factory=dict)

    def mark(self, event: str) -> float:
        self.marks[event] = time.monotonic()
        return self.marks[event]

    def since(self, event: str, until: str | None = None) -> float:
        end = self.marks[until] if until else time.monotonic()
        return end - self.marks[event]

    def at(self, event: str) -> float:
        return self.marks[event] - self.replay_started


async def _admin_call(bootstrap: str, call):
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        return await call(admin)
    finally:
        await admin.close()


def _replicas(bootstrap: str, prefixes: tuple[str, ...]) -> dict[str, set[int]]:
    """Replica counts of the partitions of every topic whose name starts with a prefix."""

    async def describe(admin: AIOKafkaAdminClient) -> dict[str, set[int]]:
        names = [t for t in await admin.list_topics() if t.startswith(prefixes)]
        return {d["topic"]: {len(p["replicas"]) for p in d["partitions"]}
                for d in await admin.describe_topics(names)}

    return asyncio.run(_admin_call(bootstrap, describe))


def _coordinator(bootstrap: str, group: str) -> int:
    """The broker node coordinating a consumer group."""
    return asyncio.run(_admin_call(bootstrap, lambda admin: admin.find_coordinator(group)))


def _taken_over(handles: list[WorkerProcess], partitions: int) -> list[list[int]] | None:
    """Each worker's polls partitions once they hold every one exactly once between them."""
    owned = [owned_partitions(h) for h in handles]
    flat = sorted(p for o in owned for p in o)
    return owned if all(owned) and flat == list(range(partitions)) else None


def _trigger(base: str, body: bytes = b"{}") -> str:
    """``POST /trigger_report`` on one worker, retried while the group rebalances (503)."""
    answers: list[str] = []

    def once() -> str | None:
        status, _, answer = request(base, "/trigger_report", "POST", body, JSON, timeout=30)
        if status == 200:
            return json.loads(answer)["report_id"]
        answers.append(f"{status} {answer[:200]!r}")
        assert status == 503, answers[-1]
        return None

    try:
        return wait_for(once, 120, "a report to be accepted", every=0.5)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last answers: {answers[-3:]}") from None


def _finished(base: str, report_id: str) -> tuple[str, bytes]:
    """(status, body) of a report once it is Complete or Failed, read on one worker; 503
    (partitions moving) is retried, any other error fails."""

    def done() -> tuple[str, bytes] | None:
        status, headers, body = request(base, f"/get_report/{report_id}", timeout=30)
        if status == 503:
            return None
        assert status == 200, f"get_report {report_id} answered {status}: {body[:300]!r}"
        state = headers.get("X-Report-Status")
        return (state, body) if state in ("Complete", "Failed") else None

    return wait_for(done, 180, f"report {report_id} to finish", every=0.5)


def _report_through(trigger_on: WorkerProcess, read_on: WorkerProcess, say,
                    body: bytes = b"{}") -> str:
    """A Complete report triggered on one worker and read on the other; a Failed one (it
    says why) is reported and triggered again, up to REPORT_TRIES."""
    for attempt in range(1, REPORT_TRIES + 1):
        report_id = _trigger(trigger_on.base_url, body)
        state, answer = _finished(read_on.base_url, report_id)
        if state == "Complete":
            return answer.decode()
        say(f"report {attempt} ({report_id}) Failed: {json.loads(answer).get('error')}")
    raise AssertionError(f"no Complete report in {REPORT_TRIES} tries")


def _check_replicated(cluster: PrivateCluster, env: dict[str, str]) -> dict[str, set[int]]:
    """Every topic of the pipeline (inputs, outputs, changelogs, Faust's own) has 3 copies."""
    tag = env["STREAMPROC_TOPIC_POLLS"].removeprefix("polls-")
    copies = _replicas(cluster.bootstrap, (env["STREAMPROC_APP_ID"],)
                       + tuple(f"{kind}-{tag}" for kind in
                               ("polls", "hours", "tz", "dlq", "outages", "reports")))
    assert len(copies) >= 6 and all(c == {3} for c in copies.values()), copies
    return copies


def _kill_during_replay(cluster: PrivateCluster, workers: list[WorkerProcess],
                        replay: Background, say) -> tuple[Timeline, int]:
    """SIGKILL the node coordinating the group BROKER_KILL_AT s into the replay, then worker
    a WORKER_KILL_AFTER s later; the timeline and the node killed."""
    timeline = Timeline(replay.started)
    group = workers[0].env["STREAMPROC_APP_ID"]
    victim = _coordinator(cluster.bootstrap, group)
    quorum = broker.describe_quorum(cluster.bootstrap)
    time.sleep(max(0.0, replay.started + BROKER_KILL_AT - time.monotonic()))
    assert replay.running(), f"the replay ended before the broker kill:\n{replay.output()}"
    pid = cluster.kill_node(victim)
    timeline.mark("broker killed")
    say(f"node {victim} (coordinator of the consumer group; active controller: "
        f"{quorum.leader_id if quorum else '?'}) SIGKILLed (pid {pid}) "
        f"{timeline.at('broker killed'):.1f}s into the replay")
    time.sleep(WORKER_KILL_AFTER)
    assert replay.running(), f"the replay ended before the worker kill:\n{replay.output()}"
    applied = workers[0].health()["polls_applied"]
    workers[0].kill()
    timeline.mark("worker killed")
    say(f"worker a SIGKILLed {timeline.at('worker killed'):.1f}s into the replay "
        f"({applied} polls applied by it)")
    assert broker.node_pid(cluster.settings, victim) is None
    return timeline, victim


def _await_takeover(survivors: list[WorkerProcess], partitions: int, timeline: Timeline,
                    replay: Background, say) -> None:
    """The survivors hold every polls partition exactly once between them; then the replay
    ends successfully."""
    owned = wait_for(lambda: _taken_over(survivors, partitions), 150,
                     "the survivors to take every partition over", every=0.5)
    timeline.mark("taken over")
    say(f"survivors b, c own polls partitions {owned[0]} / {owned[1]} "
        f"{timeline.since('worker killed', 'taken over'):.1f}s after the worker kill "
        f"(replay running: {replay.running()})")
    code = replay.wait(240)
    timeline.mark("replay done")
    assert code == 0, f"the replay failed ({code}):\n{replay.output()[-3000:]}"
    say(f"replay finished with 0 after {timeline.at('replay done'):.1f}s "
        f"({timeline.since('broker killed', 'replay done'):.1f}s after the broker kill)")


def _check_reports(survivors: list[WorkerProcess], expected: str, timeline: Timeline,
                   say) -> None:
    """A report triggered on b and read on c, then each survivor's snapshot: all equal to
    the batch report."""
    b, c = survivors
    report = _report_through(b, c, say)
    timeline.mark("report")
    say(f"report (trigger on b, read on c) {len(report.splitlines()) - 1} stores, "
        f"{timeline.since('replay done', 'report'):.1f}s after the replay ended; "
        f"worker kill -> report correct {timeline.since('worker killed', 'report'):.1f}s, "
        f"broker kill -> report correct {timeline.since('broker killed', 'report'):.1f}s; "
        f"equal to batch: {report == expected}")
    assert report == expected, first_diff(report, expected)
    for name, handle in (("b", b), ("c", c)):
        text = snapshot(handle)
        assert text == expected, (name, first_diff(text, expected))
    applied = [h.health()["polls_applied"] for h in survivors]
    say(f"snapshots of b and c equal to batch ({timeline.since('report'):.1f}s after the "
        f"report); polls "
        f"applied by b, c in their lives: {applied}")


def _check_every_poll_counted(survivors: list[WorkerProcess], counted: str, say) -> None:
    """The report with each store's observation counts equals the batch's: a lost poll
    inside business hours shows here even when it changes no uptime figure (a lost active
    poll between two active ones does not)."""
    report = _report_through(*survivors, say, body=json.dumps({"columns": [COUNTED]}).encode())
    rows = [line.rsplit(",", 1)[1] for line in counted.splitlines()[1:]]
    say(f"report with {COUNTED}: {sum(int(n) for n in rows)} observations of "
        f"{len(rows)} stores; equal to batch: {report == counted}")
    assert report == counted, first_diff(report, counted)


@pytest.mark.timeout(400)
def test_broker_node_and_worker_killed_during_one_replay(dataset, expected, tmp_path, say):
    counted = batch_report(dataset, tmp_path / "counted.csv", "--columns", COUNTED)
    with private_cluster(tmp_path) as cluster:
        say(f"3-node cluster started in {cluster.start_seconds:.1f}s at {cluster.bootstrap}")
        env = isolated_env(cluster.bootstrap, tmp_path / "unused", **FAST_FAILOVER,
                           STREAMPROC_REPLICATION=cluster.env["STREAMPROC_REPLICATION"])
        partitions = int(env.get("STREAMPROC_PARTITIONS", "8"))
        with started_peers(env, tmp_path, "abc") as workers:
            split = wait_split(workers, 120)
            copies = _check_replicated(cluster, env)
            say(f"workers a, b, c share the partitions (assigned {split}); "
                f"{len(copies)} topics of the pipeline, each with 3 replicas")
            replay = Background(env, replay_args(dataset, None, "--speed", SPEED),
                                tmp_path / "replay.log")
            try:
                timeline, _ = _kill_during_replay(cluster, workers, replay, say)
                _await_takeover(workers[1:], partitions, timeline, replay, say)
                _check_reports(workers[1:], expected, timeline, say)
                _check_every_poll_counted(workers[1:], counted, say)
            except BaseException:
                for name, handle in zip("abc", workers, strict=True):
                    print(f"--- worker {name} ({handle.log_path}):\n{handle.tail(60)}")
                print(f"--- replay:\n{replay.output()[-2000:]}")
                raise
            finally:
                replay.stop()
