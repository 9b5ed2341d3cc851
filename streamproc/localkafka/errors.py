"""The one exception of the local Kafka tooling."""

from __future__ import annotations


class BrokerError(Exception):
    """A failure with a one-line, user-facing message (the CLI prints it, no traceback)."""
