"""The shared rate limit's state changes, as Lua scripts Redis runs atomically.

The scripts live in `lua/*.lua` next to this module (shipped inside the package), are read once
per process, and are registered once per Redis client. Each script's KEYS and ARGV are built in
exactly one method here, so the positions the Lua reads and the values Python sends cannot drift
apart.
"""

from __future__ import annotations

import functools
from importlib import resources

from redis.asyncio import Redis

# An idle (endpoint, model) forgets its state after this long.
STATE_TTL_SECONDS = 3600


@functools.cache
def lua_source(name: str) -> str:
    """The text of `lua/<name>.lua`, read from the installed package once."""
    return (resources.files(__package__) / "lua" / f"{name}.lua").read_text(encoding="utf-8")


class RateScripts:
    """The rate limit's three scripts, registered on one Redis client."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._acquire = redis.register_script(lua_source("acquire"))
        self._penalize = redis.register_script(lua_source("penalize"))
        self._observe = redis.register_script(lua_source("observe"))

    async def acquire(
        self,
        key: str,
        *,
        now: float,
        requests_per_minute: int | None,
        tokens_per_minute: int | None,
        tokens: int,
        burst_seconds: float,
        recovery_seconds: float,
    ) -> float:
        """Take one request of `tokens` tokens (0.0), or the seconds to wait, taking nothing.
        A limit of None means the one learned from the provider, if any."""
        args = [
            now,
            requests_per_minute or 0,
            tokens_per_minute or 0,
            tokens,
            burst_seconds,
            recovery_seconds,
            STATE_TTL_SECONDS,
        ]
        return float(await self._acquire(keys=[key], args=args))

    async def penalize(
        self,
        key: str,
        *,
        now: float,
        retry_after: float,
        recovery_seconds: float,
        min_factor: float,
        exhausted: bool,
    ) -> None:
        """A cooldown of `retry_after` for everyone; when `exhausted`, the rate is also cut
        (never below `min_factor`) and the buckets emptied."""
        args = [now, retry_after, recovery_seconds, min_factor, STATE_TTL_SECONDS, int(exhausted)]
        await self._penalize(keys=[key], args=args)

    async def observe(
        self,
        key: str,
        *,
        now: float,
        learned_requests: int | None,
        learned_tokens: int | None,
        cooldown_until: float | None,
        refund: int,
    ) -> None:
        """Remember stated limits (None: unchanged), pause everyone until `cooldown_until`
        (None: no pause), and give `refund` tokens back."""
        args = [
            now,
            learned_requests or 0,
            learned_tokens or 0,
            cooldown_until or 0,
            refund,
            STATE_TTL_SECONDS,
        ]
        await self._observe(keys=[key], args=args)
