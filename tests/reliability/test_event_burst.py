"""A backlog of public events far larger than the worker's inboxes: the worker pauses the
partitions whose inbox is full, resumes them as it drains, stays up and ends with the batch
command's report (a burst of ~490k events killed it when the first inbox drained)."""

from __future__ import annotations

import signal

from streamproc.sandbox import WorkerProcess
from tests.support.events import as_events, messages, publish, wait_handled


def test_a_backlog_of_public_events_is_applied_and_the_worker_stays_up(worker_env, tmp_path,
                                                                       dataset, expected, say):
    handle = WorkerProcess(worker_env, tmp_path / "worker.log")
    handle.start()  # creates the topics
    handle.kill(signal.SIGTERM)
    topic = worker_env["STREAMPROC_TOPIC_EVENTS"]
    sent = publish(worker_env, messages(topic, as_events(dataset)))
    try:
        handle.start()
        wait_handled(handle, topic, len(sent), timeout=240)
        handle.check_alive()
        report = handle.snapshot_csv()
        crashes = handle.log_path.read_text(errors="replace").count("AssertionError")
    finally:
        handle.kill(signal.SIGTERM)
    say(f"{len(sent)} events published while the worker was down, all applied")
    assert crashes == 0, handle.tail()
    assert report == expected
