"""A pacer for outbound mail: at most ``rate`` mails a second, in one place.

A token bucket holding one second's worth (at least one token): a burst after a pause goes
out at once up to that, then mail leaves every ``1/rate`` seconds. ``rate`` None or 0 means
no limit.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


def parse_rate(value: str | float | int | None) -> float | None:
    """``CPD_MAIL_RATE``: a positive number of mails a second; ``0`` or ``unlimited``
    (or empty) for no limit (None). ValueError for anything else."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("", "0", "unlimited", "none", "off"):
            return None
        value = float(text)
    rate = float(value)
    if rate != rate or rate < 0:  # NaN or negative
        raise ValueError("a mail rate is a number of mails a second, or 0/unlimited")
    return rate or None


class Pacer:
    """``await pacer.wait()`` before each mail."""

    def __init__(self, rate: float | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate or None
        self.capacity = max(1.0, self.rate or 1.0)
        self.clock = clock
        self._tokens = 1.0
        self._at = clock()

    def ready(self) -> bool:
        """Whether the next mail may go at once (``wait`` would not pause)."""
        if self.rate is None:
            return True
        return self._tokens + (self.clock() - self._at) * self.rate >= 1.0

    async def wait(self) -> None:
        """Return when the next mail may go (at once when there is no limit)."""
        if self.rate is None:
            return
        now = self.clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens < 1.0:
            await asyncio.sleep((1.0 - self._tokens) / self.rate)
            now = self.clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.rate)
            self._at = now
        self._tokens = max(0.0, self._tokens - 1.0)
