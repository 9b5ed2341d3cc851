"""A client that is not ours: docs/events/clients/PublishEvents.java, run by the JDK against
the plain kafka-clients jar, publishes every row of a data set as events (keyed, unkeyed and
alternating) and the worker's report equals the batch command's on the same data."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from streamproc import config
from streamproc import localkafka as broker
from streamproc.sandbox import bootstrap_of
from tests.support.data import batch_report
from tests.support.events import as_events

CLIENT = Path(__file__).resolve().parents[2] / "docs" / "events" / "clients" / "PublishEvents.java"


def client_classpath() -> str:
    """kafka-clients and slf4j-api only: what a Java poller would depend on."""
    jars = broker.ensure_jars(config.load(), quiet=True)
    wanted = [j for j in sorted(jars.glob("*.jar"))
              if j.name.startswith(("kafka-clients-", "slf4j-api-"))]
    assert len(wanted) == 2, wanted
    return ":".join(str(j) for j in wanted)


def run_client(bootstrap: str, topic: str, events: Path, mode: str) -> str:
    java = shutil.which("java")
    if java is None:
        pytest.fail("java is not installed (it is needed for the broker too)", pytrace=False)
    done = subprocess.run([java, "-cp", client_classpath(), str(CLIENT), bootstrap, topic,
                           str(events), mode], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_a_java_client_publishes_events_and_the_report_equals_batch(worker, dataset,  # noqa: F811
                                                                    tmp_path):
    topic = worker.env["STREAMPROC_TOPIC_EVENTS"]
    events = as_events(dataset)
    third = len(events) // 3
    parts = {"keyed": events[:third], "unkeyed": events[third:2 * third],
             "alternate": events[2 * third:]}
    for mode, part in parts.items():
        path = tmp_path / f"{mode}.ndjson"
        path.write_text("".join(json.dumps(e) + "\n" for e in part))
        out = run_client(bootstrap_of(worker.env), topic, path, mode)
        assert f"sent {len(part)} events" in out
    assert worker.snapshot_csv() == batch_report(dataset, tmp_path / "batch.csv")
