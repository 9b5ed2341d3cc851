"""A tiny progress line for long work: shown only on a terminal, silent in CI and pipes."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Counts items and redraws ``label: N rows  R rows/s  [ETA]`` at most a few times a second."""

    def __init__(self, label: str, total: int | None = None, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = total
        self.count = 0
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.started = time.monotonic()
        self._last_draw = 0.0

    def advance(self, n: int = 1) -> None:
        self.count += n
        if self.enabled:
            now = time.monotonic()
            if now - self._last_draw >= 0.25:
                self._last_draw = now
                self._draw(now)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def rate(self) -> float:
        return self.count / self.elapsed if self.elapsed > 0 else 0.0

    def _draw(self, now: float) -> None:
        rate = self.rate
        line = f"\r{self.label}: {self.count:,} rows  {rate:,.0f} rows/s"
        if self.total and rate > 0:
            eta = max(self.total - self.count, 0) / rate
            line += f"  {100 * self.count / self.total:5.1f}%  ETA {eta:,.0f}s"
        self.stream.write(line + "   ")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw(time.monotonic())
            self.stream.write("\n")
            self.stream.flush()
