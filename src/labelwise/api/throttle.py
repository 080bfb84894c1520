"""Request limits per API key, and 429s for clients that keep sending wrong keys.

Both live in Redis so that every API process counts the same requests:

- each key has a token bucket (`api_requests_per_second`, bursts up to `api_burst`), refilled and
  taken from atomically in one Lua script; an empty bucket answers 429 with `Retry-After`;
- each client address that sends `auth_failures_per_minute` wrong keys within a minute gets
  429 with `Retry-After`, instead of 401, for its wrong keys for the rest of that minute. Right
  keys from the address still work: behind a proxy every client shares one address, and one
  guesser must not lock everyone out.

Redis only delivers: if it cannot be reached, requests are not limited (and a warning is
logged), rather than refused.
"""

from __future__ import annotations

import logging
import math
import time

from redis import Redis
from redis.exceptions import RedisError

from labelwise.settings import Settings

log = logging.getLogger(__name__)

_TAKE = """
local rate, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local s = redis.call('HMGET', KEYS[1], 'level', 'at')
local level = tonumber(s[1]) or burst
level = math.min(burst, level + math.max(0, now - (tonumber(s[2]) or now)) * rate)
if level < 1 then return tostring((1 - level) / rate) end
redis.call('HSET', KEYS[1], 'level', level - 1, 'at', now)
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return '0'
"""
_FAILURE_WINDOW_SECONDS = 60


class Throttle:
    def __init__(self, redis: Redis, settings: Settings) -> None:
        self.redis = redis
        self.prefix = f"labelwise:throttle:{settings.queue_name}:"
        self.rate = settings.api_requests_per_second
        self.burst = settings.api_burst
        self.max_failures = settings.auth_failures_per_minute
        self._take = redis.register_script(_TAKE)
        self._warned_at = 0.0

    def wait_for_key(self, key_id: int) -> float:
        """0 when the key may make a request now (and it is counted), else seconds to wait."""
        try:
            answer = self._take(
                keys=[f"{self.prefix}key:{key_id}"], args=[self.rate, self.burst, time.time()]
            )
        except RedisError:
            self._warn()
            return 0.0
        return float(answer)

    def locked_out(self, client: str) -> float:
        """Seconds until a client that sent too many wrong keys may send wrong ones again
        without a 429; 0 when it has not."""
        try:
            name = f"{self.prefix}auth-failures:{client}"
            failures, ttl = self.redis.pipeline().get(name).ttl(name).execute()
        except RedisError:
            self._warn()
            return 0.0
        if failures is None or int(failures) < self.max_failures:
            return 0.0
        return float(max(ttl, 1))

    def failed(self, client: str) -> None:
        """Count a wrong key from `client`, in a window that starts at its first failure."""
        name = f"{self.prefix}auth-failures:{client}"
        try:
            pipeline = self.redis.pipeline()
            pipeline.incr(name)
            pipeline.expire(name, _FAILURE_WINDOW_SECONDS, nx=True)
            pipeline.execute()
        except RedisError:
            self._warn()

    def _warn(self) -> None:
        if time.monotonic() - self._warned_at > 60:
            self._warned_at = time.monotonic()
            log.warning("Redis unreachable: API request limits are not enforced")


def retry_after(seconds: float) -> int:
    """A `Retry-After` value: whole seconds, at least one."""
    return max(1, math.ceil(seconds))
