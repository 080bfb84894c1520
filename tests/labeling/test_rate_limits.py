"""Workers against a provider with a rate limit of its own: they learn it from its headers,
pace themselves through Redis, and a 429 slows everyone down instead of multiplying traffic."""

from __future__ import annotations

from labelwise.settings import RateLimitRule
from labelwise.testing.fake_llm import FakeLLMConfig
from tests.conftest import Keys
from tests.labeling.test_with_fake_server import label_batch

N = 80


def test_workers_pace_themselves_under_the_providers_limit(
    database_url: str, queue_name: str, keys: Keys
) -> None:
    config = FakeLLMConfig(latency_ms=1, requests_per_second=40, seed=1)
    paced, items, stats = label_batch(
        database_url, queue_name, keys, config, N, rate_limit_recovery_seconds=1.0
    )
    assert paced["status"] == "completed"
    assert all(item["reason"] != "llm_error" for item in items)
    # Only the first wave, before the limit was learned, can meet a 429.
    assert stats["requests"] <= 1.5 * N

    _, _, unpaced = label_batch(
        database_url, f"{queue_name}-unpaced", keys, config, N, shared_rate_limits=False
    )
    assert unpaced["rate_limited"] > 2 * stats["rate_limited"]
    assert unpaced["requests"] > stats["requests"]


def test_a_configured_limit_is_kept_from_the_first_request(
    database_url: str, queue_name: str, keys: Keys
) -> None:
    config = FakeLLMConfig(latency_ms=1, requests_per_second=40, seed=2)
    rule = RateLimitRule(requests_per_minute=1800)  # 30/s: under the provider's 40/s
    summary, _, stats = label_batch(
        database_url, queue_name, keys, config, N, rate_limits=[rule], rate_limit_burst_seconds=0.5
    )
    assert summary["status"] == "completed"
    assert stats["rate_limited"] == 0
    assert stats["requests"] == N


def test_a_storm_of_429s_costs_few_extra_requests(
    database_url: str, queue_name: str, keys: Keys
) -> None:
    config = FakeLLMConfig(latency_ms=1, rate_429=0.2, retry_after_seconds=0.02, seed=4)
    summary, items, stats = label_batch(database_url, queue_name, keys, config, N)
    assert summary["status"] == "completed"
    assert all(item["reason"] != "llm_error" for item in items)
    assert stats["rate_limited"] > 0
    assert stats["requests"] <= 1.5 * N
