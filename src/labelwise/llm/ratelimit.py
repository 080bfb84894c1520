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
The Lua scripts are run by `labelwise.llm.rate_scripts`; headers are read by `rate_headers`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from collections.abc import Awaitable, Mapping
from typing import TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from labelwise.llm.rate_headers import read_headers
from labelwise.llm.rate_scripts import RateScripts
from labelwise.observability.llm_metrics import count_cooldown, count_rate_wait
from labelwise.settings import RateLimitRule, Settings

log = logging.getLogger(__name__)

T = TypeVar("T")

KEY_PREFIX = "labelwise:ratelimit:"
# Waits are re-checked at least this often, so a limit raised or a cooldown lifted takes effect.
_MAX_SLEEP_SECONDS = 1.0
_MIN_FACTOR = 0.05
_WARN_EVERY_SECONDS = 60.0
_REWRITE_LEARNED_SECONDS = 60.0


def rule_for(rules: list[RateLimitRule], base_url: str, model: str) -> RateLimitRule | None:
    """The most specific rule: an exact model before `*`, a named endpoint before any."""
    matching = [rule for rule in rules if rule.matches(base_url, model)]
    matching.sort(key=lambda rule: (rule.model == "*", rule.base_url is None))
    return matching[0] if matching else None


class RateGate:
    """The shared limit of one (endpoint, model), as seen by one process."""

    def __init__(
        self,
        scripts: RateScripts,
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
        self.model = model
        self.scripts = scripts
        self.rule = rule
        self.burst_seconds = burst_seconds
        self.recovery_seconds = recovery_seconds
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
            count_rate_wait(self.model, pause)
        return waited

    async def try_acquire(self, tokens: int, *, now: float | None = None) -> float:
        """Take one request of `tokens` tokens if the limits allow it now (0.0), else the seconds
        to wait before asking again, taking nothing."""
        rule = self.rule
        wait = await self._run(
            self.scripts.acquire(
                self.key,
                now=time.time() if now is None else now,
                requests_per_minute=rule.requests_per_minute if rule else None,
                tokens_per_minute=rule.tokens_per_minute if rule else None,
                tokens=tokens,
                burst_seconds=self.burst_seconds,
                recovery_seconds=self.recovery_seconds,
            )
        )
        return wait if wait is not None else 0.0

    async def penalize(
        self, retry_after: float | None, *, exhausted: bool = True, now: float | None = None
    ) -> None:
        """A 429: everyone waits out `retry_after` (1 s when the server named none). When a rate
        limit ran out (`exhausted`), the shared rate is also halved and the buckets emptied."""
        count_cooldown(self.model, "rate_limited")
        await self._run(
            self.scripts.penalize(
                self.key,
                now=time.time() if now is None else now,
                retry_after=1.0 if retry_after is None else retry_after,
                recovery_seconds=self.recovery_seconds,
                min_factor=_MIN_FACTOR,
                exhausted=exhausted,
            )
        )

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
        exhausted_for = reading.exhausted_for
        if exhausted_for is not None:
            count_cooldown(self.model, "limit_exhausted")
        await self._run(
            self.scripts.observe(
                self.key,
                now=now,
                learned_requests=learned[0],
                learned_tokens=learned[1],
                cooldown_until=now + exhausted_for if exhausted_for is not None else None,
                refund=refund,
            )
        )

    async def _run(self, step: Awaitable[T]) -> T | None:
        """Run a script; with Redis unreachable, the limit is not enforced rather than labeling
        stopped (Redis only delivers; the provider's own 429s still slow this process down)."""
        try:
            return await step
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
        self._scripts: RateScripts | None = None
        self._gates: dict[tuple[str, str], RateGate] = {}

    def gate(self, base_url: str, model: str) -> RateGate | None:
        settings = self.settings
        if not settings.shared_rate_limits:
            return None
        gate = self._gates.get((base_url, model))
        if gate is None:
            if self._scripts is None:
                # One client, and one registration of the scripts on it, for every gate.
                self._scripts = RateScripts(Redis.from_url(settings.redis_url))
            gate = self._gates[(base_url, model)] = RateGate(
                self._scripts,
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
        scripts, self._scripts, self._gates = self._scripts, None, {}
        if scripts is not None:
            await scripts.redis.aclose()
