"""What the fake LLM is told to be: `FakeLLMConfig` and the model id it answers as.

This module owns the knobs (latency, fault rates, logprobs, seed, how informative answers are)
and their validation. It builds nothing: the app, the fault injector and the answer writer read it.
"""

from __future__ import annotations

from dataclasses import dataclass

MODEL_ID = "fake-llm"


@dataclass(frozen=True)
class FakeLLMConfig:
    """Everything the fake is told, checked on construction; rates are shares of requests."""

    latency_ms: float = 50
    # The fake's own rate limit (0: none): over it, a 429 that says when to come back.
    requests_per_second: float = 0
    rate_429: float = 0
    retry_after_seconds: float = 0.05
    rate_500: float = 0
    # Answer with the JSON cut in half and finish_reason "length".
    rate_truncate: float = 0
    # Answer with valid JSON that breaks the schema (a label outside the enum, a wrong shape).
    rate_invalid: float = 0
    # In an answer about several items, the share of items left out of it.
    rate_drop_item: float = 0
    # False: never return logprobs, as some providers do.
    logprobs: bool = True
    # Mix a case variant and a forbidden token into top_logprobs, as servers that constrain
    # decoding with a grammar do (they report the unconstrained distribution).
    junk_alternatives: bool = True
    seed: int = 0
    # The mass a label gets when the item text names it.
    accuracy_hint: float = 0.9
    # How far below accuracy_hint that mass may fall, drawn per item: confidences that vary.
    confidence_spread: float = 0.0

    def __post_init__(self) -> None:
        for name in (
            "rate_429",
            "rate_500",
            "rate_truncate",
            "rate_invalid",
            "rate_drop_item",
            "accuracy_hint",
            "confidence_spread",
        ):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.latency_ms < 0 or self.retry_after_seconds < 0 or self.requests_per_second < 0:
            raise ValueError(
                "latency_ms, retry_after_seconds and requests_per_second must not be negative"
            )
