"""A small sliding-window rate limiter (per process). Behind a load balancer with many backend processes,
put the same limits in the proxy as well."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque


class RateLimiter:
    def __init__(self, spec: str) -> None:
        """``spec`` like ``"10/minute"``, ``"20/hour"``, ``"5/second"``."""
        count, _, unit = spec.partition("/")
        self.limit = int(count)
        self.window = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}[unit.strip()]
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, key: str) -> tuple[bool, float]:
        """Record a hit for ``key``; returns (allowed, seconds until the next hit would be allowed)."""
        now = time.monotonic()
        with self._lock:
            hits = self._hits[key]
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return False, hits[0] + self.window - now
            hits.append(now)
            return True, 0.0
