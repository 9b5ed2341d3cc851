"""Who a request passed on between workers comes from, signed with the peer secret.

A worker that passes a client's request to the worker holding its store or report must not
pass the client's credentials (a bearer token, a session cookie) to whatever address the
consumer group's metadata advertises. It sends instead the principal it has already
authenticated, with an HMAC (the peer secret) over principal, method, path and time: only a
worker holding the secret can make one, and one seen on the wire is good for that method and
path for :data:`MAX_SKEW_S` only.
"""

from __future__ import annotations

import hashlib
import hmac

from streamproc.core.access import (
    OPERATOR,
    OPERATOR_PRINCIPAL,
    OWNER,
    POLLER,
    POLLER_PRINCIPAL,
    Principal,
)

HEADER = "X-Streamproc-Caller"
MAX_SKEW_S = 30  # seconds a signed caller is accepted either side of the receiver's clock


def _mac(secret: str, body: str, method: str, path: str) -> str:
    message = f"{body}|{method.upper()}|{path}".encode("utf-8", "surrogatepass")
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(principal: Principal, method: str, path: str, now_s: float, secret: str) -> str:
    """The header value naming ``principal`` for one ``method`` on ``path`` at ``now_s``."""
    body = f"{principal.role}|{principal.owner_id}|{int(now_s)}"
    return f"{body}|{_mac(secret, body, method, path)}"


def verify(value: str, method: str, path: str, now_s: float, secret: str,
           owners: dict[str, Principal], operators: bool) -> Principal | None:
    """The principal a header made by :func:`sign` names, or None when it is forged, made
    for another method or path, too old (or too far ahead), or names an owner this worker
    does not know, or an operator where there is none (``operators``). An owner's stores
    come from this worker's owners file, not from the message."""
    parts = value.split("|")
    if len(parts) != 4:
        return None
    role, owner_id, stamp, mac = parts
    body = f"{role}|{owner_id}|{stamp}"
    if not hmac.compare_digest(mac.encode("utf-8", "replace"),
                               _mac(secret, body, method, path).encode()):
        return None
    if not (stamp.isascii() and stamp.isdigit()) or abs(int(stamp) - now_s) > MAX_SKEW_S:
        return None
    if role == OPERATOR:
        return OPERATOR_PRINCIPAL if operators else None
    if role == POLLER:
        return POLLER_PRINCIPAL
    if role != OWNER:
        return None
    return next((p for p in owners.values() if p.owner_id == owner_id), None)
