"""Whether a request may come from where it says, as pure functions: the checks against
cross-site requests (CSRF) and DNS rebinding.

A browser attaches the session cookie to any request to this host, whichever page made it:
SameSite=Strict alone leaves older browsers and same-site subdomains. A state-changing
request with a cookie therefore needs positive evidence that this site's own page sent it
(``Sec-Fetch-Site: same-origin``, or an ``Origin`` naming this host). An open service (no
tokens, on loopback) has no cookie to protect, but a page whose name resolves to 127.0.0.1
(DNS rebinding) would read everything: it answers only to this machine's names in ``Host``.
"""

from __future__ import annotations

from collections.abc import Iterable

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SAME_ORIGIN = frozenset({"same-origin", "none"})  # "none": the user typed the URL
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})


def cross_site_problem(method: str, origin: str | None, fetch_site: str | None,
                       host: str | None, cookie_auth: bool) -> str | None:
    """Why an unsafe request must be refused as cross-site, or None. ``cookie_auth``: the
    caller is known by its session cookie, so the request must prove it is same-origin;
    otherwise (a bearer token, an open service) only evidence of another site refuses it."""
    if method.upper() in SAFE_METHODS:
        return None
    if fetch_site is not None:
        if fetch_site.lower() in SAME_ORIGIN:
            return None
        return f"cross-site request refused (Sec-Fetch-Site: {fetch_site[:20]})"
    if origin is not None:
        if host is not None and _origin_host(origin) == host.lower():
            return None
        return f"cross-site request refused (Origin {origin[:80]!r} is not this site)"
    if cookie_auth:
        return ("a request with a session cookie needs an Origin or Sec-Fetch-Site header "
                "(browsers send them; other clients use a bearer token)")
    return None


def _origin_host(origin: str) -> str | None:
    """``host[:port]`` of an Origin header, ``scheme://host[:port]`` (None for ``null``)."""
    scheme, sep, rest = origin.strip().partition("://")
    if not sep or scheme.lower() not in ("http", "https") or not rest or "/" in rest:
        return None
    return rest.lower()


def host_name(host: str) -> str:
    """The name of a ``Host`` header without its port, lower case, no trailing dot."""
    host = host.strip().lower()
    if host.startswith("["):  # [::1]:6066
        return host.partition("]")[0] + "]"
    if host.count(":") == 1:  # name:port (a bare IPv6 address has several)
        host = host.partition(":")[0]
    return host.rstrip(".")


def allowed_hosts(configured: str | None, own: Iterable[str]) -> frozenset[str]:
    """This machine's names, the names it is reached by (``own``: bind address, advertised
    URL) and ``STREAMPROC_ALLOWED_HOSTS`` (comma-separated)."""
    names = {n.strip() for n in (configured or "").split(",") if n.strip()} | set(own)
    return LOOPBACK_NAMES | {host_name(n) for n in names}


def host_allowed(host: str | None, allowed: frozenset[str]) -> bool:
    """``Host`` names one of ``allowed`` (a request without one comes from no browser)."""
    return host is None or host_name(host) in allowed
