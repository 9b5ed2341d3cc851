"""docs/events.md, docs/events/*.schema.json and core/events.decode_event say the same thing.

Every event written in the page (```json blocks, and every ``{"type": ...}`` object in the
client examples) is valid per its schema and accepted by the decoder; a list of bad events
is refused by both. The schemas are checked with jsonschema_rs (a JSON Schema 2020-12
validator that schemathesis, a test dependency, brings along).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema_rs
import pytest

from streamproc.core.events import decode_event
from streamproc.core.timezones import known_timezones

DOCS = Path(__file__).resolve().parents[3] / "docs"
TYPES = ("poll", "hours", "timezone", "special_hours")
SCHEMAS = {t: json.loads((DOCS / "events" / f"{t}.schema.json").read_text()) for t in TYPES}
VALIDATORS = {t: jsonschema_rs.Draft202012Validator(s) for t, s in SCHEMAS.items()}
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def doc_examples() -> list[tuple[str, str]]:
    """``(where, JSON text)`` of every event in docs/events.md."""
    page = (DOCS / "events.md").read_text()
    found = []
    for n, (lang, body) in enumerate(FENCE.findall(page)):
        if lang == "json":
            found.append((f"block {n} (json)", body))
            continue
        for m in re.finditer(r'\{"type"', body):
            _, end = json.JSONDecoder().raw_decode(body, m.start())
            found.append((f"block {n} ({lang})", body[m.start():end]))
    return found


EXAMPLES = doc_examples()


def schema_of(doc: object) -> str:
    assert isinstance(doc, dict) and doc.get("type") in TYPES, doc
    return doc["type"]


def test_the_page_has_examples_of_every_type_and_client() -> None:
    types = {json.loads(text)["type"] for _, text in EXAMPLES}
    assert types == set(TYPES)
    where = " ".join(w for w, _ in EXAMPLES)
    for lang in ("json", "bash", "python", "java"):
        assert f"({lang})" in where


def test_schemas_are_valid_2020_12_schemas() -> None:
    for name, schema in SCHEMAS.items():
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        jsonschema_rs.meta.validate(schema)
        assert schema["properties"]["type"] == {"const": name}
        assert set(schema["required"]) == set(schema["properties"])
        assert schema["additionalProperties"] is False


@pytest.mark.parametrize(("where", "text"), EXAMPLES, ids=[w for w, _ in EXAMPLES])
def test_every_example_is_valid_and_accepted(where: str, text: str) -> None:
    doc = json.loads(text)
    VALIDATORS[schema_of(doc)].validate(doc)
    event = decode_event(text.encode())
    assert not isinstance(event, str), event


def poll(**fields: object) -> dict:
    return {"type": "poll", "store_id": "1", "status": "active",
            "timestamp_utc": "2023-01-22 12:09:39 UTC"} | fields


def hours(*rows: object, **fields: object) -> dict:
    return {"type": "hours", "store_id": "1", "hours": list(rows)} | fields


def row(day: object = 0, start: object = "09:00", end: object = "17:00") -> dict:
    return {"day": day, "start_time_local": start, "end_time_local": end}


def zone(**fields: object) -> dict:
    return {"type": "timezone", "store_id": "1", "timezone_str": "Europe/Paris"} | fields


def special(*rows: object, **fields: object) -> dict:
    return {"type": "special_hours", "store_id": "1", "special_hours": list(rows)} | fields


def day(date: object = "2026-12-25", start: object = None, end: object = None) -> dict:
    return {"date": date, "start_time_local": start, "end_time_local": end}


def without(doc: dict, name: str) -> dict:
    return {k: v for k, v in doc.items() if k != name}


VALID = [
    poll(), poll(status="Inactive"), poll(timestamp_utc="2023-01-22T12:09:39.5+05:30"),
    poll(timestamp_utc="2023-01-22 12:09:39"), poll(timestamp_utc="2023-01-22T12:09:39z"),
    poll(store_id="a.b:c_d-1"), poll(store_id="x" * 128),
    hours(), hours(row(6, "9:00", "00:00"), row(3, "23:59:59.999999", "00:00:00")),
    hours(*[row(d % 7) for d in range(336)]), hours(row(2.0)),
    zone(), zone(timezone_str="America/Argentina/Buenos_Aires"), zone(timezone_str="Etc/GMT+5"),
    zone(timezone_str="UTC"),
    special(), special(day()), special(day(start="", end="")), special(day(end="")),
    special(day(start="18:00", end="2:00")),
    special(day("1970-01-01", "00:00", "00:00"), day("2100-12-31", "23:59:59.999999", "00:00")),
]

INVALID = [
    poll(extra=None), without(poll(), "status"), without(poll(), "store_id"),
    without(poll(), "timestamp_utc"), poll(type="Poll"), poll(store_id=1), poll(store_id=""),
    poll(store_id="-1"), poll(store_id="a b"), poll(store_id="x" * 129), poll(status="up"),
    poll(status=True), poll(status=""), poll(timestamp_utc="2023-01-22 12:09:39 EST"),
    poll(timestamp_utc="2023-01-22"), poll(timestamp_utc="2023-13-22 12:09:39"),
    poll(timestamp_utc="2023-01-22 24:00:00"), poll(timestamp_utc="2023-01-22 12:09:39.1234567"),
    poll(timestamp_utc=1674389379), hours(hours=None), hours(hours={}),
    without(hours(), "hours"), hours(row(7)), hours(row(-1)), hours(row("0")), hours(row(1.5)),
    hours(row(start="24:00")), hours(row(end="9")), hours(row(end="09:60")),
    hours(row(start=None)), hours(row() | {"dayOfWeek": 0}), hours(without(row(), "day")),
    hours([0, "09:00", "17:00"]), hours(*[row()] * 337), hours(store_id="=1"),
    zone(timezone_str=""), zone(timezone_str="America/New York"), zone(timezone_str=None),
    zone(tz="UTC"), without(zone(), "timezone_str"), {"store_id": "1"}, {"type": "store"}, [],
    special(special_hours=None), without(special(), "special_hours"), special(day(start="10:00")),
    special(day(start=None, end="10:00")), special(day()) | {"extra": 1},
    special(day("2026-12-25 00:00")), special(day("25.12.2026")), special(day(20812)),
    special(day("1969-12-31")), special(day("2101-01-01")), special(day(start="24:00", end="1:00")),
    special(without(day(), "end_time_local")), special(day() | {"day": 0}),
    special(["2026-12-25", None, None]), special(store_id="@1"),
]

# Refused by the decoder only: the schemas describe the structure, not the calendar or the
# IANA database (docs/events.md says so).
BEYOND_THE_SCHEMA = [
    poll(timestamp_utc="2023-02-30 00:00:00"), poll(timestamp_utc="1969-12-31 23:59:59 UTC"),
    poll(timestamp_utc="2101-01-01T00:00:00Z"), zone(timezone_str="america/chicago"),
    zone(timezone_str="CST"), zone(timezone_str="Mars/Olympus_Mons"),
    special(day("2026-02-30")), special(day("2023-04-31")),
]


@pytest.mark.parametrize("doc", VALID, ids=range(len(VALID)))
def test_valid_for_both(doc: dict) -> None:
    VALIDATORS[schema_of(doc)].validate(doc)
    assert not isinstance(decode_event(json.dumps(doc).encode()), str)


@pytest.mark.parametrize("doc", INVALID, ids=range(len(INVALID)))
def test_invalid_for_both(doc: object) -> None:
    kind = doc.get("type") if isinstance(doc, dict) else None
    for name in TYPES if kind not in TYPES else (kind,):
        assert not VALIDATORS[name].is_valid(doc), (name, doc)
    assert isinstance(decode_event(json.dumps(doc).encode()), str)


@pytest.mark.parametrize("doc", BEYOND_THE_SCHEMA, ids=range(len(BEYOND_THE_SCHEMA)))
def test_beyond_the_schema_the_decoder_refuses(doc: dict) -> None:
    assert VALIDATORS[schema_of(doc)].is_valid(doc)
    assert isinstance(decode_event(json.dumps(doc).encode()), str)


def test_every_known_zone_fits_the_schema() -> None:
    assert all(VALIDATORS["timezone"].is_valid(zone(timezone_str=tz)) for tz in known_timezones())
