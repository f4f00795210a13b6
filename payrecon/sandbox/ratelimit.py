"""A token bucket per merchant: the rate limit behind the platform's 429 (§5.5).

The real numbers are undocumented; the sandbox makes them configurable so a client's adaptive
concurrency can be tested. The bucket refills at ``rate`` tokens a second up to ``burst``; a call
that finds it empty is refused with the whole seconds until a token is back (``Retry-After``).
"""

from __future__ import annotations

import math
import time


class TokenBucket:
    """``take()`` answers None when a call may go ahead, else the seconds to wait (at least 1)."""

    __slots__ = ("_level", "_stamp", "burst", "rate")

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._level = burst
        self._stamp = time.monotonic()

    def take(self, now: float | None = None) -> int | None:
        now = time.monotonic() if now is None else now
        self._level = min(self.burst, self._level + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._level >= 1.0:
            self._level -= 1.0
            return None
        return max(1, math.ceil((1.0 - self._level) / self.rate))


class RateLimiter:
    """One bucket per merchant, created on first use; no limit at all when ``rate`` is None."""

    def __init__(self, rate: float | None, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, TokenBucket] = {}

    def take(self, merchant: str) -> int | None:
        if self.rate is None:
            return None
        bucket = self._buckets.get(merchant)
        if bucket is None:
            bucket = self._buckets[merchant] = TokenBucket(self.rate, self.burst)
        return bucket.take()
