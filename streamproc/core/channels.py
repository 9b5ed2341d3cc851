"""Who hears about a store, and where: the channels file, parsed and checked, pure.

``STREAMPROC_CHANNELS_FILE`` is a TOML file next to the owners file (docs/notifications.md)::

    [operator]                      # every store
    urls = ["json://ops.example.com/hook"]

    [owners.alice]                  # an owner_id of the owners file: alice's stores only
    urls = ["mailto://alice:app-password@example.com", "ntfy://alice-stores"]
    timezone = "Europe/Berlin"      # of her quiet windows and digests (default: the store's)
    quiet = ["Mon-Fri 22:00-07:00", "Sun 00:00-00:00"]
    mute_until = "2026-12-24T08:00:00Z"

    [owners.alice.stores."9009"]    # per store: its own mute and quiet windows
    mute_until = "2026-12-31T00:00:00Z"

A URL is an Apprise URL (one scheme for ~100 services), or ``http(s)://`` for the plain
JSON alert POST of ``STREAMPROC_ALERT_WEBHOOK``. The URLs hold secrets (passwords, bot
tokens, webhook keys): :func:`mask_url` is the only form in which one is ever logged or
shown back. A bad file raises ValueError naming the entry, never the secret.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from streamproc.core.access import OWNER_ID_RE
from streamproc.core.hours import zone
from streamproc.core.timeparse import parse_time_of_day, parse_timestamp

OPERATOR = "operator"  # the audience name of the operator's channels
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_QUIET_RE = re.compile(
    r"\A\s*(?P<days>[A-Za-z,\-]+)\s+(?P<start>[0-9:]+)\s*-\s*(?P<end>[0-9:]+)\s*\Z")
_URL_RE = re.compile(r"\A[A-Za-z][A-Za-z0-9+.\-]*://\S+\Z")
_HOSTNAME_RE = re.compile(
    r"\A(localhost|\d{1,3}(\.\d{1,3}){3}|\[[0-9A-Fa-f:]+\]|([A-Za-z0-9-]+\.)+[A-Za-z]{2,})"
    r"(:\d{1,5})?\Z")
MAX_URLS = 20


@dataclass(frozen=True)
class QuietWindow:
    """A weekly window of local wall time: on each of ``days`` (0 = Monday) from ``start_us``
    to ``end_us`` that day, or to ``end_us`` the next day when ``end_us <= start_us`` (the
    business hours' rule, so ``00:00-00:00`` is the whole day)."""

    days: frozenset[int]
    start_us: int
    end_us: int


@dataclass(frozen=True)
class Silence:
    """When an owner (or one of their stores) does not want to be paged."""

    mute_until_us: int | None = None
    quiet: tuple[QuietWindow, ...] = ()


@dataclass(frozen=True)
class Audience:
    """The operator or one owner: where they hear, and when not."""

    name: str
    urls: tuple[str, ...] = ()
    timezone: str | None = None  # None: each store's own zone
    silence: Silence = Silence()
    store_silence: Mapping[str, Silence] = field(default_factory=dict)
    digest_daily_us: int | None = None  # local time of day of the daily digest
    digest_weekly: tuple[int, int] | None = None  # (weekday, local time of day)


@dataclass(frozen=True)
class Channels:
    operator: Audience | None = None
    owners: Mapping[str, Audience] = field(default_factory=dict)

    def audiences(self, store_id: str, owner_ids: Iterable[str]) -> list[Audience]:
        """Who hears about ``store_id``: the operator, then each of its owners that has an
        entry (sorted, so every worker plans the same deliveries)."""
        out = [self.operator] if self.operator is not None else []
        out += [self.owners[o] for o in sorted(set(owner_ids)) if o in self.owners]
        return out


def parse_channels(text: str) -> Channels:
    """The channels file's text -> :class:`Channels`; ValueError naming the bad entry."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"channels file: not TOML ({exc})") from None
    unknown = set(doc) - {"operator", "owners"}
    if unknown:
        raise ValueError(f"channels file: unknown section {sorted(unknown)[0]!r} "
                         "(expected [operator] and [owners.<owner_id>])")
    operator = _audience(OPERATOR, doc["operator"], "[operator]") if "operator" in doc else None
    owners_doc = doc.get("owners", {})
    if not isinstance(owners_doc, dict):
        raise ValueError("channels file: owners must be a table of [owners.<owner_id>]")
    owners = {}
    for owner_id, entry in owners_doc.items():
        if not OWNER_ID_RE.match(owner_id):
            raise ValueError(f"channels file: bad owner id {owner_id[:40]!r}")
        owners[owner_id] = _audience(owner_id, entry, f"[owners.{owner_id}]")
    return Channels(operator, owners)


def with_webhook(channels: Channels, webhook: str | None) -> Channels:
    """``STREAMPROC_ALERT_WEBHOOK`` kept working: one more operator URL."""
    if not webhook:
        return channels
    op = channels.operator or Audience(OPERATOR)
    if webhook in op.urls:
        return channels
    return Channels(Audience(op.name, (*op.urls, webhook), op.timezone, op.silence,
                             op.store_silence, op.digest_daily_us, op.digest_weekly),
                    channels.owners)


_AUDIENCE_KEYS = {"urls", "timezone", "quiet", "mute_until", "stores", "digest_daily",
                  "digest_weekly"}


def _audience(name: str, doc: Any, where: str) -> Audience:
    if not isinstance(doc, dict):
        raise ValueError(f"channels file: {where} must be a table")
    unknown = set(doc) - _AUDIENCE_KEYS
    if unknown:
        raise ValueError(f"channels file: {where}: unknown key {sorted(unknown)[0]!r}")
    urls = doc.get("urls", [])
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        raise ValueError(f"channels file: {where}: urls must be a list of strings")
    if len(urls) > MAX_URLS:
        raise ValueError(f"channels file: {where}: at most {MAX_URLS} urls")
    for n, url in enumerate(urls, start=1):
        if not _URL_RE.match(url):
            raise ValueError(f"channels file: {where}: url {n} is not scheme://... "
                             f"({mask_url(url)})")
    tz = doc.get("timezone")
    if tz is not None:
        try:
            zone(str(tz))
        except Exception:  # noqa: BLE001 - zoneinfo raises several kinds
            raise ValueError(f"channels file: {where}: unknown timezone {str(tz)[:60]!r}") from None
    stores = doc.get("stores", {})
    if not isinstance(stores, dict):
        raise ValueError(f"channels file: {where}: stores must be a table")
    per_store = {str(s): _silence(v, f"{where} store {s}") for s, v in stores.items()}
    daily = doc.get("digest_daily")
    weekly = doc.get("digest_weekly")
    return Audience(
        name, tuple(urls), tz, _silence(doc, where), per_store,
        None if daily is None else _time(daily, f"{where} digest_daily"),
        None if weekly is None else _weekly(weekly, f"{where} digest_weekly"),
    )


def _silence(doc: Any, where: str) -> Silence:
    if not isinstance(doc, dict):
        raise ValueError(f"channels file: {where} must be a table")
    mute = doc.get("mute_until")
    mute_us = None
    if mute is not None:
        try:
            mute_us = parse_timestamp(mute if isinstance(mute, str) else mute.isoformat())
        except (ValueError, AttributeError) as exc:
            raise ValueError(f"channels file: {where}: mute_until: {exc}") from None
    quiet = doc.get("quiet", [])
    if not isinstance(quiet, list):
        raise ValueError(f"channels file: {where}: quiet must be a list of strings")
    return Silence(mute_us, tuple(parse_quiet(q, where) for q in quiet))


def parse_quiet(text: Any, where: str = "quiet") -> QuietWindow:
    """``"Mon-Fri 22:00-07:00"``, ``"Sat,Sun 00:00-00:00"``, ``"daily 12:00-13:00"``."""
    m = _QUIET_RE.match(text) if isinstance(text, str) else None
    if m is None:
        raise ValueError(f"channels file: {where}: quiet window {str(text)[:40]!r} is not "
                         "'<days> HH:MM-HH:MM' (days: daily, Mon-Fri, Sat,Sun)")
    return QuietWindow(parse_days(m["days"], where), _time(m["start"], where),
                       _time(m["end"], where))


def parse_days(text: str, where: str = "days") -> frozenset[int]:
    """``daily``, ``Mon``, ``Mon-Fri``, ``Fri-Mon`` (wrapping), ``Sat,Sun`` -> weekdays."""
    if text.lower() == "daily":
        return frozenset(range(7))
    days: set[int] = set()
    for part in text.lower().split(","):
        lo, _, hi = part.partition("-")
        if lo not in DAYS or (hi and hi not in DAYS):
            raise ValueError(f"channels file: {where}: bad days {text[:20]!r}")
        a, b = DAYS.index(lo), DAYS.index(hi or lo)
        days.update((a + i) % 7 for i in range((b - a) % 7 + 1))
    return frozenset(days)


def _time(text: Any, where: str) -> int:
    try:
        return parse_time_of_day(str(text))
    except ValueError as exc:
        raise ValueError(f"channels file: {where}: {exc}") from None


def _weekly(text: Any, where: str) -> tuple[int, int]:
    day, _, tod = str(text).strip().partition(" ")
    if day.lower() not in DAYS:
        raise ValueError(f"channels file: {where}: expected '<Mon..Sun> HH:MM'")
    return DAYS.index(day.lower()), _time(tod, where)


# -- secrets ------------------------------------------------------------------------------------


def mask_url(url: str) -> str:
    """A URL safe to log or show: scheme, a host name and its user name kept; a password, a
    token in the host position (``tgram://<bot token>/...``), every path segment and every
    query value masked to at most their first two characters.

    Apprise puts secrets in any of those places depending on the service, so everything
    that is not plainly a host name is masked."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "***"
    location, qsep, query = rest.partition("?")
    location = location.split("#", 1)[0]
    head, _, path = location.partition("/")
    userinfo, at, host = head.rpartition("@")
    shown = scheme + "://"
    is_host = bool(_HOSTNAME_RE.match(host))
    if at:  # a user name before a host name is a login; before a token it is a key
        user, colon, _password = userinfo.partition(":")
        shown += _part(user, keep=is_host) + (":***" if colon else "") + "@"
    shown += host if is_host else _part(host)
    if path:
        shown += "/" + "/".join(_part(seg) for seg in path.split("/"))
    if qsep:
        pairs = [p.partition("=") for p in query.split("&") if p]
        shown += "?" + "&".join(k[:40] + (("=" + _part(v)) if eq else "") for k, eq, v in pairs)
    return shown


def _part(text: str, keep: bool = False) -> str:
    if not text:
        return ""
    if keep and len(text) <= 24 and re.fullmatch(r"[A-Za-z0-9_.\-+%]*", text):
        return text  # a user name: shown, so an owner can tell two addresses apart
    return text[:2] + "***" if len(text) > 6 else "***"
