"""Where finished reports live: a CSV file per report, and its text in chunks in the
changelogged ``report-files`` table.

The CSV goes to ``Settings.reports_dir/<id>.csv`` through a temp file and an atomic rename,
so a file that exists is complete. Its text is also sent in ``chunk`` messages and kept in
the ``report-files`` table: when the worker that made it dies, the one that takes the
report partition over writes the file again from there. Every worker sweeps its folder by
the same retention and count as the records.
"""

from __future__ import annotations

import io
import os
import time
from collections import OrderedDict
from collections.abc import MutableMapping
from pathlib import Path

import orjson

from streamproc.core.report_lifecycle import csv_to_json_rows, is_report_id, stale_files
from streamproc.core.report_rows import ReportRow, write_csv

CHUNK_CHARS = 256 * 1024  # CSV text per chunk message (Kafka's default limit is 1 MB)
JSON_CACHE = 16  # finished reports kept parsed for ?format=json
TEMP_MAX_AGE_S = 3600  # a temp file older than this was left by a crash


def csv_text(rows: list[ReportRow], columns: tuple[str, ...] = ()) -> str:
    buf = io.StringIO()
    write_csv(rows, buf, columns)
    return buf.getvalue()


def chunks_of(text: str) -> list[str]:
    """The report's text as chunk messages carry it."""
    return [text[i:i + CHUNK_CHARS] for i in range(0, len(text), CHUNK_CHARS)]


def write_text_file(directory: Path, report_id: str, text: str) -> None:
    """Write ``<id>.csv`` atomically (a temp file, fsync, rename)."""
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"{report_id}.csv"
    tmp = directory / f".{report_id}.csv.tmp"
    with tmp.open("w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, final)


def chunk_key(report_id: str, n: int) -> bytes:
    return f"{report_id}/{n}".encode()


class ReportFiles:
    """The report folder of this worker and the chunks table all workers share."""

    def __init__(self, directory: Path, chunks: MutableMapping[bytes, bytes]) -> None:
        self.directory = directory
        self.chunks = chunks  # "<id>/<n>" -> a chunk of the report's CSV text (a Faust table)
        self._json_cache: OrderedDict[str, bytes] = OrderedDict()

    def path(self, report_id: str) -> Path:
        if not is_report_id(report_id):  # never build a path from an unchecked id
            raise ValueError("bad report id")
        return self.directory / f"{report_id}.csv"

    def write(self, report_id: str, text: str) -> None:
        write_text_file(self.directory, report_id, text)

    def csv_path(self, report_id: str, chunks: int) -> Path | None:
        """The finished report's file, written again from its ``chunks`` chunks if this
        worker lacks it (it took the report partition over); None if neither exists."""
        path = self.path(report_id)
        if path.is_file():
            return path
        parts = [self.chunks.get(chunk_key(report_id, n)) for n in range(chunks)]
        if not parts or any(c is None for c in parts):
            return None
        self.write(report_id, b"".join(parts).decode("utf-8"))
        return path

    def json_rows(self, report_id: str) -> bytes:
        """The report as a JSON array of row objects (parsed once, then cached)."""
        cached = self._json_cache.get(report_id)
        if cached is not None:
            self._json_cache.move_to_end(report_id)
            return cached
        rows = csv_to_json_rows(self.path(report_id).read_text(encoding="utf-8"))
        body = orjson.dumps(rows)
        self._json_cache[report_id] = body
        while len(self._json_cache) > JSON_CACHE:
            self._json_cache.popitem(last=False)
        return body

    def store_chunk(self, report_id: str, n: int, data: str) -> None:  # only from the agent
        self.chunks[chunk_key(report_id, n)] = data.encode("utf-8")

    def delete(self, report_id: str, chunks: int) -> None:  # only from the agent
        """The file and its chunks (each a tombstone in the changelog)."""
        self.path(report_id).unlink(missing_ok=True)
        self._json_cache.pop(report_id, None)
        for n in range(chunks):
            self.chunks.pop(chunk_key(report_id, n), None)

    def sweep(self, retention_s: float, keep: int) -> None:
        """Delete report files older than the retention or beyond the newest ``keep``, and
        temp files left by a crash (every worker: any may have written copies)."""
        if not self.directory.is_dir():
            return
        files, now = [], time.time()
        for entry in os.scandir(self.directory):
            if entry.name.endswith(".csv.tmp") and now - entry.stat().st_mtime > TEMP_MAX_AGE_S:
                Path(entry.path).unlink(missing_ok=True)
            elif entry.name.endswith(".csv") and is_report_id(entry.name[:-4]):
                files.append((entry.name, entry.stat().st_mtime))
        for name in stale_files(files, now, retention_s, keep):
            (self.directory / name).unlink(missing_ok=True)
            self._json_cache.pop(name[:-4], None)
