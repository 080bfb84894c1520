"""Rate limits shared by every worker on every machine, kept in Redis per endpoint and model.

Each (base URL, model) has one small Redis hash per deployment (queue name). Before every HTTP
attempt a caller asks it for one request and the request's tokens (its prompt, estimated, plus
`max_tokens`, as providers count them); a Lua script refills two token buckets (requests/min,
tokens/min), takes from them or answers how long to wait, atomically. Limits come from the
operator (`rate_limits`) or are learned from the provider's `x-ratelimit-limit-*` headers.

A 429 sets a cooldown (the server's `Retry-After`) that every caller waits out before its next
attempt, and halves the shared rate (once per wave of 429s, not once per request in it); the rate
then climbs back linearly over `rate_limit_recovery_seconds`. `x-ratelimit-remaining-*: 0` sets a
cooldown until the matching `x-ratelimit-reset-*`. So a storm of 429s slows everyone down instead
of multiplying traffic, and the retries it causes are bounded by `llm_max_attempts` as before.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from labelwise.settings import RateLimitRule, Settings

log = logging.getLogger(__name__)

KEY_PREFIX = "labelwise:ratelimit:"
# Waits are re-checked at least this often, so a limit raised or a cooldown lifted takes effect.
_MAX_SLEEP_SECONDS = 1.0
_STATE_TTL_SECONDS = 3600
_MIN_FACTOR = 0.05
_WARN_EVERY_SECONDS = 60.0
_REWRITE_LEARNED_SECONDS = 60.0

_ACQUIRE = """
local now, rpm, tpm = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local cost, burst, recovery = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local s = redis.call('HMGET', KEYS[1], 'cooldown', 'factor', 'factor_at', 'req', 'req_at',
                     'tok', 'tok_at', 'learned_rpm', 'learned_tpm')
local cooldown = tonumber(s[1]) or 0
if cooldown > now then return tostring(cooldown - now) end
if rpm <= 0 then rpm = tonumber(s[8]) or 0 end
if tpm <= 0 then tpm = tonumber(s[9]) or 0 end
if rpm <= 0 and tpm <= 0 then return '0' end
local factor_at = tonumber(s[3]) or now
local factor = math.min(1, (tonumber(s[2]) or 1) + math.max(0, now - factor_at) / recovery)
local function level(per_minute, value, at)
  local rate = per_minute * factor / 60
  local cap = math.max(1, rate * burst)
  local v = tonumber(value) or cap
  return math.min(cap, v + (now - (tonumber(at) or now)) * rate), rate, cap
end
local wait, req, tok = 0, 0, 0
if rpm > 0 then
  local rate
  req, rate = level(rpm, s[4], s[5])
  if req < 1 then wait = math.max(wait, (1 - req) / rate) end
end
if tpm > 0 then
  local rate, cap
  tok, rate, cap = level(tpm, s[6], s[7])
  local need = math.min(cost, cap)
  if tok < need then wait = math.max(wait, (need - tok) / rate) end
end
if wait > 0 then return tostring(wait) end
redis.call('HSET', KEYS[1], 'factor', factor, 'factor_at', math.max(now, factor_at))
if rpm > 0 then redis.call('HSET', KEYS[1], 'req', req - 1, 'req_at', now) end
if tpm > 0 then redis.call('HSET', KEYS[1], 'tok', tok - cost, 'tok_at', now) end
redis.call('EXPIRE', KEYS[1], ARGV[7])
return '0'
"""

_PENALIZE = """
local now, retry_after, recovery = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local s = redis.call('HMGET', KEYS[1], 'cooldown', 'factor', 'factor_at', 'penalized_at')
local cooldown = math.max(tonumber(s[1]) or 0, now + retry_after)
redis.call('EXPIRE', KEYS[1], ARGV[5])
if ARGV[6] ~= '1' then
  -- The provider says its limits are not what ran out: wait, but keep the rate.
  redis.call('HSET', KEYS[1], 'cooldown', cooldown)
  return 'cooldown'
end
local factor_at = tonumber(s[3]) or now
local factor = math.min(1, (tonumber(s[2]) or 1) + math.max(0, now - factor_at) / recovery)
local penalized_at = tonumber(s[4]) or 0
-- One wave of 429s (everything in flight when the limit struck) halves the rate once.
if now - penalized_at >= math.max(retry_after, 1) then
  factor = math.max(tonumber(ARGV[4]), factor / 2)
  penalized_at = now
end
-- The provider's buckets are empty: so are ours, refilling (and the rate climbing back) from
-- the end of the cooldown.
redis.call('HSET', KEYS[1], 'cooldown', cooldown, 'factor', factor, 'factor_at', cooldown,
           'penalized_at', penalized_at, 'req', 0, 'req_at', cooldown, 'tok', 0, 'tok_at', cooldown)
return tostring(factor)
"""

_OBSERVE = """
local now, learned_rpm, learned_tpm = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local cooldown_until, refund = tonumber(ARGV[4]), tonumber(ARGV[5])
if learned_rpm > 0 then redis.call('HSET', KEYS[1], 'learned_rpm', learned_rpm) end
if learned_tpm > 0 then redis.call('HSET', KEYS[1], 'learned_tpm', learned_tpm) end
if cooldown_until > now then
  local cooldown = tonumber(redis.call('HGET', KEYS[1], 'cooldown')) or 0
  redis.call('HSET', KEYS[1], 'cooldown', math.max(cooldown, cooldown_until))
end
if refund ~= 0 then
  local tok = tonumber(redis.call('HGET', KEYS[1], 'tok'))
  if tok then redis.call('HSET', KEYS[1], 'tok', tok + refund) end
end
redis.call('EXPIRE', KEYS[1], ARGV[6])
return 'ok'
"""


def rule_for(rules: list[RateLimitRule], base_url: str, model: str) -> RateLimitRule | None:
    """The most specific rule: an exact model before `*`, a named endpoint before any."""
    matching = [rule for rule in rules if rule.matches(base_url, model)]
    matching.sort(key=lambda rule: (rule.model == "*", rule.base_url is None))
    return matching[0] if matching else None


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_reset(value: str | None) -> float | None:
    """`x-ratelimit-reset-*` as seconds: `"1s"`, `"6m0s"`, `"20ms"`, `"1m30.5s"`, or a number."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    parts = _DURATION_PART.findall(value)
    if not parts or "".join(number + unit for number, unit in parts) != value:
        return None
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None


@dataclass(frozen=True)
class HeaderReading:
    """What a response's `x-ratelimit-*` headers say."""

    limit_requests: int | None = None
    limit_tokens: int | None = None
    # Seconds until the provider accepts more; set only when a remaining count reached zero.
    exhausted_for: float | None = None


def read_headers(headers: Mapping[str, str]) -> HeaderReading:
    waits = []
    for kind in ("requests", "tokens"):
        if _int_header(headers, f"x-ratelimit-remaining-{kind}") == 0:
            reset = parse_reset(headers.get(f"x-ratelimit-reset-{kind}"))
            waits.append(reset if reset is not None else 1.0)
    return HeaderReading(
        limit_requests=_int_header(headers, "x-ratelimit-limit-requests"),
        limit_tokens=_int_header(headers, "x-ratelimit-limit-tokens"),
        exhausted_for=max(waits) if waits else None,
    )


def limit_exhausted(headers: Mapping[str, str]) -> bool:
    """Whether a 429 came from a rate limit running out. A provider that states what remains
    and has some left says it did not (a fault, a concurrency cap); one that states nothing is
    taken at its word that a limit was hit."""
    remaining = [
        _int_header(headers, f"x-ratelimit-remaining-{kind}") for kind in ("requests", "tokens")
    ]
    stated = [value for value in remaining if value is not None]
    return not stated or min(stated) == 0


class RateGate:
    """The shared limit of one (endpoint, model), as seen by one process."""

    def __init__(
        self,
        redis: Redis,
        *,
        namespace: str,
        base_url: str,
        model: str,
        rule: RateLimitRule | None,
        burst_seconds: float,
        recovery_seconds: float,
    ) -> None:
        digest = hashlib.blake2b(f"{base_url}\x1f{model}".encode(), digest_size=8).hexdigest()
        self.key = f"{KEY_PREFIX}{namespace}:{digest}"
        self.redis = redis
        self.rule = rule
        self.burst_seconds = burst_seconds
        self.recovery_seconds = recovery_seconds
        self._acquire = redis.register_script(_ACQUIRE)
        self._penalize = redis.register_script(_PENALIZE)
        self._observe = redis.register_script(_OBSERVE)
        self._warned_at = -_WARN_EVERY_SECONDS
        # The stated limits this process last wrote, and when: most responses repeat them, so
        # they are written again only when they change or a while has passed (the hash expires).
        self._learned: tuple[int | None, int | None] = (None, None)
        self._learned_at = 0.0

    async def acquire(self, tokens: int) -> float:
        """Wait until one request of `tokens` tokens may go out; returns the seconds waited."""
        waited = 0.0
        while (wait := await self.try_acquire(tokens)) > 0:
            # Jitter, so callers released at the same moment do not arrive at once.
            pause = min(wait, _MAX_SLEEP_SECONDS) * (1 + 0.2 * random.random())
            await asyncio.sleep(pause)
            waited += pause
        return waited

    async def try_acquire(self, tokens: int, *, now: float | None = None) -> float:
        """Take one request of `tokens` tokens if the limits allow it now (0.0), else the seconds
        to wait before asking again, taking nothing."""
        rule = self.rule
        args = [
            time.time() if now is None else now,
            rule.requests_per_minute or 0 if rule else 0,
            rule.tokens_per_minute or 0 if rule else 0,
            tokens,
            self.burst_seconds,
            self.recovery_seconds,
            _STATE_TTL_SECONDS,
        ]
        answer = await self._run(self._acquire, args)
        return float(answer) if answer is not None else 0.0

    async def penalize(
        self, retry_after: float | None, *, exhausted: bool = True, now: float | None = None
    ) -> None:
        """A 429: everyone waits out `retry_after` (1 s when the server named none). When a rate
        limit ran out (`exhausted`), the shared rate is also halved and the buckets emptied."""
        wait = 1.0 if retry_after is None else retry_after
        now = time.time() if now is None else now
        args = [now, wait, self.recovery_seconds, _MIN_FACTOR, _STATE_TTL_SECONDS, int(exhausted)]
        await self._run(self._penalize, args)

    async def observe(
        self,
        headers: Mapping[str, str],
        *,
        charged: int,
        used: int | None,
        now: float | None = None,
    ) -> None:
        """After a response: learn the limits the provider states, pause everyone when it says
        nothing is left, and give back tokens charged beyond what the call used."""
        reading = read_headers(headers)
        now = time.time() if now is None else now
        counts_tokens = bool(self.rule and self.rule.tokens_per_minute) or reading.limit_tokens
        refund = charged - used if used is not None and counts_tokens else 0
        stated = (reading.limit_requests, reading.limit_tokens)
        fresh = stated != self._learned or now - self._learned_at > _REWRITE_LEARNED_SECONDS
        learned = stated if fresh else (None, None)
        if learned == (None, None) and reading.exhausted_for is None and refund == 0:
            return
        if fresh:
            self._learned, self._learned_at = stated, now
        args = [
            now,
            learned[0] or 0,
            learned[1] or 0,
            now + reading.exhausted_for if reading.exhausted_for is not None else 0,
            refund,
            _STATE_TTL_SECONDS,
        ]
        await self._run(self._observe, args)

    async def _run(self, script: AsyncScript, args: list[float | int]) -> Any:
        """Run a script; with Redis unreachable, the limit is not enforced rather than labeling
        stopped (Redis only delivers; the provider's own 429s still slow this process down)."""
        try:
            return await script(keys=[self.key], args=args)
        except RedisError as exc:
            now = time.monotonic()
            if now - self._warned_at > _WARN_EVERY_SECONDS:
                self._warned_at = now
                log.warning("shared rate limit unavailable, not enforced: %s", exc)
            return None


class RateGates:
    """The gates of one process, one per (endpoint, model), over one Redis connection pool
    (opened on first use, in the event loop that uses it). None when shared limits are off."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._redis: Redis | None = None
        self._gates: dict[tuple[str, str], RateGate] = {}

    def gate(self, base_url: str, model: str) -> RateGate | None:
        settings = self.settings
        if not settings.shared_rate_limits:
            return None
        gate = self._gates.get((base_url, model))
        if gate is None:
            if self._redis is None:
                self._redis = Redis.from_url(settings.redis_url)
            gate = self._gates[(base_url, model)] = RateGate(
                self._redis,
                # One deployment (one queue) shares its limits; tests and tenants stay apart.
                namespace=settings.queue_name,
                base_url=base_url,
                model=model,
                rule=rule_for(settings.rate_limits, base_url, model),
                burst_seconds=settings.rate_limit_burst_seconds,
                recovery_seconds=settings.rate_limit_recovery_seconds,
            )
        return gate

    async def aclose(self) -> None:
        redis, self._redis, self._gates = self._redis, None, {}
        if redis is not None:
            await redis.aclose()
