"""Rate limits: a token bucket per key, in this process.

Sign-in attempts are limited per client address and per login, writes per
member (or token) and per address. The buckets live in memory: a deployment
of several processes limits each one, which still bounds guessing and
flooding (the core's own limits on codes and tries hold across processes).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from huarong_web.settings import RateLimit

__all__ = ["RateLimiter"]

MAX_KEYS = 100_000


class RateLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}

    def take(self, kind: str, key: str, limit: RateLimit) -> float:
        """Spend one request of `key`'s bucket: 0 when allowed, else the seconds to wait."""
        now = self._clock()
        tokens, last = self._buckets.get((kind, key), (float(limit.count), now))
        tokens = min(float(limit.count), tokens + (now - last) * limit.per_second)
        if tokens < 1.0:
            self._buckets[(kind, key)] = (tokens, now)
            return (1.0 - tokens) / limit.per_second
        self._buckets[(kind, key)] = (tokens - 1.0, now)
        if len(self._buckets) > MAX_KEYS:
            self._forget_idle(now)
        return 0.0

    def _forget_idle(self, now: float) -> None:
        """Drop the buckets touched longest ago (a full bucket is the same as none)."""
        ordered = sorted(self._buckets.items(), key=lambda item: item[1][1])
        for key, _ in ordered[: len(ordered) // 2]:
            del self._buckets[key]


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
