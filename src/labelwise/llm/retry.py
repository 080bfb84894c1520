"""The one layer that retries HTTP calls to the LLM (the SDK's own retries are switched off).

Transient failures only: connection errors and timeouts, and statuses 408, 409, 429 and 5xx.
Waits honour the server's `retry-after-ms` / `retry-after`, capped; otherwise exponential backoff
with full jitter. Anything else, or running out of attempts, becomes an `LLMCallError` carrying
the number of attempts. Schema re-asks are not retries and live in `labelwise.llm.call`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from email.utils import parsedate_to_datetime
from typing import TypeVar

import openai
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from labelwise.errors import LLMCallError
from labelwise.llm.meter import CallMeter
from labelwise.llm.rate_headers import limit_exhausted
from labelwise.llm.ratelimit import RateGate
from labelwise.settings import Settings

T = TypeVar("T")

_RETRYABLE_STATUSES = frozenset({408, 409, 429})
_RETRY_AFTER_JITTER = 0.2


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        return True
    if isinstance(exc, openai.APIStatusError):
        # A 429 for an exhausted quota will not clear within our waits; retrying only delays the
        # item's way to review.
        if exc.status_code == 429 and exc.code == "insufficient_quota":
            return False
        return exc.status_code in _RETRYABLE_STATUSES or exc.status_code >= 500
    return False


def retry_after_seconds(exc: BaseException | None, *, now: float | None = None) -> float | None:
    """The wait the server asked for in the error's response headers, if any."""
    response = getattr(exc, "response", None)
    if response is None:
        return None
    headers = response.headers
    milliseconds = headers.get("retry-after-ms")
    if milliseconds is not None:
        try:
            return max(0.0, float(milliseconds) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:  # an HTTP date
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def make_wait(settings: Settings) -> Callable[[RetryCallState], float]:
    backoff = wait_random_exponential(
        multiplier=settings.llm_retry_base_wait_seconds, max=settings.llm_retry_max_wait_seconds
    )

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        asked = retry_after_seconds(exc)
        if asked is not None:
            # A little jitter on top, so callers told the same moment do not all return at once.
            jittered = asked * (1 + _RETRY_AFTER_JITTER * random.random())
            return min(jittered, settings.llm_retry_max_wait_seconds)
        return backoff(state)

    return wait


def _describe(exc: BaseException) -> str:
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code}: {exc.message}"
    return f"{type(exc).__name__}: {exc}"


async def call_with_retries(
    settings: Settings,
    call: Callable[[], Awaitable[T]],
    meter: CallMeter,
    *,
    gate: RateGate | None = None,
    tokens: int = 0,
) -> T:
    """Run `call`, retrying transient failures; every attempt is counted on `meter`. With a
    `gate`, each attempt first takes its turn under the shared rate limit, and a 429 slows
    everyone down."""
    attempts = 0

    async def attempt() -> T:
        nonlocal attempts
        if gate is not None:
            await gate.acquire(tokens)
        attempts += 1
        meter.count_attempt()
        try:
            return await call()
        except openai.APIStatusError as exc:
            if gate is not None and exc.status_code == 429:
                exhausted = limit_exhausted(exc.response.headers)
                await gate.penalize(retry_after_seconds(exc), exhausted=exhausted)
            raise

    retrying = AsyncRetrying(
        stop=stop_after_attempt(settings.llm_max_attempts),
        wait=make_wait(settings),
        retry=retry_if_exception(is_retryable),
        reraise=True,
    )
    try:
        return await retrying(attempt)
    except openai.OpenAIError as exc:
        outcome = "gave up after" if is_retryable(exc) else "not retryable, after"
        message = f"LLM call failed ({outcome} {attempts} attempt(s)): {_describe(exc)}"
        raise LLMCallError(message, attempts=attempts, usage=meter.usage) from exc
