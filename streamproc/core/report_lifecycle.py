"""The life of one report, as a pure function: ``(record, message) -> Step``.

A report is a record (a dict kept in the worker's ``reports`` table) that moves through

    Running --done--> Complete --expire--> Expired
       |   --failed-> Failed   --expire--> Expired
       +--resume (worker restarted mid-way) --> Running again, at most MAX_ATTEMPTS in all

driven by messages on the ``report-requests`` topic:

* ``request`` ``{created, as_of, columns, owner, stores}``: a new report; record it Running
  and generate it (``columns``: optional columns added to the contract's seven; over
  ``stores`` only, when given: an owner's report; ``owner``: who may read it);
* ``resume``: a Running report whose generation died with its worker; generate it again,
  or record it Failed once it was interrupted :data:`MAX_ATTEMPTS` times;
* ``chunk`` ``{n, data}``: a piece of the finished CSV, kept in Kafka (the ``report-files``
  table) so that the report outlives the disk of the worker that made it;
* ``done`` ``{rows, now, seconds, completed, chunks}`` / ``failed`` ``{error, completed}``: the
  outcome;
* ``expire``: a finished report past its retention (or beyond the newest
  ``STREAMPROC_REPORTS_MAX``); its file and chunks go, the record says Expired (410);
* ``purge``: an Expired record kept ``STREAMPROC_EXPIRED_KEEP_HOURS`` (or beyond the newest
  ``STREAMPROC_REPORTS_MAX`` Expired ones) is deleted: a tombstone in the changelog, so the
  table stays bounded however many reports are triggered.

:func:`next_step` decides; the worker (``streamproc.worker.reports``) only does what the
returned :class:`Step` says (write the record, start a generation, delete the file). Every
message may be delivered twice (after a crash), so a finished report never goes back to
Running and a duplicate outcome changes nothing.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from streamproc.core import report_quota
from streamproc.core.report_rows import COUNT_COLUMNS, HEADER, check_columns
from streamproc.core.timeparse import to_iso

RUNNING, COMPLETE, FAILED, EXPIRED = "Running", "Complete", "Failed", "Expired"
FINISHED = (COMPLETE, FAILED)
MAX_ATTEMPTS = 2  # a report interrupted by a restart is generated again once, then Failed
REPORT_ID_RE = re.compile(r"\A[A-Za-z0-9_-]{22}\Z")  # secrets.token_urlsafe(16)

# What the worker does after writing the record (if any).
NOTHING, GENERATE, STORE_CHUNK, FORGET_LOCAL, DELETE_FILE, DELETE_RECORD, IGNORE = (
    "nothing", "generate", "store-chunk", "forget-local", "delete-file", "delete-record",
    "ignore",
)
MAX_CHUNKS = 100_000

Record = dict[str, Any]


@dataclass(frozen=True)
class Step:
    """The decision for one message: the record to write (None: none) and one action."""

    record: Record | None
    action: str = NOTHING
    as_of_us: int | None = None  # for GENERATE: the report's requested event time
    reason: str = ""  # for IGNORE: why the message was not applied
    columns: tuple[str, ...] = ()  # for GENERATE: the optional columns asked for


def new_report_id() -> str:
    """A fresh, unguessable id (128 random bits) of the :data:`REPORT_ID_RE` form."""
    return secrets.token_urlsafe(16)


def is_report_id(text: object) -> bool:
    return isinstance(text, str) and REPORT_ID_RE.match(text) is not None


def next_step(report_id: str, record: Record | None, message: object, *,
              running_here: bool, now_iso: str) -> Step:
    """What a message about ``report_id`` does to its ``record`` (None: no record yet).

    ``running_here`` says whether this process already runs the report's generation (then a
    resume is a duplicate); ``now_iso`` stamps an expiry.
    """
    kind = message.get("type") if isinstance(message, dict) else None
    if kind == "request" and record is None:
        return _new(report_id, message)
    if kind in ("request", "resume"):
        if record is None or record.get("status") != RUNNING or running_here:
            return Step(None)
        return _resume(record, now_iso)
    if kind == "chunk":
        return _chunk(record, message)
    if kind in ("done", "failed"):
        return _outcome(report_id, record, message)
    if kind == "expire":
        if record is None or record.get("status") not in FINISHED:
            return Step(None)
        return Step({**record, "status": EXPIRED, "expired": now_iso}, DELETE_FILE)
    if kind == "purge":
        if record is None or record.get("status") != EXPIRED:
            return Step(None)
        return Step(None, DELETE_RECORD)
    return Step(None, IGNORE, reason=f"unknown report message type {kind!r}")


def _new(report_id: str, message: dict[str, Any]) -> Step:
    as_of = message.get("as_of")
    if as_of is not None and type(as_of) is not int:
        return Step(None, IGNORE, reason=f"as_of must be microseconds, not {as_of!r}")
    stores = message.get("stores")
    if stores is not None and not (isinstance(stores, list)
                                   and all(isinstance(x, str) for x in stores)):
        return Step(None, IGNORE, reason="stores must be a list of store ids")
    try:
        columns = check_columns(message.get("columns"))
    except ValueError as exc:  # the API checks first: only a hand-made message gets here
        return Step({"id": report_id, "status": FAILED, "created": message.get("created"),
                     "owner": str(message.get("owner") or "operator"),
                     "error": f"bad columns: {exc}", "completed": message.get("created")})
    record = {
        "id": report_id, "status": RUNNING, "created": message.get("created"), "as_of_us": as_of,
        "as_of": to_iso(as_of) if as_of is not None else None, "attempts": 1,
        "owner": str(message.get("owner") or "operator"), "stores": stores,
    }
    if columns:
        record["columns"] = list(columns)
    return Step(record, GENERATE, as_of_us=as_of, columns=columns)


def _resume(record: Record, now_iso: str) -> Step:
    attempts = int(record.get("attempts", 1))
    if attempts >= MAX_ATTEMPTS:
        error = f"interrupted by worker restarts {attempts} times"
        return Step({**record, "status": FAILED, "completed": now_iso, "error": error})
    return Step({**record, "attempts": attempts + 1}, GENERATE,
                as_of_us=record.get("as_of_us"), columns=tuple(record.get("columns") or ()))


def _chunk(record: Record | None, message: dict[str, Any]) -> Step:
    """Keep a piece of the CSV while the report runs (never after: an expired report's
    chunks must not come back from a late duplicate)."""
    n = message.get("n")
    if type(n) is not int or not 0 <= n < MAX_CHUNKS or not isinstance(message.get("data"), str):
        return Step(None, IGNORE, reason="chunk needs an index n and text data")
    if record is not None and record.get("status") != RUNNING:
        return Step(None)
    return Step(None, STORE_CHUNK)


def _outcome(report_id: str, record: Record | None, message: dict[str, Any]) -> Step:
    base = dict(record) if record is not None else {"id": report_id,
                                                      "created": message.get("created")}
    if base.get("status") in FINISHED:
        return Step(None, FORGET_LOCAL)  # a duplicate outcome
    if message["type"] == "done":
        base.update(status=COMPLETE, rows=message.get("rows"), now=message.get("now"),
                    seconds=message.get("seconds"), completed=message.get("completed"),
                    chunks=message.get("chunks", 0))
        base.pop("error", None)
    else:
        base.update(status=FAILED, error=str(message.get("error") or "failed"),
                    completed=message.get("completed"))
    return Step(base, FORGET_LOCAL)


def expired_ids(records: list[Record], now: datetime, retention_s: float,
                keep: int | Callable[[str], int] | None = None) -> list[str]:
    """Finished reports whose ``completed`` time is more than ``retention_s`` before ``now``,
    and (``keep`` given) every finished report older than the newest ``keep``: a number for
    all reports, or a count per principal (``keep(owner key)``: each principal's oldest
    go, never another's)."""
    return _past(records, FINISHED, "completed", now, retention_s, keep)


def purge_ids(records: list[Record], now: datetime, keep_s: float,
              keep: int | Callable[[str], int] | None = None) -> list[str]:
    """Expired records expired more than ``keep_s`` ago, or older than the newest ``keep``
    Expired ones (a number, or per principal as in :func:`expired_ids`): their records are
    deleted."""
    return _past(records, (EXPIRED,), "expired", now, keep_s, keep)


def _past(records: list[Record], statuses: tuple[str, ...], stamp: str, now: datetime,
          age_s: float, keep: int | Callable[[str], int] | None) -> list[str]:
    dated = []
    for record in records:
        if record.get("status") not in statuses or not is_report_id(record.get("id")):
            continue
        when = _parse_time(record.get(stamp))
        if when is not None:
            dated.append((when, record["id"], report_quota.owner_of(record)))
    newest_first = sorted(dated, key=lambda d: d[0], reverse=True)
    due = {rid for when, rid, _ in newest_first if (now - when).total_seconds() > age_s}
    if keep is not None:
        per = keep if callable(keep) else None
        due |= report_quota.beyond_keep(
            ((rid, owner if per else "") for _, rid, owner in newest_first),
            per or (lambda _: keep))
    return [rid for _, rid, _ in dated if rid in due]  # in the records' order


def _parse_time(value: object) -> datetime | None:
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def stale_files(files: list[tuple[str, float]], now_s: float, max_age_s: float,
                keep: int) -> list[str]:
    """Report files (name, modification time) a worker deletes: older than ``max_age_s`` or
    beyond the newest ``keep``. Any worker may: a file is a copy of the ``report-files``
    table, written again from there when asked for."""
    newest_first = sorted(files, key=lambda f: f[1], reverse=True)
    return [name for n, (name, mtime) in enumerate(newest_first)
            if now_s - mtime > max_age_s or n >= keep]


PUBLIC_FIELDS = ("id", "status", "created", "as_of", "columns", "now", "rows", "seconds",
                 "completed", "error", "expired")


URL_RE = re.compile(r"https?://[^\s'\"),;]+")
OWNER_FAILURE = ("the report could not be made (the workers were changing or one did not "
                 "answer); trigger it again")


def shown_error(error: str, operator: bool) -> str:
    """A Failed report's reason as the API shows it: never a worker's internal URL, and to
    an owner no detail at all (a reason may name stores of the whole fleet)."""
    return URL_RE.sub("<worker>", error) if operator else OWNER_FAILURE


def public(record: Record, operator: bool = True) -> Record:
    """A record as the API shows it (internal fields dropped; the error as
    :func:`shown_error` shows it to an operator or an owner)."""
    out = {k: record[k] for k in PUBLIC_FIELDS if record.get(k) is not None}
    if "error" in out:
        out["error"] = shown_error(str(out["error"]), operator)
    return out


def csv_to_json_rows(text: str) -> list[dict[str, Any]]:
    """A report CSV as row objects (``?format=json``; counts as integers)."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or ",".join(header[:7]) != HEADER:
        raise ValueError("report file has an unexpected header")
    check_columns(header[7:])
    kinds = [int if k in COUNT_COLUMNS else float for k in header]
    return [
        {"store_id": r[0],
         **{k: f(v) for k, f, v in zip(header[1:], kinds[1:], r[1:], strict=True)}}
        for r in reader
    ]
