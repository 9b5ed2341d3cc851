"""Every private Faust / aiokafka API the worker uses still exists in the installed versions.

If this fails after an upgrade, the named attribute moved or went: adapt
``streamproc/worker/faust_compat/`` (the only package that touches them; each module lists
the names it relies on).
"""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path
from types import SimpleNamespace

import faust
import pytest
from aiokafka.errors import NodeNotReadyError
from faust.stores import rocksdb as faust_rocksdb
from faust.transport.drivers import aiokafka as faust_kafka
from faust.types import TP
from mode.utils.queues import FlowControlEvent

from streamproc.kafka.holes import Expected
from streamproc.worker import faust_compat
from streamproc.worker.faust_compat import transport as compat_transport
from streamproc.worker.faust_compat.transport import install_transport

ROOT = Path(__file__).resolve().parents[3]
COMPAT = ROOT / "streamproc" / "worker" / "faust_compat"
COMPAT_TESTS = {"test_faust_compat.py", "test_transport.py"}


def _in_compat(path: Path) -> bool:
    return path.is_relative_to(COMPAT) or path.name in COMPAT_TESTS


@pytest.mark.parametrize(
    ("owner", "name"), faust_compat.PRIVATE_APIS,
    ids=[f"{o.__name__}.{n}" for o, n in faust_compat.PRIVATE_APIS],
)
def test_private_api_exists(owner: object, name: str) -> None:
    assert hasattr(owner, name), f"{owner!r} has no {name}: see streamproc/worker/faust_compat/"


def _built_app():
    """A Faust app with streamproc's transport, never started (no broker needed)."""
    import faust

    app = faust.App("canary", broker="kafka://127.0.0.1:1", web_enabled=True)
    faust_compat.install_transport(app)
    return app


@pytest.mark.parametrize(("path", "name"), faust_compat.APP_ATTRIBUTES,
                         ids=[f"{p}.{n}" for p, n in faust_compat.APP_ATTRIBUTES])
def test_attributes_faust_sets_at_run_time_still_exist(path: str, name: str) -> None:
    async def look() -> bool:
        owner = _built_app()
        for part in path.split("."):
            owner = getattr(owner, part)
        return hasattr(owner, name)

    assert asyncio.run(look()), f"app.{path} has no {name}: see streamproc/worker/faust_compat/"


def test_every_module_of_the_package_lists_its_private_names() -> None:
    import pkgutil

    names = {m.name for m in pkgutil.iter_modules(faust_compat.__path__)}
    listed = {m.__name__.rsplit(".", 1)[1] for m in faust_compat.MODULES}
    assert names == listed
    for module in faust_compat.MODULES:
        assert isinstance(module.PRIVATE_APIS, tuple) and isinstance(module.APP_ATTRIBUTES, tuple)


def test_the_rewinding_consumer_still_overrides_faust() -> None:
    ours = faust_compat.RewindingConsumer._new_consumer_thread
    assert ours is not faust_kafka.Consumer._new_consumer_thread


def test_faust_still_builds_its_worker_consumer_through_the_overridden_method() -> None:
    """Without this call the override that sets the fetch wait would silently do nothing,
    and Faust's 1.5 s broker-side wait would be back."""
    import inspect

    thread = faust_kafka.AIOKafkaConsumerThread
    assert "self._create_worker_consumer(" in inspect.getsource(thread._create_consumer)
    assert (faust_compat.RewindingConsumerThread._create_worker_consumer
            is not thread._create_worker_consumer)


def test_the_fetch_loops_suspension_wait_is_told_apart_by_its_type() -> None:
    from streamproc.worker.faust_compat.consumer import _is_delivery

    async def run() -> list[bool]:
        async def deliver() -> None:
            return None

        ours, other = faust_compat.FlowSuspension(), asyncio.Event()
        pairs = [(deliver(), ours.wait()), (deliver(), other.wait())]
        pairs.append((deliver(), ours.wait()))
        verdicts = [_is_delivery(pairs[0], None), _is_delivery(pairs[1], None),
                    _is_delivery(pairs[2], 1.0)]  # a timeout: not the fetch loop's call
        for pair in pairs:
            for coro in pair:
                coro.close()
        return verdicts

    assert asyncio.run(run()) == [True, False, False]


def _own_private_names(paths: list[Path]) -> set[str]:
    """Underscored names our own code defines (functions, classes, attributes, fields)."""
    names = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return {n for n in names if n.startswith("_")}


def test_no_private_api_of_a_dependency_outside_faust_compat() -> None:
    """``x._name`` where ``_name`` is not ours can only be a dependency's private API (the
    compat package and its own tests excepted)."""
    paths = [p for folder in ("streamproc", "producers", "bench", "tests")
             for p in sorted((ROOT / folder).rglob("*.py"))]
    ours = _own_private_names([p for p in paths if not p.is_relative_to(COMPAT)])
    uses = [
        f"{path.relative_to(ROOT)}:{node.lineno} .{node.attr}"
        for path in paths if not _in_compat(path)
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Attribute) and node.attr.startswith("_")
        and not node.attr.startswith("__") and node.attr not in ours
    ]
    assert uses == [], "private APIs of dependencies belong in streamproc/worker/faust_compat/"


def test_web_server_closes_idle_connections() -> None:
    """Faust's web driver still keeps its AppRunner in ``_runner`` and the replacement carries
    the idle timeout (aiohttp's default keeps an idle connection for an hour)."""
    import faust
    from aiohttp import web

    app = faust.App("compat-web-test", broker="kafka://127.0.0.1:1", web_enabled=True)
    before = app.web._runner
    assert isinstance(before, web.AppRunner)
    faust_compat.configure_web_server(app, 7.5)
    runner = app.web._runner
    assert runner is not before and runner.app is app.web.web_app
    assert runner._kwargs["keepalive_timeout"] == 7.5
    assert runner._kwargs["access_log"] is None  # no access log: no URL in any log


def test_faust_still_delivers_each_message_through_wait_first_with_suspend_flow() -> None:
    """RewindingConsumer.wait_first speeds up exactly this call; if Faust changes it, the
    override must be revisited."""
    import inspect

    source = inspect.getsource(faust_kafka.Consumer._drain_messages)
    assert "self.wait_first(" in source and "self.suspend_flow.wait()" in source


class _Consumer(faust_compat.RewindingConsumer):
    """Just enough of a consumer to call wait_first (a mode Service)."""

    def __init__(self) -> None:  # no transport: only the Service machinery is used
        from mode import Service

        Service.__init__(self)
        self.suspend_flow = asyncio.Event()


def test_a_delivery_that_finishes_at_once_wins_without_racing() -> None:
    async def run() -> tuple:
        consumer = _Consumer()
        done = []

        async def deliver() -> str:
            done.append(1)
            return "delivered"

        result = await consumer.wait_first(deliver(), consumer.suspend_flow.wait())
        return result, done

    result, done = asyncio.run(run())
    assert done == [1] and result.results == ["delivered"] and not result.stopped


def test_a_blocked_delivery_is_abandoned_when_the_flow_is_suspended() -> None:
    async def run() -> tuple:
        consumer = _Consumer()
        never = asyncio.Event()
        cancelled = []

        async def deliver() -> None:
            try:
                await never.wait()  # a full stream buffer
            except asyncio.CancelledError:
                cancelled.append(1)
                raise

        asyncio.get_running_loop().call_later(0.05, consumer.suspend_flow.set)
        result = await asyncio.wait_for(
            consumer.wait_first(deliver(), consumer.suspend_flow.wait()), 5)
        await asyncio.sleep(0)
        return result, cancelled

    result, cancelled = asyncio.run(run())
    assert cancelled == [1], "the delivery is cancelled, as Faust's own wait_first does"
    assert len(result.results) == 1 and result.results[0] is True  # Event.wait() -> True


def test_faust_still_reads_the_delivery_callback_once_from_the_consumer() -> None:
    """RewindingConsumer replaces ``self.callback`` after Faust's __init__ set it; the fetch
    loop must still take it from there (batched topics depend on it)."""
    import inspect

    from faust.transport import consumer as base

    init = inspect.getsource(base.Consumer.__init__)
    drain = inspect.getsource(faust_kafka.Consumer._drain_messages)
    assert "self.callback = callback" in init
    assert "callback = self.callback" in drain and "callback(message)" in drain


class _Routing(faust_compat.RewindingConsumer):
    """The delivery switch alone: inboxes by topic name, Faust's streams otherwise."""

    def __init__(self, inboxes: dict) -> None:
        self.inboxes = inboxes
        self.paused = set()
        self.to_streams: list = []
        self._to_streams = self.to_streams.append
        self.calls: list = []
        self.assigned = {("store-hours", 3), ("store-events", 0)}
        self._app = SimpleNamespace(flow_control=FlowControlEvent(initially_suspended=False),
                                    consumer_generation_id=1)
        self.gapless, self.expected = {"store-events"}, Expected()

    def on_buffer_full(self, tp: object) -> None:
        self.calls.append(("full", tp))

    def on_buffer_drop(self, tp: object) -> None:
        self.calls.append(("drop", tp))

    def assignment(self) -> set:
        return self.assigned

    @property
    def app(self):  # noqa: ANN201 - the flow control is all it reads
        return self._app


class _Message:
    def __init__(self, topic: str, partition: int = 0, offset: int = 0) -> None:
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.tp = (topic, partition)


def test_a_batched_topic_goes_to_its_inbox_and_any_other_to_the_streams() -> None:
    from streamproc.worker.inbox import Inbox

    async def run() -> tuple:
        box: Inbox = Inbox(limit=100)
        consumer = _Routing({"store-events": box})
        first, other = _Message("store-events"), _Message("store-polls")
        results = [consumer._deliver(first), consumer._deliver(other)]
        return results, consumer.to_streams, await box.take(5), first, other

    results, streams, taken, first, other = asyncio.run(run())
    assert results[0] is faust_compat.DELIVERED
    assert streams == [other] and taken == [first]


def test_a_full_inbox_pauses_its_partition_until_drained_without_blocking() -> None:
    from streamproc.worker.inbox import Inbox

    async def run() -> tuple:
        box: Inbox = Inbox(limit=4)
        consumer = _Routing({"store-hours": box})
        results = [consumer._deliver(_Message("store-hours", 3)) for _ in range(6)]
        paused = list(consumer.calls)
        await box.take(4)  # 2 left: half the limit
        return results, paused, consumer.calls, consumer.paused

    results, paused, calls, still = asyncio.run(run())
    assert all(r is faust_compat.DELIVERED for r in results), "the fetch loop never waits"
    assert paused == [("full", ("store-hours", 3))], "paused once, not per message"
    assert calls[-1] == ("drop", ("store-hours", 3)) and not still


def test_a_message_put_into_its_inbox_costs_no_task() -> None:
    async def run() -> tuple:
        consumer = _Consumer()
        suspension = consumer.suspend_flow.wait()
        result = await consumer.wait_first(faust_compat.DELIVERED, suspension)
        return result, suspension.cr_frame

    result, frame = asyncio.run(run())
    assert not result.stopped and frame is None  # the suspension wait was closed unstarted


def test_the_consumer_asks_the_broker_to_answer_fetches_within_fetch_max_wait() -> None:
    """Faust hard-codes 1.5 s; the attribute aiokafka's fetcher is built from must exist."""
    from aiokafka import AIOKafkaConsumer

    async def make() -> int:
        return AIOKafkaConsumer(bootstrap_servers="127.0.0.1:1",
                                fetch_max_wait_ms=1500)._fetch_max_wait_ms

    assert asyncio.run(make()) == 1500
    assert faust_compat.FETCH_MAX_WAIT_MS <= 100


def test_a_message_read_while_the_flow_is_suspended_is_dropped_at_once() -> None:
    """The fetch loop records a message's offset as read when its delivery returns: held
    until after the rebalance's seek, it would make the loop drop the re-read records below
    it. Dropped at once, the message is read again after the seek."""
    from streamproc.worker.inbox import Inbox

    async def run() -> tuple:
        box: Inbox = Inbox(limit=100)
        consumer = _Routing({"store-events": box})
        consumer.app.flow_control.suspend()
        result = consumer._deliver(_Message("store-events"))
        return result, len(box)

    result, waiting = asyncio.run(run())
    assert result is faust_compat.DELIVERED and waiting == 0


def test_a_partition_no_longer_ours_is_not_fetched_again_when_its_inbox_drains() -> None:
    from streamproc.worker.inbox import Inbox

    async def run() -> list:
        box: Inbox = Inbox(limit=2)
        consumer = _Routing({"store-hours": box})
        for _ in range(3):
            consumer._deliver(_Message("store-hours", 3))
        consumer.assigned = set()  # revoked in a rebalance
        box.clear()
        return consumer.calls

    assert asyncio.run(run()) == [("full", ("store-hours", 3))]


def _assigned_consumer(*tps: tuple[str, int]):
    """A real (never started) aiokafka consumer with ``tps`` assigned, as Faust's consumer
    thread holds it."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    kafka = AIOKafkaConsumer(bootstrap_servers="127.0.0.1:1")
    kafka.assign([TopicPartition(t, p) for t, p in tps])
    return kafka


def test_records_fetched_before_a_seek_back_are_stale_and_later_ones_are_not() -> None:
    """The position rule on aiokafka's own partition state: a record fetched before the seek
    sits at or above the new position; one fetched after it, below (aiokafka moves the
    position past each record it hands out)."""

    async def run() -> list[bool]:
        kafka = _assigned_consumer(("polls", 2))
        try:
            owner = SimpleNamespace(_thread=SimpleNamespace(_consumer=kafka))
            state = faust_compat.RewindingConsumer._partition_state(owner, TP("polls", 2))
            verdicts = [faust_compat.fetched_before_seek(state, 40)]  # awaiting a reset
            state.seek(33)
            state.consumed_to(130)  # records 33..129 fetched
            verdicts.append(faust_compat.fetched_before_seek(state, 121))
            state.seek(33)  # the rebalance ends with a seek to the committed offset
            verdicts += [faust_compat.fetched_before_seek(state, o) for o in (122, 33, 32)]
            gone = faust_compat.RewindingConsumer._partition_state(owner, TP("polls", 5))
            verdicts.append(faust_compat.fetched_before_seek(gone, 7))
            return verdicts
        finally:
            await kafka.stop()

    assert asyncio.run(run()) == [True, False, True, True, False, False]


def test_a_seek_waits_for_the_record_being_handed_on_and_stales_the_rest(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Records 33..35 fetched; while 33 is handed on, the rebalance's seek moves the
    partition back to 34. The seek waits until the fetch loop is done with 33 (else the loop
    would record 33 as read after the seek), and 34 and 35, fetched before it, are not
    handed on: aiokafka fetches them again from 34."""
    kafka_state: dict = {}

    async def faust_getmany(self, timeout: float):
        for offset in (33, 34, 35):
            yield TP("polls", 2), SimpleNamespace(offset=offset)

    async def faust_perform_seek(self) -> None:
        kafka_state["state"].seek(34)

    monkeypatch.setattr(faust_kafka.Consumer, "getmany", faust_getmany)
    monkeypatch.setattr(faust_kafka.Consumer, "perform_seek", faust_perform_seek)

    async def run() -> tuple[list[int], bool]:
        kafka = _assigned_consumer(("polls", 2))
        try:
            consumer = object.__new__(faust_compat.RewindingConsumer)
            consumer.gapless, consumer.expected = set(), Expected()
            consumer._seeking = asyncio.Lock()
            consumer._thread = SimpleNamespace(_consumer=kafka)
            consumer._fetched = {}
            consumer.flow_active = True
            consumer.app = SimpleNamespace(consumer_generation_id=3)
            state = consumer._partition_state(TP("polls", 2))
            kafka_state["state"] = state
            state.seek(33)
            state.consumed_to(36)  # 33..35 handed out by aiokafka
            handed, seek = [], None
            async for _, message in consumer.getmany(1.0):
                handed.append(message.offset)
                if seek is None:
                    seek = asyncio.ensure_future(consumer.perform_seek())
                    await asyncio.sleep(0.01)
                    waited = not seek.done()  # 33 is still being handed on
            await seek
            return handed, waited
        finally:
            await kafka.stop()

    assert asyncio.run(run()) == ([33], True)


def test_where_skipped_records_are_fetched_again() -> None:
    p, q, r, s = (TP("polls", n) for n in range(4))
    fetched = {p: (33, 36), q: (10, 20), r: (5, 9), s: (0, 804)}
    handed = {p: 33, q: 19}  # q: all handed on; r, s: none (paused before their turn)
    position = {p: 36, q: 20, r: 9, s: 0}.get  # s: sought back to 0 since (a rebalance)
    assert faust_compat.skipped_from(fetched, handed, position) == {p: 34, r: 5}


@pytest.mark.parametrize("rebalance", [False, True])
def test_records_faust_skips_after_their_partition_paused_are_fetched_again(
        monkeypatch: pytest.MonkeyPatch, rebalance: bool) -> None:
    """Records 33..35 of polls[2] and 7..8 of polls[3] fetched; polls[2]'s inbox fills up
    at 33, so Faust's loop skips 34 and 35, and polls[3] was paused before its turn.
    aiokafka had moved both past them: they are fetched again from 34 and from 7. Once a
    rebalance began, its own seeks decide instead: nothing is moved."""

    async def faust_wait_next_records(self, timeout: float):
        for tp, end in ((TP("polls", 2), 36), (TP("polls", 3), 9)):
            self._partition_state(tp).consumed_to(end)
        return {TP("polls", 2): [SimpleNamespace(offset=o) for o in (33, 34, 35)],
                TP("polls", 3): [SimpleNamespace(offset=o) for o in (7, 8)]}, set()

    async def faust_getmany(self, timeout: float):
        await self._wait_next_records(timeout)
        yield TP("polls", 2), SimpleNamespace(offset=33)  # then both partitions paused
        if rebalance:
            self.app.consumer_generation_id += 1

    monkeypatch.setattr(faust_kafka.Consumer, "_wait_next_records", faust_wait_next_records)
    monkeypatch.setattr(faust_kafka.Consumer, "getmany", faust_getmany)

    async def run() -> tuple[list[int], int, int]:
        kafka = _assigned_consumer(("polls", 2), ("polls", 3))
        try:
            consumer = object.__new__(faust_compat.RewindingConsumer)
            consumer.gapless, consumer.expected = set(), Expected()
            consumer._seeking = asyncio.Lock()
            # the consumer thread's seek, on the partition state (aiokafka's needs a fetcher)
            consumer._thread = SimpleNamespace(
                _consumer=kafka, seek=lambda tp, at: consumer._partition_state(tp).seek(at))
            consumer._fetched = {}
            consumer.flow_active = True
            consumer.app = SimpleNamespace(consumer_generation_id=3)
            consumer._partition_state(TP("polls", 2)).seek(33)
            consumer._partition_state(TP("polls", 3)).seek(7)
            handed = [m.offset async for _, m in consumer.getmany(1.0)]
            return (handed, consumer._position(TP("polls", 2)),
                    consumer._position(TP("polls", 3)))
        finally:
            await kafka.stop()

    assert asyncio.run(run()) == (([33], 36, 9) if rebalance else ([33], 34, 7))


def test_aiokafka_is_asked_for_a_copy_of_the_active_partitions(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The consumer's thread reads the set after waiting for data; Faust's live set may be
    emptied meanwhile (a rebalance pauses everything), and an empty set means every
    partition to aiokafka: changelog records of paused partitions came back and were lost."""
    asked: list = []

    async def faust_getmany(self, active_partitions, timeout):
        await asyncio.sleep(0)
        asked.append(set(active_partitions))
        return {}

    monkeypatch.setattr(faust_kafka.Consumer, "_getmany", faust_getmany)
    consumer = object.__new__(faust_compat.RewindingConsumer)
    live = {TP("polls", 1), TP("store-state-changelog", 6)}

    async def run() -> None:
        fetch = asyncio.ensure_future(consumer._getmany(live, 1.0))
        await asyncio.sleep(0)
        live.clear()  # a rebalance pauses every partition while the fetch waits
        await fetch

    asyncio.run(run())
    assert asked == [{TP("polls", 1), TP("store-state-changelog", 6)}]


class _FaustBuffering(faust_compat.RewindingConsumer):
    """The delivery switch with Faust's own ``on_buffer_full``/``on_buffer_drop`` and active
    partition bookkeeping (not stubbed): the burst of public events crashed there."""

    def __init__(self, inboxes: dict, assigned: set) -> None:
        self.inboxes = inboxes
        self.paused = set()
        self._assigned = assigned
        self._active_partitions = set(assigned)
        self._paused_partitions = set()
        self._buffered_partitions = set()
        self.gapless, self.expected = set(), Expected()
        self._app = SimpleNamespace(flow_control=FlowControlEvent(initially_suspended=False),
                                    in_recovery=False)

    def assignment(self) -> set:
        return self._assigned

    @property
    def app(self):  # noqa: ANN201 - the flow control and recovery flag are all it reads
        return self._app


def test_a_partition_paused_and_resumed_stays_one_faust_knows() -> None:
    """aiokafka hands Faust records keyed by its own ``TopicPartition``; messages carry that
    as ``tp``. Paused and resumed with it, Faust's set of active partitions held a foreign
    type and its next fetch died on ``assert all(isinstance(x, TP) ...)`` (a burst of ~490k
    public events killed the worker that way as soon as an inbox drained)."""
    from aiokafka import TopicPartition

    from streamproc.worker.inbox import Inbox

    async def run() -> set:
        box: Inbox = Inbox(limit=4)
        consumer = _FaustBuffering({"store-events": box}, {TP("store-events", 1)})
        for offset in range(6):
            message = SimpleNamespace(topic="store-events", partition=1, offset=offset,
                                      tp=TopicPartition("store-events", 1))
            consumer._deliver(message)
        paused = set(consumer._get_active_partitions())
        await box.take(4)  # drained to half: the partition is fetched again
        return paused, consumer._get_active_partitions()

    paused, active = asyncio.run(run())
    assert paused == set(), "a full inbox stops the fetching of its partition"
    assert active == {TP("store-events", 1)}
    assert all(type(tp) is TP for tp in active)


def _committing(committed: int, acked: list[int]):
    """Faust's commit bookkeeping of one partition, as the consumer holds it."""
    from collections import defaultdict

    from intervaltree import IntervalTree

    consumer = object.__new__(faust_compat.RewindingConsumer)
    consumer.gapless, consumer._stalled = {"store-polls"}, {}
    consumer._clock, consumer.flow_active = (lambda: 0.0), True
    consumer._committed_offset = defaultdict(lambda: None)
    consumer._acked, consumer._acked_index = defaultdict(list), defaultdict(set)
    consumer._gap = defaultdict(IntervalTree)
    for topic in ("store-polls", "store-hours"):
        consumer._committed_offset[TP(topic, 4)] = committed
        consumer._acked[TP(topic, 4)] = list(acked)
        consumer._acked_index[TP(topic, 4)] = set(acked)
    return consumer


def test_no_commit_steps_over_a_record_never_acknowledged_at_the_committed_offset() -> None:
    """Faust commits 1150 when 1148 and 1149 are acknowledged after a commit of 1147: the
    poll at 1147 was lost that way in a soak. On a topic without gaps: no commit."""
    consumer = _committing(1147, [1148, 1149])
    assert consumer._new_offset(TP("store-hours", 4)) == 1150  # Faust's own rule
    assert consumer._new_offset(TP("store-polls", 4)) is None
    assert _committing(1147, [1147, 1148])._new_offset(TP("store-polls", 4)) == 1149


def test_offsets_the_fetch_loop_did_not_see_are_no_gap_on_a_topic_without_gaps() -> None:
    consumer = _committing(1137, [])
    asyncio.run(consumer._add_gap(TP("store-polls", 4), 1147, 1147))
    asyncio.run(consumer._add_gap(TP("store-hours", 4), 1147, 1147))
    assert not consumer._gap[TP("store-polls", 4)] and consumer._gap[TP("store-hours", 4)]


def test_a_record_beyond_the_next_expected_one_is_read_again_not_stepped_over(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """polls[2] sought to 33; the fetch path hands Faust 33 and 35 (34 lost on the way):
    35 is not handed on, and aiokafka reads again from 34."""

    async def faust_getmany(self, timeout: float):
        self._partition_state(TP("polls", 2)).consumed_to(36)
        for offset in (33, 35):
            yield TP("polls", 2), SimpleNamespace(offset=offset)

    monkeypatch.setattr(faust_kafka.Consumer, "getmany", faust_getmany)

    async def run() -> tuple[list[int], int]:
        kafka = _assigned_consumer(("polls", 2))
        try:
            consumer = object.__new__(faust_compat.RewindingConsumer)
            consumer.gapless, consumer.expected = {"polls"}, Expected()
            consumer._seeking = asyncio.Lock()
            consumer._thread = SimpleNamespace(
                _consumer=kafka, seek=lambda tp, at: consumer._partition_state(tp).seek(at))
            consumer._fetched, consumer.flow_active = {}, True
            consumer.app = SimpleNamespace(consumer_generation_id=3)
            consumer._partition_state(TP("polls", 2)).seek(33)
            consumer._expect(TP("polls", 2), 33)
            handed = [m.offset async for _, m in consumer.getmany(1.0)]
            return handed, consumer._position(TP("polls", 2))
        finally:
            await kafka.stop()

    assert asyncio.run(run()) == ([33], 34)


def test_a_commit_held_too_long_reads_the_partition_again_from_the_held_offset() -> None:
    """The record's acknowledgement may have been lost in a rebalance while it was applied:
    held READ_AGAIN_AFTER_S, the partition is read again from it (once per that long)."""
    consumer, clock, sought = _committing(1147, [1148, 1149]), [0.0], []
    consumer._clock = lambda: clock[0]

    async def read_again_from(tp, offset) -> None:
        sought.append((tp, offset))

    consumer._read_again_from = read_again_from

    async def run() -> None:
        polls = TP("store-polls", 4)
        held = faust_compat.READ_AGAIN_AFTER_S
        for at in (0.0, 5.0, held, held + 1):
            clock[0] = at
            assert consumer._new_offset(polls) is None
            await asyncio.sleep(0)

    asyncio.run(run())
    assert sought == [(TP("store-polls", 4), 1147)]


def test_the_changelog_writer_scans_and_deletes_one_stores_rows_in_rocksdb(tmp_path) -> None:
    """BatchedChangelog's RocksDB side on a real rocksdict database opened as Faust opens it
    (raw mode): a prefix scan returns one store's rows in key order (binary day numbers
    included) and nothing of a store whose id extends it; a delete removes the row locally
    and holds a tombstone for the changelog."""
    import rocksdict

    from streamproc.core import state_rows

    db = rocksdict.Rdict(str(tmp_path / "p0"), options=rocksdict.Options(raw_mode=True))
    table = SimpleNamespace(data=SimpleNamespace(_db_for_partition=lambda partition: db))
    log = faust_compat.BatchedChangelog(table)  # type: ignore[arg-type]
    day_a, day_b = state_rows.day_key("s1", 19_400), state_rows.day_key("s1", 19_456)
    for key in (b"s1", b"s10/p", day_b, b"s1/t", day_a, b"s1/p", b"s0/t", b"s2"):
        log.put(0, key, b"v" + key)
    assert [k for k, _ in log.scan(0, b"s1/")] == [b"s1/d" + (19_400).to_bytes(2, "big"),
                                                   b"s1/d" + (19_456).to_bytes(2, "big"),
                                                   b"s1/p", b"s1/t"]
    assert dict(log.scan(0, b"s1/"))[day_a] == b"v" + day_a
    log.delete(0, day_a)
    assert db.get(day_a) is None
    assert [k for k, _ in log.scan(0, b"s1/")] == [day_b, b"s1/p", b"s1/t"]
    assert log.sends.held.take()[0][day_a] is None  # the tombstone waits for the flush
    assert log.scan(0, b"s3/") == []
    db.close()


def test_the_changelog_writer_lists_each_store_once_with_a_seek_per_store(tmp_path) -> None:
    """``store_ids`` on real rocksdict databases (raw mode, as Faust opens them): every store
    of every active partition, its many rows skipped by a seek, ids that extend another one
    (``s1-x``, ``s10``) and stores in the old one-blob key included."""
    import rocksdict

    from streamproc.core import state_rows

    dbs = [rocksdict.Rdict(str(tmp_path / f"p{i}"), options=rocksdict.Options(raw_mode=True))
           for i in range(2)]
    for day in (19_400, 19_401, 19_456):
        dbs[0][state_rows.day_key("s1", day)] = b"d"
        dbs[0][state_rows.day_key("s1-x", day)] = b"d"
    for key in (b"s1/p", b"s1/t", b"s10/p", b"s1-x/t", b"old"):
        dbs[0][key] = b"v"
    dbs[1][b"s2/p"] = b"v"
    offset_key = faust_rocksdb.Store.offset_key  # Faust's own row: not a store (the soak
    dbs[1][offset_key] = b"4711"  # found a listing that read it as one: "format 52")
    table = SimpleNamespace(data=SimpleNamespace(_dbs_for_actives=lambda: dbs,
                                                 offset_key=offset_key))
    log = faust_compat.BatchedChangelog(table)  # type: ignore[arg-type]
    assert sorted(set(log.store_ids())) == ["old", "s1", "s1-x", "s10", "s2"]
    assert len(log.store_ids()) <= 6  # one entry per store (an id may come back once)
    for db in dbs:
        db.close()


# -- a worker starting while a broker node is away declares its topics all the same


class _Client:
    def __init__(self) -> None:
        self.refreshed = 0

    async def force_metadata_update(self) -> bool:
        self.refreshed += 1
        return True


def _compat_transport():
    app = faust.App("topic-declaration-test", broker="kafka://127.0.0.1:1")
    install_transport(app)
    return app.transport


def test_a_node_away_is_asked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = [NodeNotReadyError("node 3"), NodeNotReadyError("node 3"), None]

    async def faust_create(self, owner, client, topic, partitions, replication, **kwargs):
        answer = answers.pop(0)
        if answer is not None:
            raise answer

    monkeypatch.setattr(faust_kafka.Transport, "_create_topic", faust_create)
    monkeypatch.setattr(compat_transport, "CREATE_TOPIC_PAUSE_S", 0.001)
    client = _Client()
    asyncio.run(_compat_transport()._create_topic(None, client, "t", 8, 3))
    assert answers == [] and client.refreshed == 2


def test_gives_up_after_the_last_attempt(monkeypatch: pytest.MonkeyPatch) -> None:
    async def faust_create(self, *args, **kwargs):
        raise NodeNotReadyError("node 3")

    monkeypatch.setattr(faust_kafka.Transport, "_create_topic", faust_create)
    monkeypatch.setattr(compat_transport, "CREATE_TOPIC_PAUSE_S", 0.001)
    with pytest.raises(NodeNotReadyError):
        asyncio.run(_compat_transport()._create_topic(None, _Client(), "t", 8, 3))
