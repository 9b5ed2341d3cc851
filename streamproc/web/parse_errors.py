"""Requests aiohttp cannot parse (a NUL byte or a bad character in a header, a broken
request line) are answered 400 by aiohttp itself, which logs each with a full traceback at
ERROR. Anyone could fill the worker's log that way, one traceback per request, and bury real
errors: such a record is logged again at debug level, one line, no traceback."""

from __future__ import annotations

import logging

from aiohttp.http_exceptions import HttpProcessingError

SERVER_LOGGER = "aiohttp.server"  # aiohttp's RequestHandler logs there (Faust keeps it)


class QuietParseErrors(logging.Filter):
    """Drops aiohttp's ERROR for a request it could not parse (the client still gets its
    400), after logging one line about it at debug level."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, HttpProcessingError):
            return True
        logging.getLogger("streamproc.web").debug(
            "malformed request answered %s: %s", exc.code, str(exc.message)[:120])
        return False


def install() -> None:
    """Once per process (the filter is on a module-level logger)."""
    logger = logging.getLogger(SERVER_LOGGER)
    if not any(isinstance(f, QuietParseErrors) for f in logger.filters):
        logger.addFilter(QuietParseErrors())
