"""Fault injection: which requests fail, and how each failure looks to the client.

This module owns the seeded fault stream (429, 500, a truncated answer, a schema-breaking answer)
and the failure responses: the 429 body with its retry headers, the 500 body, and the answer cut
in half. Decisions come from one stream in a fixed order, so a run with the same seed repeats.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from labelwise.testing.fake_llm.asgi import error_body
from labelwise.testing.fake_llm.config import FakeLLMConfig
from labelwise.testing.fake_llm.tokens import Token, certain_tokens, token_text


@dataclass(frozen=True)
class Faults:
    """What goes wrong with one request; at most one of these is true."""

    rate_limited: bool = False
    server_error: bool = False
    truncate: bool = False  # answer cut in half, finish_reason "length"
    invalid: bool = False  # valid JSON that breaks the schema


class FaultInjector:
    def __init__(self, config: FakeLLMConfig) -> None:
        self._config = config
        self._stream = random.Random(config.seed)

    def next_faults(self) -> Faults:
        # Each draw is taken only when the faults before it did not strike, as the repeatable
        # order of the stream depends on it.
        config, stream = self._config, self._stream
        if stream.random() < config.rate_429:
            return Faults(rate_limited=True)
        server_error = stream.random() < config.rate_500
        truncate = not server_error and stream.random() < config.rate_truncate
        invalid = not server_error and not truncate and stream.random() < config.rate_invalid
        return Faults(server_error=server_error, truncate=truncate, invalid=invalid)


def rate_limited_body() -> dict[str, Any]:
    return error_body(
        "Rate limit reached for requests (fake LLM). Please try again later.",
        "rate_limit_exceeded",
        "rate_limit_exceeded",
    )


def retry_headers(seconds: float) -> list[tuple[bytes, bytes]]:
    headers = [(b"retry-after-ms", str(round(seconds * 1000)).encode())]
    # `retry-after` only takes whole seconds; below one second it would overstate the wait.
    if seconds >= 1:
        headers.append((b"retry-after", str(math.ceil(seconds)).encode()))
    return headers


def server_error_body() -> dict[str, Any]:
    return error_body(
        "The server had an error while processing your request.", "server_error", None
    )


def cut_in_half(tokens: list[Token]) -> list[Token]:
    if len(tokens) >= 2:
        return tokens[: len(tokens) // 2]
    text = token_text(tokens)
    return certain_tokens(text[: len(text) // 2])
