"""Special hours end to end on the real broker: the worker's report equals the batch command's.

A generated data set (with --dst: holidays on the US spring-forward date, single closures,
late openings until 02:00, split days, 01:00-05:00 across the missing hour) is replayed with
`streamproc replay --special-hours` into an isolated worker; its snapshot must equal
`streamproc report --special-hours` on the same files byte for byte, and must differ from
the report without special hours (so the comparison is not vacuous). A later change of the
special file (another date closed, a closure lifted) is applied by the worker as well, and
the same data published as public events (special_hours events included) or a special-hours
CSV posted to POST /events gives the same.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from streamproc.sandbox import run_cli
from tests.support.data import generate, source_args
from tests.support.events import as_events, messages, publish, rows, wait_handled

SPECIAL = "special_hours.csv"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("data"), 250, 8, 11, "--dst")


def batch(data: Path, out: Path, special: Path | None) -> str:
    extra = ["--special-hours", str(special)] if special is not None else []
    run_cli(dict(os.environ), "report", *source_args(data), *extra, "--out", str(out))
    return out.read_text()


def test_snapshot_with_special_hours_equals_batch_report(worker, dataset, tmp_path):
    run_cli(worker.env, "replay", *source_args(dataset), "--special-hours",
            str(dataset / SPECIAL))
    want = batch(dataset, tmp_path / "batch.csv", dataset / SPECIAL)
    assert want != batch(dataset, tmp_path / "plain.csv", None)
    assert worker.snapshot_csv() == want


def test_a_later_change_of_the_special_file_rebuilds_the_stores(worker, dataset, tmp_path):
    run_cli(worker.env, "replay", "--special-hours", str(dataset / SPECIAL))
    run_cli(worker.env, "replay", *source_args(dataset))
    first = worker.snapshot_csv()
    lines = (dataset / SPECIAL).read_text().splitlines()
    header, rows = lines[0], lines[1:]
    stores = sorted({r.split(",")[0] for r in rows})
    changed = [r for r in rows if not r.endswith(",,")]  # every closure lifted
    changed += [f"{sid},2023-03-14,," for sid in stores[::3]]  # others closed another day
    # a replay is an upsert per store: every store of the first file gets its new set
    named = {r.split(",")[0] for r in changed}
    changed += [f"{sid},2023-03-09,06:00:00,23:00:00" for sid in stores if sid not in named]
    edited = tmp_path / "special-2.csv"
    edited.write_text("\n".join([header, *changed]) + "\n")
    run_cli(worker.env, "replay", "--special-hours", str(edited))
    want = batch(dataset, tmp_path / "batch.csv", edited)
    assert want != first
    assert worker.snapshot_csv() == want


def special_events(data: Path) -> list[dict]:
    """One special_hours event per store with all its rows (empty times as null)."""
    sets: dict[str, list[dict]] = {}
    for r in rows(data / SPECIAL):
        sets.setdefault(r["store_id"], []).append(
            {"date": r["date"], "start_time_local": r["start_time_local"] or None,
             "end_time_local": r["end_time_local"] or None})
    return [{"type": "special_hours", "store_id": s, "special_hours": v} for s, v in sets.items()]


def test_special_hours_events_give_the_batch_report(worker, dataset, tmp_path):
    topic = worker.env["STREAMPROC_TOPIC_EVENTS"]
    events = special_events(dataset)
    assert events
    sent = publish(worker.env, messages(topic, as_events(dataset) + events))
    wait_handled(worker, topic, len(sent))
    assert worker.snapshot_csv() == batch(dataset, tmp_path / "batch.csv", dataset / SPECIAL)


def test_post_events_with_a_special_hours_csv_gives_the_batch_report(worker, dataset, tmp_path):
    import json

    from streamproc.sandbox.http import request

    run_cli(worker.env, "replay", *source_args(dataset))
    body = (dataset / SPECIAL).read_bytes() + b"x1,2026-02-30,,\n"  # one bad line
    status, _, data = request(worker.base_url, "/events", "POST", body,
                              {"Content-Type": "text/csv"})
    answer = json.loads(data)
    assert status == 200 and answer["rejected"] == 1, answer
    assert "does not exist" in answer["errors"][0]["reason"]
    # no wait: the answer came after the broker's acknowledgement
    assert worker.snapshot_csv() == batch(dataset, tmp_path / "batch.csv", dataset / SPECIAL)
