"""Shared rate limits: the Lua buckets and cooldowns in Redis, driven with an explicit clock."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from labelwise.llm.rate_scripts import RateScripts, lua_source
from labelwise.llm.ratelimit import KEY_PREFIX, RateGate, RateGates, rule_for
from labelwise.settings import RateLimitRule
from tests.llm.fakes import llm_settings
from tests.redis_isolation import REDIS_URL

T0 = 1_000_000.0


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    connection = Redis.from_url(REDIS_URL)
    yield connection
    await connection.aclose()


def gate_on(redis: Redis, namespace: str, rule: RateLimitRule | None = None) -> RateGate:
    return RateGate(
        RateScripts(redis),
        namespace=namespace,
        base_url="http://llm.test/v1",
        model="m",
        rule=rule,
        burst_seconds=1.0,
        recovery_seconds=10.0,
    )


@pytest.fixture
async def namespace(redis: Redis) -> AsyncIterator[str]:
    name = f"test-{uuid.uuid4().hex[:8]}"
    yield name
    async for key in redis.scan_iter(f"{KEY_PREFIX}{name}:*"):
        await redis.delete(key)


async def test_requests_per_minute_paces_every_process_sharing_the_key(
    redis: Redis, namespace: str
) -> None:
    rule = RateLimitRule(requests_per_minute=120)  # 2/s; a burst of one second: 2 at once
    here, there = (
        gate_on(redis, namespace, rule),
        gate_on(Redis.from_url(REDIS_URL), namespace, rule),
    )
    assert await here.try_acquire(1, now=T0) == 0
    assert await there.try_acquire(1, now=T0) == 0
    # The bucket is empty for both: the next request waits for half a second of refill.
    assert await here.try_acquire(1, now=T0) == pytest.approx(0.5)
    assert await there.try_acquire(1, now=T0 + 0.25) == pytest.approx(0.25)
    assert await there.try_acquire(1, now=T0 + 0.5) == 0
    await there.scripts.redis.aclose()


async def test_tokens_per_minute_counts_the_request_and_takes_back_what_was_not_used(
    redis: Redis, namespace: str
) -> None:
    gate = gate_on(redis, namespace, RateLimitRule(tokens_per_minute=6000))  # 100/s
    assert await gate.try_acquire(80, now=T0) == 0
    assert await gate.try_acquire(80, now=T0) == pytest.approx(0.6)  # 20 left, 60 to refill
    # The first call used only 30 of its 80: the other 50 come back.
    await gate.observe({}, charged=80, used=30, now=T0)
    assert await gate.try_acquire(70, now=T0) == 0


async def test_a_429_stops_everyone_until_retry_after_then_the_rate_recovers(
    redis: Redis, namespace: str
) -> None:
    rule = RateLimitRule(requests_per_minute=600)  # 10/s
    gate = gate_on(redis, namespace, rule)
    assert await gate.try_acquire(1, now=T0) == 0
    await gate.penalize(2.0, now=T0)
    # A wave of 429s from the same moment is one event: the rate is halved once, not thrice.
    await gate.penalize(2.0, now=T0 + 0.01)
    await gate.penalize(2.0, now=T0 + 0.02)
    assert await gate.try_acquire(1, now=T0 + 1) == pytest.approx(1.02)
    state = await redis.hgetall(gate.key)
    assert float(state[b"factor"]) == pytest.approx(0.5, abs=0.01)
    # The provider's bucket is empty, so is ours: after the cooldown it refills at half the
    # rate, 5/s, so the first request waits a fifth of a second.
    assert await gate.try_acquire(1, now=T0 + 2.02) == pytest.approx(0.2)
    # Ten seconds of recovery later, the full rate again: a burst of 10.
    admitted = [await gate.try_acquire(1, now=T0 + 13) == 0 for _ in range(12)]
    assert admitted.count(True) == 10


async def test_a_429_that_is_not_the_limit_pauses_without_slowing_the_rate(
    redis: Redis, namespace: str
) -> None:
    gate = gate_on(redis, namespace, RateLimitRule(requests_per_minute=600))
    assert await gate.try_acquire(1, now=T0) == 0
    await gate.penalize(0.5, exhausted=False, now=T0)
    assert await gate.try_acquire(1, now=T0 + 0.25) == pytest.approx(0.25)
    # The buckets kept their level and the rate its factor: the burst is still there (after a
    # limit's 429 they would be empty and refilling at half the rate).
    admitted = [await gate.try_acquire(1, now=T0 + 0.5) == 0 for _ in range(9)]
    assert admitted.count(True) == 9


async def test_without_limits_only_cooldowns_apply(redis: Redis, namespace: str) -> None:
    gate = gate_on(redis, namespace)
    assert all([await gate.try_acquire(10**6, now=T0) == 0 for _ in range(50)])
    await gate.penalize(None, now=T0)  # no Retry-After: one second
    assert await gate.try_acquire(1, now=T0 + 0.5) == pytest.approx(0.5)
    assert await gate.try_acquire(1, now=T0 + 1.0) == 0


async def test_limits_are_learned_from_headers_and_exhaustion_pauses_everyone(
    redis: Redis, namespace: str
) -> None:
    gate = gate_on(redis, namespace)
    headers = {
        "x-ratelimit-limit-requests": "60",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "1.5s",
    }
    await gate.observe(headers, charged=10, used=10, now=T0)
    assert await gate.try_acquire(1, now=T0 + 0.5) == pytest.approx(1.0)
    # Learned: 60/min, one request per second from here on.
    assert await gate.try_acquire(1, now=T0 + 1.5) == 0
    assert await gate.try_acquire(1, now=T0 + 1.5) == pytest.approx(1.0)


async def test_an_unreachable_redis_does_not_stop_labeling(namespace: str) -> None:
    gate = gate_on(
        Redis.from_url("redis://127.0.0.1:1/0"), namespace, RateLimitRule(requests_per_minute=1)
    )
    assert await gate.acquire(1) == 0
    await gate.penalize(1.0)
    await gate.scripts.redis.aclose()


def test_the_most_specific_rule_applies() -> None:
    anywhere = RateLimitRule(requests_per_minute=1)
    this_model = RateLimitRule(model="m", requests_per_minute=2)
    this_endpoint = RateLimitRule(model="m", base_url="http://a/v1/", requests_per_minute=3)
    rules = [anywhere, this_model, this_endpoint]
    assert rule_for(rules, "http://a/v1", "m") is this_endpoint
    assert rule_for(rules, "http://b/v1", "m") is this_model
    assert rule_for(rules, "http://b/v1", "other") is anywhere
    assert rule_for([this_endpoint], "http://b/v1", "m") is None


@pytest.mark.parametrize("name", ["acquire", "penalize", "observe"])
def test_each_script_ships_with_the_package_and_is_read_once(name: str) -> None:
    source = lua_source(name)
    assert "KEYS[1]" in source and "EXPIRE" in source
    assert lua_source(name) is source


async def test_the_gates_of_a_process_share_one_client_and_one_registration() -> None:
    gates = RateGates(llm_settings())
    first, second = gates.gate("http://a.test/v1", "m"), gates.gate("http://b.test/v1", "m")
    assert first is not None and second is not None and first.key != second.key
    assert first.scripts is second.scripts
    assert gates.gate("http://a.test/v1", "m") is first
    await gates.aclose()


def test_no_gate_when_shared_limits_are_off() -> None:
    assert RateGates(llm_settings(shared_rate_limits=False)).gate("http://a.test/v1", "m") is None
