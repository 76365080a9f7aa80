"""Per-connection rate limits: how many events, and how much audio, a client may send.

A token bucket per limit: `burst` tokens to start with, refilled at `rate` per second up
to `burst` again. A bucket, not an allowance counted from the session's start: a client
quiet for ten minutes must not earn the right to send ten minutes' worth at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    def __init__(self, rate: float, burst: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = burst
        self._at = clock()

    def take(self, amount: float = 1.0) -> bool:
        """Spend `amount` if the bucket holds it; False (nothing spent) when it does not."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if amount > self._tokens:
            return False
        self._tokens -= amount
        return True
