"""Finding 4 of issue 25 (scope): an owner's report asks the workers for the owner's stores
only, so an owner's trigger costs the evaluation of their stores, not the whole fleet's (the
rows were filtered only after every store had been evaluated)."""

from __future__ import annotations

import asyncio

from streamproc.core.report_rows import ReportRow
from streamproc.worker.reports.files import ReportFiles
from streamproc.worker.reports.generation import ReportGenerator
from streamproc.worker.snapshot import Snapshot


class ScopedCluster:
    """Answers only the stores it is asked for, as the real snapshot now does; records what
    it was asked."""

    def __init__(self, stores: list[str]) -> None:
        self.stores = stores
        self.asked: list[object] = []

    async def snapshot(self, as_of=None, timeout=60.0, figures=False, stores=None) -> Snapshot:
        self.asked.append(stores)
        wanted = self.stores if stores is None else [s for s in self.stores if s in stores]
        return Snapshot([ReportRow(s, 1, 1, 1, 0, 0, 0) for s in wanted], as_of, 0.0, 0.0)


def test_an_owners_report_asks_for_their_stores_only(tmp_path) -> None:
    cluster = ScopedCluster([f"s{i}" for i in range(100)])
    sent: list[dict] = []

    async def send(report_id: str, message: dict) -> None:
        sent.append(message)

    generator = ReportGenerator(cluster, ReportFiles(tmp_path, {}), send)
    outcome = asyncio.run(generator.outcome("a" * 22, 0, (), ["s3", "s7"]))
    assert outcome["type"] == "done" and outcome["rows"] == 2
    assert cluster.asked == [["s3", "s7"]]
    asyncio.run(generator.outcome("b" * 22, 0, (), None))  # the operator's: every store
    assert cluster.asked[-1] is None
