"""Rate limits on guest calls: at most ``limit`` calls per client address and method in a window of
``window`` seconds (a fixed window that starts with the first call).

Counted in this process by default; with Redis the counters are shared by every worker and instance (one
atomic script per call). If Redis cannot be reached, each process falls back to counting alone and says so
in the log, rather than refusing every guest or letting every guest through unchecked.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger(__name__)

# INCR and EXPIRE in one atomic step; the TTL tells the caller when the window ends.
_HIT_SCRIPT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('TTL', KEYS[1])}
"""
#: Prune expired in-process counters once there are this many.
_PRUNE_AT = 10_000
_WARN_EVERY = 60.0
#: After a Redis failure, count in-process for this long before trying Redis again (no wait per request).
_RETRY_REDIS_AFTER = 5.0


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    #: Seconds until the window ends (for Retry-After).
    retry_after: int


class RateLimiter(Protocol):
    def hit(self, key: str) -> Verdict:
        """Count one call under ``key`` and say whether it is within the limit."""

    def peek(self, key: str) -> Verdict:
        """Whether one more call under ``key`` would be within the limit, without counting it."""


class MemoryRateLimiter:
    def __init__(self, limit: int, window: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self._clock = limit, window, clock
        self._windows: dict[str, tuple[float, int]] = {}  # key -> (window end, calls)
        self._lock = threading.Lock()

    def hit(self, key: str) -> Verdict:
        now = self._clock()
        with self._lock:
            if len(self._windows) >= _PRUNE_AT:
                self._windows = {k: v for k, v in self._windows.items() if v[0] > now}
            end, calls = self._windows.get(key, (0.0, 0))
            if end <= now:
                end, calls = now + self.window, 0
            calls += 1
            self._windows[key] = (end, calls)
        return Verdict(calls <= self.limit, max(1, math.ceil(end - now)))

    def peek(self, key: str) -> Verdict:
        now = self._clock()
        with self._lock:
            end, calls = self._windows.get(key, (0.0, 0))
        if end <= now:
            return Verdict(True, self.window)
        return Verdict(calls < self.limit, max(1, math.ceil(end - now)))


class RedisRateLimiter:
    def __init__(self, client: redis.Redis, prefix: str, limit: int, window: int) -> None:
        self.limit, self.window, self.prefix = limit, window, prefix
        self._client = client
        self._script = client.register_script(_HIT_SCRIPT)
        self._fallback = MemoryRateLimiter(limit, window)
        self._warned_at = -math.inf
        self._down_until = -math.inf

    def hit(self, key: str) -> Verdict:
        now = time.monotonic()
        if now < self._down_until:
            return self._fallback.hit(key)
        try:
            calls, ttl = self._script(keys=[f"{self.prefix}:rate:{key}"], args=[self.window])
        except redis.RedisError as exc:
            self._down_until = now + _RETRY_REDIS_AFTER
            if now - self._warned_at >= _WARN_EVERY:
                self._warned_at = now
                log.warning("Redis is unreachable (%s): rate limits are counted per process", type(exc).__name__)
            return self._fallback.hit(key)
        return Verdict(int(calls) <= self.limit, max(1, int(ttl)))

    def peek(self, key: str) -> Verdict:
        now = time.monotonic()
        if now < self._down_until:
            return self._fallback.peek(key)
        try:
            calls, ttl = self._client.get(f"{self.prefix}:rate:{key}"), self._client.ttl(f"{self.prefix}:rate:{key}")
        except redis.RedisError:
            self._down_until = now + _RETRY_REDIS_AFTER
            return self._fallback.peek(key)
        return Verdict(int(calls or 0) < self.limit, max(1, int(ttl)))


def connect(redis_url: str) -> redis.Redis:
    """A client that fails fast: a rate-limit check must never hold a request up for long."""
    return redis.Redis.from_url(redis_url, socket_timeout=1.0, socket_connect_timeout=1.0, retry=Retry(NoBackoff(), 0))


def make_limiter(limit: int, window: int, redis_url: str, prefix: str) -> RateLimiter | None:
    """The limiter the settings ask for; None when limits are off (``limit`` 0)."""
    if limit == 0:
        return None
    if redis_url:
        return RedisRateLimiter(connect(redis_url), prefix, limit, window)
    return MemoryRateLimiter(limit, window)
