"""Roles on every route: who a request comes from (operator, owner, peer) and what it may
reach. The rules are pure in :mod:`streamproc.core.access`; this reads credentials (bearer
header or session cookie), the owners file, and answers 401/403/404.

The dashboard exchanges its token once (``POST /session``) for an HttpOnly, SameSite=Strict
cookie holding a signed principal, never the token, so no token travels in a URL.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from aiohttp import web

from streamproc.core import access, peer_caller, proxy_trust, request_origin
from streamproc.core.access import Principal
from streamproc.web import openapi
from streamproc.web.http import error_response, json_response
from streamproc.web.owners_file import OwnersFile
from streamproc.web.revocations import RevokedSessions

if TYPE_CHECKING:
    from streamproc.config import Settings

ACCESS: web.AppKey = web.AppKey("streamproc.access", object)
PRINCIPAL: web.RequestKey = web.RequestKey("streamproc.principal", Principal)
COOKIE = "streamproc_session"
INTERNAL_PREFIX = "/internal/"
# No data: the probes, and the dashboard page (its data needs a token).
PUBLIC_PATHS = frozenset({"/health", "/health/live", "/health/ready", "/"})
SESSION = "/session"  # POST checks the token itself; DELETE needs the session it ends
PUBLIC_PREFIXES = ("/static/",)  # its script and style
UNAUTHORIZED = {"WWW-Authenticate": 'Bearer realm="streamproc"'}


@dataclass
class Access:
    """The credentials this worker accepts, read once at start."""

    operator_token: str | None
    peer_secret: str | None
    owners: dict[str, Principal] = field(default_factory=dict)
    pollers: frozenset[str] = frozenset()  # SHA-256 of the pollers' tokens (POST /events only)
    # Session cookie keys: the first signs, any verifies (STREAMPROC_SESSION_SECRET).
    session_keys: tuple[bytes, ...] = ()
    session_s: float = 12 * 3600
    # Names an open service answers to in Host (request_origin.allowed_hosts).
    hosts: frozenset[str] = request_origin.LOOPBACK_NAMES
    trust_proxy: bool = False  # X-Forwarded-Proto is believed (STREAMPROC_TRUST_PROXY)
    revoked: RevokedSessions = field(default_factory=lambda: RevokedSessions(None))
    owners_file: OwnersFile | None = None  # watched: ``owners`` is its version at start

    @classmethod
    def from_settings(cls, settings: Settings) -> Access:
        owners_file = None if settings.owners_file is None else OwnersFile(settings.owners_file)
        owners = {} if owners_file is None else owners_file.current()
        # A dedicated secret shared by the workers (a cookie made by one is read by all),
        # never derived from what others may hold (the owners file is hashes, so shared).
        keys = access.session_keys(settings.session_secret)
        if not keys and not settings.open:
            raise ValueError("STREAMPROC_SESSION_SECRET is required when tokens are set")
        pollers = access.parse_poller_hashes(settings.poller_tokens_sha256)
        own = (settings.web_host, urlsplit(settings.advertised_url).hostname or "")
        return cls(settings.api_token, settings.peer_secret, owners, pollers,
                   keys or (secrets.token_bytes(32),), settings.session_hours * 3600,
                   request_origin.allowed_hosts(settings.allowed_hosts, own),
                   settings.trust_proxy, RevokedSessions(settings.revoked_sessions_file),
                   owners_file)

    def current_owners(self) -> dict[str, Principal]:
        """The owners now: the owners file's current version when it is watched."""
        return self.owners if self.owners_file is None else self.owners_file.current()

    @property
    def open(self) -> bool:
        """No operator token, owners or pollers: everyone is an operator (loopback default)."""
        return self.operator_token is None and not self.owners and not self.pollers

    def principal(self, request: web.Request) -> Principal | None:
        """Who the request comes from (bearer token first, then the session cookie)."""
        if self.open:
            return access.OPERATOR_PRINCIPAL
        signed = request.headers.get(peer_caller.HEADER)
        if signed is not None:  # passed on by another worker (never with the client's token)
            if not self.peer_secret:
                return None
            return peer_caller.verify(signed, request.method, request.path, time.time(),
                                      self.peer_secret, self.current_owners(),
                                      operators=self.operator_token is not None)
        given = request.headers.get("Authorization", "")
        if given:
            token, _ = access.bearer_token(given)
            if token is None:
                return None
            return access.identify(token, self.operator_token, self.current_owners(),
                                   self.pollers)
        cookie = request.cookies.get(COOKIE)
        if cookie:
            return access.read_session(cookie, self.session_keys, time.time(),
                                       self.current_owners(),
                                       operators=self.operator_token is not None,
                                       revoked=self.revoked.current())
        return None

    def peer_ok(self, request: web.Request) -> bool:
        """``/internal/*`` hands out every store's rows: it answers the peer secret alone,
        and nobody at all without one (never a client token, never an open service)."""
        if not self.peer_secret:
            return False
        given = request.headers.get("Authorization", "").encode("utf-8", "replace")
        return hmac.compare_digest(given, f"Bearer {self.peer_secret}".encode())


def caller_headers(request: web.Request, method: str, path: str) -> dict[str, str]:
    """What a request passed on to another worker carries instead of the client's
    credentials: its caller signed with the peer secret (nothing on an open service, where
    there is nobody to name). LookupError when it cannot be passed on (no peer secret)."""
    acc: Access = request.app[ACCESS]
    if acc.peer_secret:
        signed = peer_caller.sign(principal_of(request), method, path, time.time(),
                                  acc.peer_secret)
        return {peer_caller.HEADER: signed}
    if acc.open:
        return {}
    raise LookupError("this request is for another worker, and STREAMPROC_PEER_SECRET is not "
                      "set: requests are passed between workers only with it")


def principal_of(request: web.Request) -> Principal:
    """The caller (set by the middleware; an operator where no credentials are configured)."""
    return request.get(PRINCIPAL, access.OPERATOR_PRINCIPAL)


def still_signed_in(request: web.Request) -> bool:
    """The session cookie the request came with is still good (not expired, not signed with
    a dropped key, its owner still listed): a long request such as ``/live`` asks this as it
    goes, so it ends with its session. Requests not made with a cookie answer True."""
    acc: Access = request.app[ACCESS]
    if not _by_cookie(acc, request):
        return True
    return acc.principal(request) == request.get(PRINCIPAL)


def _check(acc: Access, request: web.Request) -> web.Response | None:
    """The refusal for this request, or None (the principal is then on the request)."""
    path = request.path
    if path.startswith(INTERNAL_PREFIX):
        if acc.peer_ok(request):
            return None
        if not acc.peer_secret:
            return error_response(401, "/internal/* is closed: STREAMPROC_PEER_SECRET is not "
                                  "set (workers need it to ask each other)", UNAUTHORIZED)
        return error_response(401, "missing or wrong peer secret", UNAUTHORIZED)
    if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES) or (
            path == SESSION and request.method == "POST"):
        return None
    if acc.open and not request_origin.host_allowed(request.headers.get("Host"), acc.hosts):
        return error_response(403, "this open service answers only to this machine's names "
                              "in Host (add others to STREAMPROC_ALLOWED_HOSTS)")
    principal = acc.principal(request)
    if principal is None:
        return error_response(401, _why_unauthorized(request), UNAUTHORIZED)
    problem = request_origin.cross_site_problem(
        request.method, request.headers.get("Origin"), request.headers.get("Sec-Fetch-Site"),
        request.headers.get("Host"), cookie_auth=_by_cookie(acc, request))
    if problem:
        return error_response(403, problem)
    request[PRINCIPAL] = principal
    if not access.may_use_route(principal, path):
        return error_response(403, "this route is for operators only")
    store_id = request.match_info.get("store_id")
    if store_id is not None and not access.may_see_store(principal, store_id):
        return error_response(404, f"unknown store {store_id[:80]}")
    return None


def _by_cookie(acc: Access, request: web.Request) -> bool:
    """The caller is known by the session cookie the browser attached (not a bearer token,
    not a caller signed by another worker)."""
    return not acc.open and "Authorization" not in request.headers and \
        peer_caller.HEADER not in request.headers and COOKIE in request.cookies


def _why_unauthorized(request: web.Request) -> str:
    """The specific reason a request identifies nobody (a malformed header says so)."""
    given = request.headers.get("Authorization", "")
    if given:
        return access.bearer_token(given)[1] or "wrong bearer token"
    if COOKIE in request.cookies:
        return "session expired or not valid here: sign in again"
    return "missing bearer token"


def make_middleware(acc: Access):
    @web.middleware
    async def auth(request: web.Request, handler) -> web.StreamResponse:
        refusal = _check(acc, request)
        return refusal if refusal is not None else await handler(request)

    return auth


# -- the dashboard's session ------------------------------------------------------------------


async def start_session(request: web.Request) -> web.Response:
    """``POST /session`` with ``Authorization: Bearer <token>``: a session cookie for it."""
    acc: Access = request.app[ACCESS]
    principal = acc.principal(request) if request.headers.get("Authorization") else None
    if principal is None and not acc.open:
        return error_response(401, "missing or wrong bearer token", UNAUTHORIZED)
    principal = principal or access.OPERATOR_PRINCIPAL
    if principal.role == access.POLLER:  # no route would accept its cookie
        return error_response(403, "a poller publishes with its token: a session is for the "
                              "dashboard (operators and owners)")
    session_id = secrets.token_urlsafe(12)  # to revoke this session alone
    value = access.session_cookie(principal, acc.session_keys[0],
                                  int(time.time() + acc.session_s), session_id)
    resp = json_response({"role": principal.role, "owner_id": principal.owner_id or None,
                          "stores": None if principal.is_operator else len(principal.stores),
                          "session_id": session_id})
    resp.set_cookie(COOKIE, value, max_age=int(acc.session_s), httponly=True,
                    samesite="Strict", path="/", secure=_client_tls(acc, request))
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _client_tls(acc: Access, request: web.Request) -> bool:
    """The client used HTTPS: to us, or to the trusted proxy in front (finding 10)."""
    return proxy_trust.client_used_tls(request.secure, request.headers.get("X-Forwarded-Proto"),
                                       acc.trust_proxy)


async def end_session(request: web.Request) -> web.Response:
    """``DELETE /session``: forget the cookie."""
    resp = json_response({"ended": True})
    resp.del_cookie(COOKIE, path="/")
    return resp


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post("/session", start_session)
    router.add_delete("/session", end_session)
    _describe()


def _describe() -> None:
    session = {"type": "object", "required": ["role"], "properties": {
        "role": {"enum": [access.OPERATOR, access.OWNER]},
        "owner_id": {"type": ["string", "null"]},
        "stores": {"type": ["integer", "null"], "description": "how many (owners)"},
        "session_id": {"type": "string", "description": "names this session in "
                       "STREAMPROC_REVOKED_SESSIONS_FILE (to revoke it)"}}}
    cookie = {"Set-Cookie": {"schema": {"type": "string"},
                             "description": f"{COOKIE}=...; HttpOnly; SameSite=Strict"}}
    openapi.add_path("/session", {
        "post": {
            "operationId": "startSession",
            "summary": "Exchange the bearer token for a session cookie (the dashboard)",
            "description": "The cookie names the caller, signed, never the token; later "
                           "requests need no Authorization header.",
            "responses": {"200": {"description": "The session's caller", "headers": cookie,
                                  "content": openapi.json_content(session)},
                          "403": openapi.error("A poller's token (a session is for the "
                                               "dashboard: operators and owners); or a "
                                               "request from another site")},
        },
        "delete": {
            "operationId": "endSession",
            "summary": "Forget the session cookie",
            "responses": {"200": {"description": "Ended", "content": openapi.json_content(
                {"type": "object", "properties": {"ended": {"type": "boolean"}}})}},
        },
    })
