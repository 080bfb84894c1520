"""What the LLM calls of a process cost and how they went, by model.

Every HTTP attempt is counted once in `labelwise_llm_calls_total`: a failed one by its error
(`rate_limited`, `timeout`, ...), an answered one by what the answer was worth (`ok`,
`invalid_output`, `truncated`, `refusal`). Latency is observed for answered attempts only, so a
burst of instant 429s does not make the model look fast. Waits and cool-downs under the shared
rate limit have counters of their own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import openai
from prometheus_client import Counter, Histogram

from labelwise.domain import Usage
from labelwise.observability.registries import labeling_metric

T = TypeVar("T")

# An answer within 50 ms (a cached small model) to two minutes (a long answer, a slow provider).
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0, 120.0)

LLM_CALLS = labeling_metric(
    Counter(
        "labelwise_llm_calls",
        "LLM HTTP attempts by model and outcome",
        ["model", "outcome"],
        registry=None,
    )
)
LLM_CALL_SECONDS = labeling_metric(
    Histogram(
        "labelwise_llm_call_seconds",
        "Latency of LLM attempts that got an answer, by model",
        ["model"],
        buckets=LATENCY_BUCKETS,
        registry=None,
    )
)
LLM_TOKENS = labeling_metric(
    Counter(
        "labelwise_llm_tokens",
        "Tokens the provider reported, by model and kind (prompt, cached, completion)",
        ["model", "kind"],
        registry=None,
    )
)
LLM_COOLDOWNS = labeling_metric(
    Counter(
        "labelwise_llm_cooldowns",
        "Cool-downs entered under the shared rate limit: a 429, or headers saying a limit is spent",
        ["model", "cause"],
        registry=None,
    )
)
LLM_RATE_WAIT_SECONDS = labeling_metric(
    Counter(
        "labelwise_llm_rate_limit_wait_seconds",
        "Seconds calls waited for their turn under the shared rate limit (cool-downs included)",
        ["model"],
        registry=None,
    )
)


def error_outcome(exc: BaseException) -> str:
    """The outcome label of an attempt that raised."""
    if isinstance(exc, asyncio.CancelledError):
        return "cancelled"
    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "connection_error"
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code == 429:
            return "quota_exhausted" if exc.code == "insufficient_quota" else "rate_limited"
        return "server_error" if exc.status_code >= 500 else "client_error"
    return "error"


def timed_attempts(call: Callable[[], Awaitable[T]], model: str) -> Callable[[], Awaitable[T]]:
    """`call`, counting each failed attempt by its error and timing each answered one; the
    answer's own outcome is counted by `count_answer` once it has been read."""

    async def attempt() -> T:
        started = time.perf_counter()
        try:
            result = await call()
        except BaseException as exc:
            LLM_CALLS.labels(model, error_outcome(exc)).inc()
            raise
        LLM_CALL_SECONDS.labels(model).observe(time.perf_counter() - started)
        return result

    return attempt


def count_answer(model: str, outcome: str) -> None:
    """An answered attempt: `ok`, `invalid_output`, `truncated` or `refusal`."""
    LLM_CALLS.labels(model, outcome).inc()


def count_tokens(model: str, usage: Usage) -> None:
    LLM_TOKENS.labels(model, "prompt").inc(usage.prompt_tokens)
    LLM_TOKENS.labels(model, "cached").inc(usage.cached_tokens)
    LLM_TOKENS.labels(model, "completion").inc(usage.completion_tokens)


def count_cooldown(model: str, cause: str) -> None:
    """`cause`: `rate_limited` (a 429) or `limit_exhausted` (x-ratelimit-remaining-*: 0)."""
    LLM_COOLDOWNS.labels(model, cause).inc()


def count_rate_wait(model: str, seconds: float) -> None:
    if seconds > 0:
        LLM_RATE_WAIT_SECONDS.labels(model).inc(seconds)
