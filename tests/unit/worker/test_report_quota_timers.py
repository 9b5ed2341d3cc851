"""Finding 4 of issue 25 (the shell): the expiry timer keeps reports per principal, so one
owner's many reports never expire the operator's or another owner's."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from streamproc import config
from streamproc.core.report_lifecycle import COMPLETE, new_report_id
from streamproc.worker.reports.files import ReportFiles
from streamproc.worker.reports.timers import ReportTimers


class Cluster:
    def recovering(self) -> bool:
        return False


def _done(owner: str, minutes_ago: int) -> dict:
    stamp = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()
    return {"id": new_report_id(), "status": COMPLETE, "owner": owner, "completed": stamp}


def test_an_owners_triggers_never_expire_the_operators_reports(tmp_path) -> None:
    settings = config.load({"STREAMPROC_STATE_DIR": str(tmp_path),
                            "STREAMPROC_REPORTS_MAX": "3",
                            "STREAMPROC_REPORTS_MAX_PER_OWNER": "2"})
    operator = [_done("operator", 90), _done("operator", 80)]
    bob = [_done("owner:bob", 70)]
    alice = [_done("owner:alice", m) for m in range(16)]  # one a minute since
    sent: list[tuple[list[str], str]] = []

    async def send_each(ids: list[str], kind: str) -> None:
        sent.append((ids, kind))

    async def send(report_id: str, message: dict) -> None:
        raise AssertionError("the expiry timer sends in bulk")

    timers = ReportTimers(settings, Cluster(), ReportFiles(tmp_path / "reports", {}),
                          lambda: [*operator, *bob, *alice], running_here=lambda _: False,
                          holds_reports=lambda: True, send=send, send_each=send_each)
    asyncio.run(timers.expire_old())
    expired = {rid for ids, kind in sent if kind == "expire" for rid in ids}
    assert expired == {r["id"] for r in alice[2:]}
