"""Public events (docs/events.md) on the real broker: every CSV row of a generated data set
published as a JSON event to the events topic (half keyed by store id, half without a key)
gives the worker the batch command's report; a bad event of each kind is dead-lettered with
its reason."""

from __future__ import annotations

from tests.support.data import batch_report
from tests.support.events import BAD, as_events, messages, publish, wait_handled
from tests.support.kafka import dead_letters


def test_events_give_the_batch_report_and_bad_ones_are_dead_lettered(worker, dataset,
                                                                      tmp_path):
    topic = worker.env["STREAMPROC_TOPIC_EVENTS"]
    events = as_events(dataset)
    sent = publish(worker.env, messages(topic, events + [doc for doc, _ in BAD]))
    assert len(set(sent)) > 1, "events on several partitions"
    wait_handled(worker, topic, len(sent))
    assert worker.snapshot_csv() == batch_report(dataset, tmp_path / "batch.csv")
    letters = [d for d in dead_letters(worker.env) if d["source"] == topic]
    assert len(letters) == len(BAD)
    for doc, reason in BAD:
        [letter] = [d for d in letters if f'"store_id": "{doc["store_id"]}"' in d["raw"]]
        assert letter["reason"].startswith(f"{topic}[")
        assert letter["reason"].endswith(f": {reason}"), letter
