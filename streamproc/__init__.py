"""streamproc: store uptime within business hours, computed incrementally from Kafka events."""

__version__ = "0.1.0"
