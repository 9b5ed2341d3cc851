"""An owner's daily digest from a real worker on the real broker, through Apprise: its CSV
attachment holds, for the owner's stores only, the numbers `streamproc report --as-of` prints
at the digest's time; it comes once."""

from __future__ import annotations

import base64
import csv
import io
import re
import time

import pytest

from streamproc.core.access import token_hash
from streamproc.sandbox import WorkerProcess
from tests.support.data import batch_report, generate, replay
from tests.support.receivers import HttpReceiver


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("digest-data"), 30, 8, 11)


def _digests(receiver: HttpReceiver) -> list[dict]:
    return [r["json"] for r in receiver.received if "digest" in r["json"]["title"]]


def test_a_daily_digest_holds_the_reports_numbers_for_the_owners_stores(
        worker_env, dataset, tmp_path) -> None:
    stores = sorted({row["store_id"] for row in csv.DictReader(
        (dataset / "store_status.csv").open())})
    mine = stores[:7]
    owners = tmp_path / "owners.csv"
    owners.write_text("owner_id,token_sha256,store_id\n" + "".join(
        f"alice,{token_hash('alice-token')},{s}\n" for s in mine))
    receiver = HttpReceiver()
    channels = tmp_path / "channels.toml"
    channels.write_text(f'[owners.alice]\nurls = ["{receiver.url("json", "alice")}"]\n'
                        'timezone = "UTC"\ndigest_daily = "06:00"\n'
                        'quiet = ["daily 00:00-00:00"]  # alerts muted: digests only\n')
    env = dict(worker_env, STREAMPROC_OWNERS_FILE=str(owners),
               STREAMPROC_CHANNELS_FILE=str(channels))
    with WorkerProcess(env, tmp_path / "worker.log").running() as handle:
        replay(env, dataset)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not _digests(receiver):
            time.sleep(0.5)
        [digest] = _digests(receiver)
        [attachment] = digest["attachments"]
        attached = {r["store_id"]: r for r in csv.DictReader(io.StringIO(
            base64.b64decode(attachment["base64"]).decode()))}
        time.sleep(35)  # the next check (every 30 s) finds the slot sent
        assert len(_digests(receiver)) == 1
        handle.check_alive()  # writing the digest's record took the worker down once
        assert handle.health()["ready"], handle.tail()

    as_of = re.search(r" to (\S+): ", digest["message"])[1]  # the period's end
    assert "T06:00:00" in as_of, digest["message"]
    report_text = batch_report(dataset, tmp_path / "batch.csv", "--as-of", as_of)
    report = {r["store_id"]: r for r in csv.DictReader(io.StringIO(report_text))}
    assert sorted(attached) == mine, "the owner's stores only"
    for store_id in mine:
        assert attached[store_id]["uptime_hours"] == report[store_id]["uptime_last_day"]
        assert attached[store_id]["downtime_hours"] == report[store_id]["downtime_last_day"]
    assert any(float(r["uptime_hours"]) > 0 for r in attached.values()), "not all zeros"
