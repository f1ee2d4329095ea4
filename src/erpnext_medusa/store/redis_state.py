"""Sessions and login locks in Redis (``ERPNEXT_MEDUSA_REDIS_URL``): shared by every process and machine, and
expired by Redis itself. Keys: ``<prefix>:session:<sha256 of the sid>`` and ``<prefix>:login:<sha256 of the user
name>`` (the domain's ``login_key``): no key holds text a client sent."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime, timedelta

import redis

from erpnext_medusa.domain.accounts import SessionRecord

_TIMES = ("created_at", "last_seen_at", "expires_at")

# Count a failure; lock at the limit. KEYS[1] the counter; ARGV: limit, lock seconds, now (epoch seconds).
_FAILURE = """
local n = redis.call('HINCRBY', KEYS[1], 'failures', 1)
redis.call('EXPIRE', KEYS[1], ARGV[2])
if n >= tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'locked_until', tonumber(ARGV[3]) + tonumber(ARGV[2]), 'failures', 0)
end
return n
"""


class RedisSessions:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._client, self._prefix = client, prefix

    def _key(self, sid_sha256: str) -> str:
        return f"{self._prefix}:session:{sid_sha256}"

    def _put(self, sid_sha256: str, record: SessionRecord) -> None:
        data = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(record).items()}
        seconds = max(1, int((record.expires_at - record.last_seen_at).total_seconds()))
        self._client.set(self._key(sid_sha256), json.dumps(data), ex=seconds)

    def add_session(self, sid_sha256: str, record: SessionRecord) -> None:
        self._put(sid_sha256, record)

    def update_session(self, sid_sha256: str, record: SessionRecord) -> None:
        self._put(sid_sha256, record)

    def get_session(self, sid_sha256: str) -> SessionRecord | None:
        raw = self._client.get(self._key(sid_sha256))
        if raw is None:
            return None
        data = json.loads(raw)
        for key in _TIMES:
            data[key] = datetime.fromisoformat(data[key])
        return SessionRecord(**data)

    def delete_session(self, sid_sha256: str) -> None:
        self._client.delete(self._key(sid_sha256))


class RedisLoginLocks:
    def __init__(self, client: redis.Redis, prefix: str, epoch: datetime) -> None:
        self._client, self._prefix = client, prefix
        self._failure = client.register_script(_FAILURE)
        #: Naive site-time datetimes are stored as seconds since this moment.
        self._epoch = epoch

    def _key(self, user: str) -> str:
        return f"{self._prefix}:login:{user}"

    def locked_until(self, user: str) -> datetime | None:
        value = self._client.hget(self._key(user), "locked_until")
        return None if value is None else self._epoch + timedelta(seconds=float(value))

    def record_failure(self, user: str, now: datetime, limit: int, lock: timedelta) -> None:
        seconds = max(1, int(lock.total_seconds()))
        self._failure(keys=[self._key(user)], args=[limit, seconds, (now - self._epoch).total_seconds()])

    def clear(self, user: str) -> None:
        self._client.delete(self._key(user))
