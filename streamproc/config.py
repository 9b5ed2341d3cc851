"""Settings from environment variables, with defaults that work on a fresh checkout."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from streamproc.core import report_quota


def _project_root() -> Path:
    """The checkout when installed editable, else the current directory."""
    here = Path(__file__).resolve().parents[1]
    return here if (here / "pyproject.toml").exists() else Path.cwd()


@dataclass(frozen=True)
class Settings:
    """All knobs in one place; read once per process with :func:`load`."""

    broker_url: str = "kafka://127.0.0.1:9092"
    controller_port: int = 9093
    state_dir: Path = field(default_factory=lambda: _project_root() / ".streamproc")
    web_host: str = "127.0.0.1"
    web_port: int = 6066
    # The URL other workers reach this one at (default from web_host/web_port; required
    # when web_host is 0.0.0.0, e.g. http://worker1:6066 in docker-compose).
    web_url: str | None = None
    partitions: int = 8
    app_id: str = "streamproc"
    topic_polls: str = "store-polls"
    topic_hours: str = "store-hours"
    topic_timezones: str = "store-timezones"
    topic_special_hours: str = "store-special-hours"  # holidays, closures (compacted)
    topic_events: str = "store-events"  # the public event format (docs/events.md)
    topic_deadletter: str = "streamproc-deadletter"
    topic_outages: str = "store-outages"
    topic_reports: str = "report-requests"
    api_token: str | None = None
    # Workers call each other's /internal/* routes with this secret, and sign the caller of a
    # request they pass on with it. Unset, /internal/* is closed: one worker only.
    peer_secret: str | None = None
    # Serving on a non-loopback address without a token needs this said explicitly.
    allow_anonymous: bool = False
    # Host names an open service answers to besides localhost, 127.0.0.1, [::1], its bind
    # address and advertised URL (comma-separated): a guard against DNS rebinding.
    allowed_hosts: str | None = None
    live_max_clients: int = 1000  # /live subscribers per worker; more get 503
    # /live subscribers per owner on one worker (the operator has only the total); more: 429.
    live_max_per_principal: int = 20
    # owner_id,token_sha256,store_id rows: owners and the stores each may see (core/access.py)
    owners_file: Path | None = None
    # Pollers' tokens (comma-separated hex SHA-256): they may POST /events and nothing else.
    poller_tokens_sha256: str | None = None
    report_max_running: int = 2  # report generations at once per worker; more wait their turn
    # A report whose snapshot meets a moving assignment (a worker joining, leaving, killed)
    # retries against the new one; it fails only after this many seconds in which the
    # assignment stayed the same and no attempt succeeded.
    report_unstable_s: float = 60.0
    report_delay_s: float = 0.0  # tests only: each report generation sleeps this long first
    trigger_per_minute: float = 60.0  # report triggers per caller per minute (after the burst)
    trigger_burst: int = 60  # report triggers a caller may make at once
    session_hours: float = 12.0  # how long a dashboard session cookie is valid
    # Keys that sign dashboard session cookies (comma-separated, random, 32+ characters):
    # new cookies are signed with the first, any of them is accepted (rotation). Required
    # whenever the service is not open; the same on every worker.
    session_secret: str | None = None
    # A TLS-terminating proxy in front sets X-Forwarded-Proto: trust it (the session cookie is
    # then Secure when the client used HTTPS). Off: anyone could send the header.
    trust_proxy: bool = False
    # Session ids or principals (owner:alice, operator) whose session cookies are refused,
    # one a line; every worker watches the file (re-read within a second of a change).
    revoked_sessions_file: Path | None = None
    # An HTTP connection idle this long (no request yet, or between requests) is closed.
    http_idle_timeout_s: float = 15.0
    events_max_bytes: int = 4 << 20  # largest POST /events body (NDJSON or CSV)
    alert_webhook: str | None = None  # POST outage / recovery alerts here (docs/monitoring.md)
    alert_after_min: float = 30.0  # business minutes an outage lasts before it is alerted
    # Owners' and the operator's alert channels (Apprise URLs), mute and quiet windows
    # (TOML, core/channels.py, docs/notifications.md); re-read when it changes.
    channels_file: Path | None = None
    # A store not seen active this many minutes after an opening pages "did not open"
    # (90: stores are polled about hourly, so a shorter wait would page on the poll gap).
    no_open_after_min: float = 90.0
    alert_attempts: int = 10  # tries per channel (backoff 0.5 s doubling, capped at 30 s)
    notify_delay_s: float = 0.0  # tests only: wait this long before sending each alert
    # How often closed weeks are kept for the store trends (store-weeks table).
    trend_check_s: float = 300.0
    # An event-loop stall this long or longer is logged with the stack that held the loop.
    loop_stall_s: float = 0.5
    # A crashed worker keeps its partitions until its consumer-group session expires: this
    # bounds recovery after kill -9 (Faust's own default is 60 s).
    session_timeout_s: float = 20.0
    # Copies of every topic the project creates (3 on `streamproc broker start --brokers 3`).
    replication: int = 1
    # Finished reports (their CSV files and records) are deleted after this long.
    report_retention_h: float = 168.0
    # At most this many finished reports (and as many Expired records) are kept: the oldest
    # expire early, so the table and the reports folder stay bounded.
    reports_max: int = 1000
    # Each owner keeps at most this many finished reports (their oldest go, never another's:
    # reports_max is then the operator's count) and has at most this many generating at once.
    reports_max_per_owner: int = 100
    report_max_running_per_owner: int = 1
    expired_keep_h: float = 24.0  # an Expired record (410) is deleted this long after
    # The data set `streamproc bench` replays (a directory of the three CSV files), looked
    # for before ../shared/data; `--data` overrides it.
    bench_data: Path | None = None

    def __post_init__(self) -> None:
        # Several brokers: Faust's form, one URL per broker separated by ';' (faust's urllist
        # also splits on ',', but only this form carries a scheme on every entry).
        servers = parse_brokers(self.broker_url)
        if len(servers) > 1:
            scheme = _scheme_of(self.broker_url)
            object.__setattr__(
                self, "broker_url", ";".join(f"{scheme}://{s}" for s in servers))

    @property
    def alerts_enabled(self) -> bool:
        """Alerts are sent (and the ``outage-alerts`` table kept) once anyone listens."""
        return bool(self.alert_webhook or self.channels_file)

    @property
    def bootstrap(self) -> str:
        """host:port of every broker, comma-separated: the form of aiokafka's
        ``bootstrap_servers`` and of the Kafka CLI's ``--bootstrap-server``."""
        return ",".join(self.bootstrap_servers)

    @property
    def bootstrap_servers(self) -> list[str]:
        """host:port of each broker of ``broker_url``, in order."""
        return parse_brokers(self.broker_url)

    @property
    def loopback(self) -> bool:
        """Bound to this machine only (the developer's default)."""
        return self.web_host in LOOPBACK_HOSTS

    @property
    def open(self) -> bool:
        """No credential of any client role: everyone is an operator."""
        return not (self.api_token or self.owners_file is not None
                    or self.poller_tokens_sha256)

    def exposure_problem(self) -> str | None:
        """Why this worker must not start as configured (anyone on the network could read
        every store, or forge a session), or None; the message names the missing secret."""
        if not self.loopback and self.open and not self.allow_anonymous:
            return (f"refusing to serve on {self.web_host} without STREAMPROC_API_TOKEN: "
                    "anyone who reaches it could read every store. Set a token, bind "
                    "127.0.0.1, or set STREAMPROC_ALLOW_ANONYMOUS=1 to allow it on purpose")
        if not self.open and not self.session_secret:
            return ("refusing to start without STREAMPROC_SESSION_SECRET: it signs the "
                    "dashboard's session cookies. Set the same random value on every worker "
                    "(openssl rand -hex 32)")
        if not self.loopback and not self.peer_secret:
            # Workers on a network are meant to be several: without the secret they could
            # neither ask each other (/internal/* is closed) nor pass requests on.
            return (f"refusing to serve on {self.web_host} without STREAMPROC_PEER_SECRET: "
                    "workers call each other's /internal/* routes with it. Set the same "
                    "random secret on every worker (openssl rand -hex 32)")
        return None

    @property
    def advertised_url(self) -> str:
        """Where peers reach this worker: ``web_url``, else the bind address (the host name
        when it binds every interface, since 0.0.0.0 is no address to call)."""
        if self.web_url:
            return self.web_url.rstrip("/")
        host = self.web_host
        if host in ("0.0.0.0", "::", ""):
            host = socket.gethostname()
        return f"http://{host}:{self.web_port}"

    @property
    def broker_port(self) -> int:
        """The client port of the (first) broker."""
        return int(self.bootstrap_servers[0].rsplit(":", 1)[1])

    @property
    def broker_dir(self) -> Path:
        return self.state_dir / "kafka"

    @property
    def jars_dir(self) -> Path:
        return self.state_dir / "jars"

    @property
    def worker_dir(self) -> Path:
        return self.state_dir / "worker"

    @property
    def report_quota(self) -> report_quota.Quota:
        """Reports kept per principal and running per owner (core/report_quota.py)."""
        return report_quota.Quota(self.reports_max, self.reports_max_per_owner,
                                  self.report_max_running_per_owner)

    @property
    def reports_dir(self) -> Path:
        return self.state_dir / "reports"


DEFAULT_KAFKA_PORT = 9092
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def parse_brokers(url: str) -> list[str]:
    """``host:port`` of each broker in a broker URL list.

    Accepts one URL (``kafka://127.0.0.1:9092``) or several separated by ``,`` or ``;``, with
    or without a scheme each (``kafka://127.0.0.1:9092,127.0.0.1:9094`` or
    ``kafka://127.0.0.1:9092;kafka://127.0.0.1:9094``), like Faust's ``broker`` setting. A
    missing port is Kafka's 9092.
    """
    servers = []
    for item in url.replace(";", ",").split(","):
        address = item.strip().split("://", 1)[-1].strip().rstrip("/")
        if not address:
            continue
        if not address.rsplit("]", 1)[-1].count(":"):
            address = f"{address}:{DEFAULT_KAFKA_PORT}"
        servers.append(address)
    if not servers:
        raise ValueError(f"no broker in the broker URL {url!r}")
    return servers


def _scheme_of(url: str) -> str:
    """The first scheme written in a URL list (Faust applies it to entries without one)."""
    for item in url.replace(";", ",").split(","):
        scheme, sep, _ = item.strip().partition("://")
        if sep and scheme:
            return scheme
    return "kafka"


# Environment variable of each setting (its default is the field's default above).
ENV = {
    "broker_url": "STREAMPROC_BROKER",
    "controller_port": "STREAMPROC_CONTROLLER_PORT",
    "state_dir": "STREAMPROC_STATE_DIR",
    "web_host": "STREAMPROC_WEB_HOST",
    "web_port": "STREAMPROC_WEB_PORT",
    "web_url": "STREAMPROC_WEB_URL",
    "partitions": "STREAMPROC_PARTITIONS",
    "app_id": "STREAMPROC_APP_ID",
    "topic_polls": "STREAMPROC_TOPIC_POLLS",
    "topic_hours": "STREAMPROC_TOPIC_HOURS",
    "topic_timezones": "STREAMPROC_TOPIC_TIMEZONES",
    "topic_special_hours": "STREAMPROC_TOPIC_SPECIAL_HOURS",
    "topic_events": "STREAMPROC_TOPIC_EVENTS",
    "topic_deadletter": "STREAMPROC_TOPIC_DEADLETTER",
    "topic_outages": "STREAMPROC_TOPIC_OUTAGES",
    "topic_reports": "STREAMPROC_TOPIC_REPORTS",
    "api_token": "STREAMPROC_API_TOKEN",
    "peer_secret": "STREAMPROC_PEER_SECRET",
    "allow_anonymous": "STREAMPROC_ALLOW_ANONYMOUS",
    "allowed_hosts": "STREAMPROC_ALLOWED_HOSTS",
    "live_max_clients": "STREAMPROC_LIVE_MAX_CLIENTS",
    "live_max_per_principal": "STREAMPROC_LIVE_MAX_PER_PRINCIPAL",
    "owners_file": "STREAMPROC_OWNERS_FILE",
    "poller_tokens_sha256": "STREAMPROC_POLLER_TOKENS_SHA256",
    "report_max_running": "STREAMPROC_REPORT_MAX_RUNNING",
    "report_unstable_s": "STREAMPROC_REPORT_UNSTABLE_S",
    "report_delay_s": "STREAMPROC_REPORT_DELAY",
    "trigger_per_minute": "STREAMPROC_TRIGGER_PER_MINUTE",
    "trigger_burst": "STREAMPROC_TRIGGER_BURST",
    "session_hours": "STREAMPROC_SESSION_HOURS",
    "session_secret": "STREAMPROC_SESSION_SECRET",
    "trust_proxy": "STREAMPROC_TRUST_PROXY",
    "revoked_sessions_file": "STREAMPROC_REVOKED_SESSIONS_FILE",
    "http_idle_timeout_s": "STREAMPROC_HTTP_IDLE_TIMEOUT",
    "events_max_bytes": "STREAMPROC_EVENTS_MAX_BYTES",
    "alert_webhook": "STREAMPROC_ALERT_WEBHOOK",
    "alert_after_min": "STREAMPROC_ALERT_AFTER",
    "channels_file": "STREAMPROC_CHANNELS_FILE",
    "no_open_after_min": "STREAMPROC_NO_OPEN_AFTER",
    "alert_attempts": "STREAMPROC_ALERT_ATTEMPTS",
    "notify_delay_s": "STREAMPROC_NOTIFY_DELAY",
    "trend_check_s": "STREAMPROC_TREND_CHECK_S",
    "loop_stall_s": "STREAMPROC_LOOP_STALL_S",
    # Faust's own name for it is accepted too (see ALIASES).
    "session_timeout_s": "STREAMPROC_SESSION_TIMEOUT",
    "report_retention_h": "STREAMPROC_REPORT_RETENTION_HOURS",
    "reports_max": "STREAMPROC_REPORTS_MAX",
    "reports_max_per_owner": "STREAMPROC_REPORTS_MAX_PER_OWNER",
    "report_max_running_per_owner": "STREAMPROC_REPORT_MAX_RUNNING_PER_OWNER",
    "expired_keep_h": "STREAMPROC_EXPIRED_KEEP_HOURS",
    "replication": "STREAMPROC_REPLICATION",
    "bench_data": "STREAMPROC_BENCH_DATA",
}
ALIASES = {"session_timeout_s": ("BROKER_SESSION_TIMEOUT",)}


def _convert(name: str, text: str) -> object:
    kind = {f.name: f.type for f in fields(Settings)}[name]
    if "Path" in str(kind):
        return Path(text).resolve()
    if kind in (bool, "bool"):
        if text.lower() not in ("1", "true", "yes", "0", "false", "no"):
            raise ValueError(f"{ENV[name]} must be 1 or 0 (true/false), not {text!r}")
        return text.lower() in ("1", "true", "yes")
    if kind in (int, "int"):
        return int(text)
    if kind in (float, "float"):
        return float(text)
    return text


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Build settings from STREAMPROC_* environment variables (unset or empty: default).

    ``environ`` defaults to this process's environment; a process that starts workers of
    their own (the bench) passes theirs instead of changing its own."""
    source = os.environ if environ is None else environ
    values = {}
    for name, var in ENV.items():
        for candidate in (var, *ALIASES.get(name, ())):
            text = source.get(candidate)
            if text:
                values[name] = _convert(name, text)
                break
    return Settings(**values)
