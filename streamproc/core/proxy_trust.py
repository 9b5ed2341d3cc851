"""Whether the client reached us over TLS, as a pure function: behind a TLS-terminating
proxy the worker sees plain HTTP, so only the proxy's ``X-Forwarded-Proto`` tells. Anyone
can send that header, so it counts only when the operator says a proxy that sets it stands
in front (``STREAMPROC_TRUST_PROXY``)."""

from __future__ import annotations


def client_used_tls(direct_tls: bool, forwarded_proto: str | None, trust_proxy: bool) -> bool:
    """True when the connection to us is TLS, or a trusted proxy says the client's was.
    With several proxies the header is a list; the first entry is the client-facing hop."""
    if direct_tls:
        return True
    if not trust_proxy or not forwarded_proto:
        return False
    return forwarded_proto.split(",")[0].strip().lower() == "https"
