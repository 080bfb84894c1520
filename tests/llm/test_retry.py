from __future__ import annotations

import time
from email.utils import formatdate
from typing import Any

import httpx
import openai
import pytest
from tenacity import RetryCallState

from labelwise.errors import LLMCallError
from labelwise.llm.meter import CallMeter
from labelwise.llm.retry import call_with_retries, is_retryable, make_wait, retry_after_seconds
from tests.llm.fakes import COMPLETIONS_URL, llm_settings

REQUEST = httpx.Request("POST", COMPLETIONS_URL)


def status_error(status: int, code: str | None = None, **headers: str) -> openai.APIStatusError:
    response = httpx.Response(status, headers=headers, request=REQUEST)
    body = {"message": "x", "code": code}
    return openai.APIStatusError("x", response=response, body=body)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("exc", "retryable"),
    [
        (openai.APIConnectionError(request=REQUEST), True),  # type: ignore[arg-type]
        (openai.APITimeoutError(request=REQUEST), True),  # type: ignore[arg-type]
        (status_error(408), True),
        (status_error(409), True),
        (status_error(429), True),
        (status_error(500), True),
        (status_error(503), True),
        (status_error(400), False),
        (status_error(401), False),
        (status_error(404), False),
        (status_error(422), False),
        (status_error(429, code="insufficient_quota"), False),
        (ValueError("not an HTTP problem"), False),
    ],
)
def test_is_retryable(exc: BaseException, retryable: bool) -> None:
    assert is_retryable(exc) is retryable


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "100", "retry-after": "7"}, 0.1),
        ({"retry-after": "-4"}, 0.0),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_from_headers(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_seconds(status_error(429, **headers)) == expected


def test_retry_after_as_http_date() -> None:
    now = time.time()
    exc = status_error(503, **{"retry-after": formatdate(now + 20, usegmt=True)})
    assert retry_after_seconds(exc, now=now) == pytest.approx(20, abs=1.0)


def _state_after(exc: BaseException, attempt: int) -> RetryCallState:
    state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
    state.attempt_number = attempt
    state.set_exception((type(exc), exc, None))
    return state


def test_wait_honours_retry_after_capped() -> None:
    wait = make_wait(llm_settings(llm_retry_max_wait_seconds=2.0))
    waits = [
        wait(_state_after(status_error(429, **{"retry-after-ms": "700"}), 1)) for _ in range(50)
    ]
    # Never sooner than asked; a little later at random, so a crowd told the same moment spreads.
    assert all(0.7 <= w <= 0.7 * 1.2 for w in waits) and len(set(waits)) > 1
    assert wait(_state_after(status_error(429, **{"retry-after": "60"}), 1)) == 2.0


def test_wait_without_header_is_jittered_exponential_backoff() -> None:
    wait = make_wait(llm_settings(llm_retry_base_wait_seconds=0.5, llm_retry_max_wait_seconds=3.0))
    exc = status_error(500)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (6, 3.0)]:
        waits = [wait(_state_after(exc, attempt)) for _ in range(200)]
        assert all(0 <= w <= ceiling for w in waits)
        assert max(waits) > ceiling / 2  # full jitter spreads over the whole range


async def test_gives_up_after_max_attempts_and_counts_them() -> None:
    settings = llm_settings(llm_max_attempts=4)
    meter = CallMeter()
    calls = 0

    async def flaky() -> Any:
        nonlocal calls
        calls += 1
        raise status_error(502)

    with pytest.raises(LLMCallError) as raised:
        await call_with_retries(settings, flaky, meter)
    assert calls == meter.attempts == raised.value.attempts == 4
    assert "502" in str(raised.value)


async def test_non_retryable_fails_at_once() -> None:
    meter = CallMeter()

    async def bad_request() -> Any:
        raise status_error(400)

    with pytest.raises(LLMCallError) as raised:
        await call_with_retries(llm_settings(), bad_request, meter)
    assert raised.value.attempts == meter.attempts == 1


async def test_unexpected_errors_are_not_dressed_up() -> None:
    async def broken() -> Any:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        await call_with_retries(llm_settings(), broken, CallMeter())
