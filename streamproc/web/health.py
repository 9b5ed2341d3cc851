"""`GET /health` and the snapshot hook `GET /snapshot.csv` used by the CLI and tests."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from faust.web import Request, Response, View

from streamproc.core.report_rows import write_csv
from streamproc.core.timeparse import parse_timestamp, to_iso
from streamproc.worker.snapshot import SnapshotTimeout

if TYPE_CHECKING:
    from streamproc.worker.app import Pipeline


def register(pipeline: Pipeline) -> None:
    app = pipeline.app
    processor = pipeline.processor

    @app.page("/health")
    class Health(View):
        async def get(self, request: Request) -> Response:
            now = processor.watermarks.now()
            return self.json(
                {
                    "status": "ok",
                    "watermark": to_iso(now) if now is not None else None,
                    "stores_live": len(processor.cache),
                    "polls_applied": processor.stats.polls,
                    "messages": dict(processor.stats.messages),
                    "rejected": sum(processor.stats.rejected.values()),
                    "assigned_partitions": len(app.assignor.assigned_actives()),
                    "recovering": not app.tables.recovery.completed.is_set(),
                }
            )

    @app.page("/snapshot.csv")
    class SnapshotCsv(View):
        async def get(self, request: Request) -> Response:
            as_of_text = request.query.get("as_of")
            try:
                as_of = parse_timestamp(as_of_text) if as_of_text else None
            except ValueError as exc:
                return self.json({"error": f"bad as_of: {exc}"}, status=400)
            try:
                snap = await pipeline.snapshot(as_of=as_of)
            except SnapshotTimeout as exc:
                return self.json({"error": str(exc)}, status=503)
            buf = io.StringIO()
            write_csv(snap.rows, buf)
            headers = {
                "X-Snapshot-Now": to_iso(snap.now_us) if snap.now_us is not None else "",
                "X-Snapshot-Seconds": f"{snap.waited_s + snap.computed_s:.3f}",
            }
            return self.text(buf.getvalue(), content_type="text/csv", headers=headers)
