"""The fake's counters, served at `GET /stats` and zeroed by `POST /stats/reset`.

This module owns what is counted (requests, each outcome, choices, tokens, concurrency) and the
order the counters are reported in. It decides no outcome; the chat handler tells it what happened.
"""

from __future__ import annotations

from typing import Any

from labelwise.testing.fake_llm.completion import Usage

OUTCOMES = ("ok", "length", "truncated", "invalid", "rate_limited", "server_error", "bad_request")
_COUNTERS = (
    "requests",
    *OUTCOMES,
    "choices",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
)


class Stats:
    """Counters for the life of the process (or since the last reset)."""

    def __init__(self) -> None:
        self.counters: dict[str, int] = {}
        self.in_flight = 0
        self.reset()

    def reset(self) -> None:
        self.counters = dict.fromkeys(_COUNTERS, 0)
        self.counters["max_in_flight"] = self.in_flight

    def snapshot(self) -> dict[str, Any]:
        return {**self.counters, "in_flight": self.in_flight}

    def request_started(self) -> None:
        counters = self.counters
        counters["requests"] += 1
        self.in_flight += 1
        counters["max_in_flight"] = max(counters["max_in_flight"], self.in_flight)

    def request_finished(self) -> None:
        self.in_flight -= 1

    def request_failed(self, outcome: str) -> None:
        """A request answered with an error (400, 429, 500)."""
        self.counters[outcome] += 1

    def completion_done(self, outcome: str, choices: int, usage: Usage) -> None:
        """A request answered with `choices` choices (200), its outcome and token usage."""
        counters = self.counters
        counters[outcome] += 1
        counters["choices"] += choices
        counters["prompt_tokens"] += usage.prompt_tokens
        counters["completion_tokens"] += usage.completion_tokens
        counters["cached_tokens"] += usage.cached_tokens
