"""LLM calls, faked at the HTTP edge, as the process's metrics count them: every attempt once by
its outcome, the answered ones timed, the tokens by kind, and cool-downs under the shared limit."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import openai
import pytest
import respx

from labelwise.errors import LabelingError
from labelwise.llm.call import call_structured
from labelwise.llm.client import LLMClients
from labelwise.llm.meter import CallMeter
from labelwise.llm.ratelimit import RateGates
from labelwise.observability.llm_metrics import error_outcome
from labelwise.observability.metrics import LABELING_REGISTRY, WORKER_REGISTRY
from labelwise.settings import Settings
from labelwise.spec import ModelSpec
from tests.llm.fakes import BASE_URL, answer, completion, error, llm_settings, ok
from tests.llm.test_call import make_request

OUTCOMES = (
    "ok",
    "invalid_output",
    "truncated",
    "refusal",
    "rate_limited",
    "quota_exhausted",
    "timeout",
    "connection_error",
    "server_error",
    "client_error",
)


def sample(name: str, **labels: str) -> float:
    value = LABELING_REGISTRY.get_sample_value(name, labels)
    # The worker exports the same series: one object registered in both registries.
    assert WORKER_REGISTRY.get_sample_value(name, labels) == value
    return value or 0.0


def outcomes(model: str) -> dict[str, float]:
    counts = {o: sample("labelwise_llm_calls_total", model=model, outcome=o) for o in OUTCOMES}
    return {outcome: n for outcome, n in counts.items() if n}


@pytest.fixture
def model() -> str:
    """A model name of this test's own: the counters are the process's, shared by every test."""
    return f"obs-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def llm_api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        yield router


@pytest.fixture
def settings() -> Settings:
    return llm_settings()


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[openai.AsyncOpenAI]:
    clients = LLMClients(settings)
    yield clients.for_model(ModelSpec(name="test-model"))
    await clients.aclose()


async def test_an_answered_call_counts_its_outcome_tokens_and_latency(
    llm_api: respx.MockRouter, client: openai.AsyncOpenAI, settings: Settings, model: str
) -> None:
    reply = answer({"label": "positive"}, prompt_tokens=120, cached_tokens=20, completion_tokens=7)
    llm_api.post("/chat/completions").mock(return_value=reply)
    await call_structured(client, make_request(model=model), settings=settings, meter=CallMeter())
    assert outcomes(model) == {"ok": 1}
    tokens = {
        kind: sample("labelwise_llm_tokens_total", model=model, kind=kind)
        for kind in ("prompt", "cached", "completion")
    }
    assert tokens == {"prompt": 120, "cached": 20, "completion": 7}
    assert sample("labelwise_llm_call_seconds_count", model=model) == 1
    assert sample("labelwise_llm_call_seconds_sum", model=model) > 0
    assert sample("labelwise_llm_call_seconds_bucket", model=model, le="120.0") == 1


def quota_exhausted() -> httpx.Response:
    body = {
        "error": {"message": "quota", "type": "insufficient_quota", "code": "insufficient_quota"}
    }
    return httpx.Response(429, json=body)


GARBLED = ok(completion('{"label": "maybe"}'))
CUT_OFF = ok(completion('{"label": "pos', finish_reason="length"))
REFUSED = ok(completion(None, refusal="I cannot help with that"))
RIGHT = answer({"label": "negative"})


@pytest.mark.parametrize(
    ("replies", "expected", "answered"),
    [
        pytest.param([error(429), RIGHT], {"rate_limited": 1, "ok": 1}, 1, id="429 then ok"),
        pytest.param([error(500)] * 3, {"server_error": 3}, 0, id="500 until given up"),
        pytest.param([error(400)], {"client_error": 1}, 0, id="400 not retried"),
        pytest.param([quota_exhausted()], {"quota_exhausted": 1}, 0, id="quota"),
        pytest.param([httpx.ReadTimeout("slow"), RIGHT], {"timeout": 1, "ok": 1}, 1, id="timeout"),
        pytest.param(
            [httpx.ConnectError("refused"), RIGHT],
            {"connection_error": 1, "ok": 1},
            1,
            id="connection error",
        ),
        pytest.param([GARBLED, RIGHT], {"invalid_output": 1, "ok": 1}, 2, id="re-asked"),
        pytest.param([CUT_OFF, RIGHT], {"truncated": 1, "ok": 1}, 2, id="truncated"),
        pytest.param([GARBLED, GARBLED], {"invalid_output": 2}, 2, id="invalid twice"),
        pytest.param([REFUSED], {"refusal": 1}, 1, id="refusal"),
    ],
)
async def test_each_attempt_is_counted_once_by_its_outcome(
    llm_api: respx.MockRouter,
    client: openai.AsyncOpenAI,
    settings: Settings,
    model: str,
    replies: list[Any],
    expected: dict[str, float],
    answered: int,
) -> None:
    llm_api.post("/chat/completions").mock(side_effect=replies)
    request = make_request(model=model)
    try:
        await call_structured(client, request, settings=settings, meter=CallMeter())
    except LabelingError:
        assert "ok" not in expected
    assert outcomes(model) == expected
    # Only answered attempts are timed: a burst of instant errors says nothing of the model.
    assert sample("labelwise_llm_call_seconds_count", model=model) == answered


@pytest.mark.parametrize(
    ("exc", "outcome"),
    [
        (asyncio.CancelledError(), "cancelled"),
        (RuntimeError("odd"), "error"),
    ],
)
def test_errors_outside_the_sdk_have_outcomes_too(exc: BaseException, outcome: str) -> None:
    assert error_outcome(exc) == outcome


async def test_cooldowns_and_waits_under_the_shared_limit_are_counted(
    llm_api: respx.MockRouter, client: openai.AsyncOpenAI, settings: Settings, model: str
) -> None:
    spent = {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "50ms"}
    llm_api.post("/chat/completions").mock(
        side_effect=[
            # Longer than the retry layer's own wait (capped at 50 ms in these settings).
            error(429, **{"retry-after-ms": "200"}),
            httpx.Response(200, json=completion('{"label": "positive"}'), headers=spent),
        ]
    )
    gates = RateGates(settings)
    gate = gates.gate(BASE_URL, model)
    assert gate is not None
    try:
        await call_structured(
            client, make_request(model=model), settings=settings, meter=CallMeter(), gate=gate
        )
    finally:
        await gates.aclose()
    cooldowns = {
        cause: sample("labelwise_llm_cooldowns_total", model=model, cause=cause)
        for cause in ("rate_limited", "limit_exhausted")
    }
    assert cooldowns == {"rate_limited": 1, "limit_exhausted": 1}
    # The second attempt waited out the rest of the 429's cool-down at the gate.
    assert sample("labelwise_llm_rate_limit_wait_seconds_total", model=model) > 0.1
