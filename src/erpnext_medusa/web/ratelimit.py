"""Rate limits: at most ``limit`` calls under one key (a client address and method, a storefront key, a user's
logins) in any ``window`` seconds. The window slides: the calls admitted in the last ``window`` seconds are
remembered, so no client gets more than its budget in any span of that length, however the calls straddle
a boundary (a fixed window would let twice the budget through across its edge). Refused calls are not
remembered, so memory stays bounded by the budget.

Counted in this process by default; with Redis the counters are shared by every worker and instance (one
atomic script per call), under ``<prefix>:rate:<SHA-256 of the key>``: a key holds no text a client sent, and
no counter's name can be another's (or the ``:seq`` key the script keeps beside each). If Redis cannot be
reached, each process falls back to counting alone and says so in the log, rather than refusing every guest or
letting every guest through unchecked.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from erpnext_medusa.domain.accounts import login_key
from erpnext_medusa.domain.errors import TooManyRequestsError

log = logging.getLogger(__name__)

# One atomic step on a sorted set of admitted calls (scored by their time in ms): forget those older than the
# window, admit the call if fewer than the limit remain, and say when the oldest leaves. ARGV: window ms, limit,
# 1 to count the call (0 to only look). The time is Redis's own, so every process shares one clock.
_HIT_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
local allowed = n < tonumber(ARGV[2])
if allowed and ARGV[3] == '1' then
  redis.call('ZADD', KEYS[1], now, now .. ':' .. redis.call('INCR', KEYS[1] .. ':seq'))
  redis.call('PEXPIRE', KEYS[1], window)
  redis.call('PEXPIRE', KEYS[1] .. ':seq', window)
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local wait = window
if oldest[2] then wait = tonumber(oldest[2]) + window - now end
return {allowed and 1 or 0, wait}
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
    #: Counts in this process, without I/O (so it may be asked on the event loop, without a thread hop).
    local: bool

    def hit(self, key: str) -> Verdict:
        """Count one call under ``key`` and say whether it is within the limit."""

    def peek(self, key: str) -> Verdict:
        """Whether one more call under ``key`` would be within the limit, without counting it."""


class MemoryRateLimiter:
    local = True

    def __init__(self, limit: int, window: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self._clock = limit, window, clock
        self._calls: dict[str, deque[float]] = {}  # key -> times of the admitted calls, oldest first
        self._lock = threading.Lock()

    def _check(self, key: str, count: bool) -> Verdict:
        now = self._clock()
        with self._lock:
            if len(self._calls) >= _PRUNE_AT:
                self._calls = {k: v for k, v in self._calls.items() if v and v[-1] > now - self.window}
            calls = self._calls.setdefault(key, deque())
            while calls and calls[0] <= now - self.window:
                calls.popleft()
            allowed = len(calls) < self.limit
            if allowed and count:
                calls.append(now)
            wait = calls[0] + self.window - now if calls else self.window
        return Verdict(allowed, max(1, math.ceil(wait)))

    def hit(self, key: str) -> Verdict:
        return self._check(key, True)

    def peek(self, key: str) -> Verdict:
        return self._check(key, False)


class RedisRateLimiter:
    local = False

    def __init__(self, client: redis.Redis, prefix: str, limit: int, window: int) -> None:
        self.limit, self.window, self.prefix = limit, window, prefix
        self._client = client
        self._script = client.register_script(_HIT_SCRIPT)
        self._fallback = MemoryRateLimiter(limit, window)
        self._warned_at = -math.inf
        self._down_until = -math.inf

    def redis_key(self, key: str) -> str:
        return f"{self.prefix}:rate:{hashlib.sha256(key.encode('utf-8', 'surrogatepass')).hexdigest()}"

    def _check(self, key: str, count: bool) -> Verdict:
        now = time.monotonic()
        if now < self._down_until:
            return self._fallback.hit(key) if count else self._fallback.peek(key)
        try:
            allowed, wait_ms = self._script(
                keys=[self.redis_key(key)], args=[self.window * 1000, self.limit, 1 if count else 0]
            )
        except redis.RedisError as exc:
            self._down_until = now + _RETRY_REDIS_AFTER
            if now - self._warned_at >= _WARN_EVERY:
                self._warned_at = now
                log.warning("Redis is unreachable (%s): rate limits are counted per process", type(exc).__name__)
            return self._fallback.hit(key) if count else self._fallback.peek(key)
        return Verdict(bool(allowed), max(1, math.ceil(int(wait_ms) / 1000)))

    def hit(self, key: str) -> Verdict:
        return self._check(key, True)

    def peek(self, key: str) -> Verdict:
        return self._check(key, False)


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


def login_counter(logins: RateLimiter | None, client: str) -> Callable[[str], None]:
    """Counts a login attempt for a user name against the login rate limits, per user and per client address
    (429 past either); the API's ``login`` and the admin pages' sign-in share it."""

    def count(user: str) -> None:
        if logins is None:
            return
        for key in (f"login-user:{login_key(user)}", f"login-address:{client}"):
            verdict = logins.hit(key)
            if not verdict.allowed:
                raise TooManyRequestsError(verdict.retry_after, reason="login_rate_limit")

    return count
