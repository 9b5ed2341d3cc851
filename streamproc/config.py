"""Settings from environment variables, with defaults that work on a fresh checkout."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _project_root() -> Path:
    """The checkout when installed editable, else the current directory."""
    here = Path(__file__).resolve().parents[1]
    return here if (here / "pyproject.toml").exists() else Path.cwd()


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


@dataclass(frozen=True)
class Settings:
    """All knobs in one place; read once per process with :func:`load`."""

    broker_url: str = "kafka://127.0.0.1:9092"
    controller_port: int = 9093
    state_dir: Path = field(default_factory=lambda: _project_root() / ".streamproc")
    web_host: str = "127.0.0.1"
    web_port: int = 6066
    partitions: int = 8
    app_id: str = "streamproc"
    topic_polls: str = "store-polls"
    topic_hours: str = "store-hours"
    topic_timezones: str = "store-timezones"
    topic_deadletter: str = "streamproc-deadletter"
    topic_outages: str = "store-outages"
    topic_reports: str = "report-requests"
    api_token: str | None = None
    alert_webhook: str | None = None  # POST outage / recovery alerts here (docs/monitoring.md)
    alert_after_min: float = 30.0  # business minutes an outage lasts before it is alerted
    # A crashed worker keeps its partitions until its consumer-group session expires: this
    # bounds recovery after kill -9 (Faust's own default is 60 s).
    session_timeout_s: float = 20.0
    # Finished reports (their CSV files and records) are deleted after this long.
    report_retention_h: float = 168.0

    @property
    def bootstrap(self) -> str:
        """host:port form of the broker URL, for aiokafka and the Kafka CLI."""
        return self.broker_url.split("://", 1)[-1]

    @property
    def broker_port(self) -> int:
        return int(self.bootstrap.rsplit(":", 1)[1])

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
    def reports_dir(self) -> Path:
        return self.state_dir / "reports"


def load() -> Settings:
    """Build settings from STREAMPROC_* environment variables."""
    state_dir = os.environ.get("STREAMPROC_STATE_DIR")
    return Settings(
        broker_url=_env("STREAMPROC_BROKER", "kafka://127.0.0.1:9092"),
        controller_port=int(_env("STREAMPROC_CONTROLLER_PORT", "9093")),
        state_dir=Path(state_dir).resolve() if state_dir else _project_root() / ".streamproc",
        web_host=_env("STREAMPROC_WEB_HOST", "127.0.0.1"),
        web_port=int(_env("STREAMPROC_WEB_PORT", "6066")),
        partitions=int(_env("STREAMPROC_PARTITIONS", "8")),
        app_id=_env("STREAMPROC_APP_ID", "streamproc"),
        topic_polls=_env("STREAMPROC_TOPIC_POLLS", "store-polls"),
        topic_hours=_env("STREAMPROC_TOPIC_HOURS", "store-hours"),
        topic_timezones=_env("STREAMPROC_TOPIC_TIMEZONES", "store-timezones"),
        topic_deadletter=_env("STREAMPROC_TOPIC_DEADLETTER", "streamproc-deadletter"),
        topic_outages=_env("STREAMPROC_TOPIC_OUTAGES", "store-outages"),
        topic_reports=_env("STREAMPROC_TOPIC_REPORTS", "report-requests"),
        api_token=os.environ.get("STREAMPROC_API_TOKEN") or None,
        alert_webhook=os.environ.get("STREAMPROC_ALERT_WEBHOOK") or None,
        alert_after_min=float(_env("STREAMPROC_ALERT_AFTER", "30")),
        session_timeout_s=float(
            os.environ.get("STREAMPROC_SESSION_TIMEOUT")
            or os.environ.get("BROKER_SESSION_TIMEOUT")  # Faust's own name for it
            or "20"
        ),
        report_retention_h=float(_env("STREAMPROC_REPORT_RETENTION_HOURS", "168")),
    )
