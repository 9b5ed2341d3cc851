"""Who may see what, as pure functions: roles, owners and their stores, sessions, rate limits.

Three kinds of callers reach a worker (README, "Who sees what"):

* an **operator** (``STREAMPROC_API_TOKEN``) sees everything, including the routes owners
  may not use (all but :data:`OWNER_ROUTES`: metrics, the full snapshot, Faust's views);
* an **owner** (a token listed, as its SHA-256, in ``STREAMPROC_OWNERS_FILE``) sees only the
  stores listed with it: another store is as unknown to them as a store that does not exist;
* a **poller** (a token whose SHA-256 is listed in ``STREAMPROC_POLLER_TOKENS_SHA256``) may
  only publish events (``POST /events``): a service that pings stores needs no other access;
* a **peer** (``STREAMPROC_PEER_SECRET``) calls ``/internal/*`` only (the middleware checks it).

With no operator token and no owners file the service is open (everyone is an operator), as
on a developer's machine; ``config.exposure_problem`` refuses that on a network address.

Tokens are never kept: owners are looked up by the SHA-256 of the token they present, and a
dashboard session is a signed cookie naming the principal, not the token.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

OPERATOR, OWNER, POLLER = "operator", "owner", "poller"
# Routes an owner may use (and what lies below them); everything else — /metrics,
# /snapshot.csv, Faust's /table, /router, /stats views, routes added later — is for operators:
# a new route leaks nothing to owners until it is listed here and filters by store.
OWNER_ROUTES = ("/stores", "/store", "/fleet", "/live", "/trigger_report", "/trigger-report",
                "/get_report", "/get-report", "/reports", "/openapi.json", "/docs", "/session")
POLLER_ROUTES = ("/events",)  # all a poller may use
SHA256_RE = re.compile(r"\A[0-9a-f]{64}\Z")
OWNER_ID_RE = re.compile(r"\A[A-Za-z0-9_.@-]{1,64}\Z")
STORE_ID_MAX = 128


@dataclass(frozen=True)
class Principal:
    """Who a request comes from: an operator (every store) or an owner (``stores``)."""

    role: str
    owner_id: str = ""
    stores: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_operator(self) -> bool:
        return self.role == OPERATOR

    @property
    def key(self) -> str:
        """A stable name for rate limits and report ownership (never the token)."""
        return OPERATOR if self.is_operator else f"{OWNER}:{self.owner_id}"


OPERATOR_PRINCIPAL = Principal(OPERATOR)
POLLER_PRINCIPAL = Principal(POLLER, "poller")


def parse_poller_hashes(text: str | None) -> frozenset[str]:
    """``STREAMPROC_POLLER_TOKENS_SHA256``: comma-separated hex SHA-256 of pollers' tokens;
    ValueError naming a bad entry (a typo must not silently refuse every poller)."""
    hashes = [h.strip().lower() for h in (text or "").split(",") if h.strip()]
    bad = [h for h in hashes if not SHA256_RE.match(h)]
    if bad:
        raise ValueError(f"STREAMPROC_POLLER_TOKENS_SHA256: {bad[0][:20]!r} is not a hex "
                         "SHA-256 (64 characters 0-9a-f: printf %s TOKEN | sha256sum)")
    return frozenset(hashes)


def token_hash(token: str) -> str:
    """The hex SHA-256 of a token: what the owners file stores instead of the token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# -- the owners file --------------------------------------------------------------------------


def parse_owners(text: str) -> dict[str, Principal]:
    """``owner_id,token_sha256,store_id`` rows (a header row first) -> owner by token hash.

    An owner may have several tokens and many stores (one row per store). Raises ValueError
    naming the line for a bad row, so a typo never silently opens or hides a store."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or [c.strip() for c in rows[0]] != ["owner_id", "token_sha256", "store_id"]:
        raise ValueError("owners file must start with the header owner_id,token_sha256,store_id")
    stores: dict[str, set[str]] = {}
    owner_of: dict[str, str] = {}
    for n, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip():
            continue
        owner, digest, store = _owner_row(row, n)
        if owner_of.setdefault(digest, owner) != owner:
            raise ValueError(f"owners file line {n}: token hash already belongs to "
                             f"{owner_of[digest]!r}")
        stores.setdefault(owner, set()).add(store)
    return {digest: Principal(OWNER, owner, frozenset(stores[owner]))
            for digest, owner in owner_of.items()}


def _owner_row(row: list[str], n: int) -> tuple[str, str, str]:
    if len(row) != 3:
        raise ValueError(f"owners file line {n}: expected 3 fields, got {len(row)}")
    owner, digest, store = (c.strip() for c in row)
    if not OWNER_ID_RE.match(owner):
        raise ValueError(f"owners file line {n}: bad owner_id {owner[:40]!r}")
    if not SHA256_RE.match(digest.lower()):
        raise ValueError(f"owners file line {n}: token_sha256 must be 64 hex digits")
    if not store or len(store) > STORE_ID_MAX:
        raise ValueError(f"owners file line {n}: bad store_id")
    return owner, digest.lower(), store


# -- identifying a request --------------------------------------------------------------------

# RFC 6750's token68: what a bearer token may be made of (printable ASCII, no spaces).
TOKEN68_RE = re.compile(r"\A[A-Za-z0-9._~+/-]+=*\Z")


def bearer_token(header: str) -> tuple[str | None, str | None]:
    """``(token, None)`` from an ``Authorization`` header, or ``(None, why)`` when it is no
    ``Bearer <token>``. The header may hold any bytes a client sent (undecodable ones arrive
    as surrogates): the reason is the client's to read, so nothing here may raise."""
    if not header.isascii() or not header.isprintable():
        return None, "the Authorization header must be printable ASCII"
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None, "the Authorization header must be 'Bearer <token>'"
    if not TOKEN68_RE.match(token.strip()):
        return None, "the bearer token has characters a token cannot have"
    return token.strip(), None


def identify(token: str | None, operator_token: str | None,
             owners: dict[str, Principal],
             pollers: frozenset[str] = frozenset()) -> Principal | None:
    """The principal a bearer token stands for; None when it opens nothing (401).

    No operator token, no owners and no pollers: the service is open and everyone is an
    operator."""
    if operator_token is None and not owners and not pollers:
        return OPERATOR_PRINCIPAL
    if token is None:
        return None
    if operator_token is not None and hmac.compare_digest(token.encode(),
                                                          operator_token.encode()):
        return OPERATOR_PRINCIPAL
    digest = token_hash(token)
    return POLLER_PRINCIPAL if digest in pollers else owners.get(digest)


def may_use_route(principal: Principal, path: str) -> bool:
    """Operators use every route; owners only :data:`OWNER_ROUTES` (which filter by store);
    pollers only :data:`POLLER_ROUTES`."""
    if principal.is_operator:
        return True
    if principal.role == POLLER:
        return path in POLLER_ROUTES
    return any(path == p or path.startswith(p + "/") for p in OWNER_ROUTES)


def may_see_store(principal: Principal, store_id: str) -> bool:
    return principal.is_operator or store_id in principal.stores


def visible(principal: Principal, store_ids: Iterable[str]) -> list[str]:
    """The ones of ``store_ids`` the principal may see, in order."""
    return [s for s in store_ids if may_see_store(principal, s)]


def may_see_report(principal: Principal, record: dict) -> bool:
    """Operators see every report; an owner only the reports they triggered."""
    return principal.is_operator or record.get("owner") == principal.key


def report_scope(principal: Principal) -> list[str] | None:
    """The stores a report triggered by ``principal`` covers (None: every store)."""
    return None if principal.is_operator else sorted(principal.stores)


def coalesce_key(principal: Principal, as_of: int | None, watermark: int | None) -> str:
    """Triggers with the same key (same requester, scope, requested time and watermark)
    would produce the same bytes, so they share one generation."""
    return f"{principal.key}|{as_of}|{watermark}"


# -- dashboard sessions -----------------------------------------------------------------------


SESSION_KEY_MIN = 32  # characters of each session key: a random secret, not a word


def session_keys(text: str | None) -> tuple[bytes, ...]:
    """``STREAMPROC_SESSION_SECRET``: comma-separated keys, the first signs, any verifies
    (add a new key first, drop the old one a session lifetime later). ValueError for a key
    too short to be a random secret."""
    keys = [k.strip() for k in (text or "").split(",") if k.strip()]
    if any(len(k) < SESSION_KEY_MIN for k in keys):
        raise ValueError(f"STREAMPROC_SESSION_SECRET: each key needs {SESSION_KEY_MIN}+ "
                         "random characters (openssl rand -hex 32)")
    return tuple(k.encode("utf-8") for k in keys)


def session_cookie(principal: Principal, key: bytes, expires_s: int,
                   session_id: str = "") -> str:
    """A signed cookie value naming the principal until ``expires_s`` (Unix seconds): the
    token itself is never stored in the browser after the exchange. ``session_id`` (random)
    names this session alone, so it can be revoked without ending the others."""
    body = f"{principal.role}|{principal.owner_id}|{int(expires_s)}"
    if session_id:
        body += f"|{session_id}"
    mac = hmac.new(key, body.encode(), hashlib.sha256).digest()
    return (base64.urlsafe_b64encode(body.encode()).decode().rstrip("=") + "."
            + base64.urlsafe_b64encode(mac).decode().rstrip("="))


def read_session(value: str, keys: tuple[bytes, ...], now_s: float,
                 owners: dict[str, Principal], operators: bool = True,
                 revoked: frozenset[str] = frozenset()) -> Principal | None:
    """The principal of a cookie made by :func:`session_cookie` with any of ``keys``; None
    when it is forged, expired, names an owner no longer in the owners file, names an
    operator where there is none (``operators``: an operator token is configured), or is
    ``revoked`` (its session id, or its principal's key such as ``owner:alice``)."""
    body_b64, _, mac_b64 = value.partition(".")
    try:
        body = base64.urlsafe_b64decode(body_b64 + "=" * (-len(body_b64) % 4))
        mac = base64.urlsafe_b64decode(mac_b64 + "=" * (-len(mac_b64) % 4))
    except (ValueError, TypeError):
        return None
    if not any(hmac.compare_digest(mac, hmac.new(key, body, hashlib.sha256).digest())
               for key in keys):
        return None
    parts = body.decode("utf-8", "replace").split("|")
    if len(parts) not in (3, 4):
        return None
    role, owner_id, expires = parts[:3]
    if not (expires.isascii() and expires.isdigit()) or int(expires) < now_s:
        return None
    named = {parts[3]} if len(parts) == 4 else set()
    if (named | {role if role == OPERATOR else f"{role}:{owner_id}"}) & revoked:
        return None
    if role == OPERATOR:
        return OPERATOR_PRINCIPAL if operators else None
    if role != OWNER:
        return None  # pollers publish with their token; a session is for the dashboard
    return next((p for p in owners.values() if p.owner_id == owner_id), None)


def parse_revoked(text: str) -> frozenset[str]:
    """The revoked sessions file: per line a session id (``POST /session`` answers it) or a
    principal's key (``owner:alice``, ``operator``: all its sessions); blank lines and
    ``#`` comments are skipped."""
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return frozenset(line for line in lines if line)


# -- trigger rate limit -----------------------------------------------------------------------


@dataclass
class RateLimit:
    """A token bucket per caller: ``burst`` triggers at once, then ``per_minute``.

    Pure: the caller passes the clock. :meth:`take` answers None (allowed) or the seconds to
    wait (the 429's Retry-After)."""

    per_minute: float
    burst: int
    buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    max_keys: int = 10_000

    def take(self, key: str, now: float) -> float | None:
        if not math.isfinite(now):
            raise ValueError("the clock must be finite")
        level, at = self.buckets.get(key, (float(self.burst), now))
        level = min(float(self.burst), level + max(now - at, 0.0) * self.per_minute / 60.0)
        if level >= 1.0:
            self._store(key, level - 1.0, now)
            return None
        self._store(key, level, now)
        return (1.0 - level) * 60.0 / self.per_minute

    def _store(self, key: str, level: float, now: float) -> None:
        if key not in self.buckets and len(self.buckets) >= self.max_keys:
            full = [k for k, (lv, at) in self.buckets.items()
                    if lv + (now - at) * self.per_minute / 60.0 >= self.burst]
            for k in full or list(self.buckets)[: len(self.buckets) // 2]:
                del self.buckets[k]
        self.buckets[key] = (level, now)
