"""Realistic OpenAI `chat.completion` bodies and test settings, for respx-faked LLM calls."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import httpx

from labelwise.settings import Settings
from tests.redis_isolation import REDIS_URL, fresh_queue_name

BASE_URL = "http://llm.test/v1"
COMPLETIONS_URL = f"{BASE_URL}/chat/completions"

# A token as the provider lists it: its text, logprob, and the alternatives with theirs.
Token = tuple[str, float, Sequence[tuple[str, float]]]


def llm_settings(**overrides: Any) -> Settings:
    """Settings for calls to the faked LLM. The shared rate limits live in the tests' Redis
    database under a queue name of this test's own, removed when the test ends."""
    values: dict[str, Any] = {
        "redis_url": REDIS_URL,
        "queue_name": fresh_queue_name(),
        "openai_base_url": BASE_URL,
        "openai_api_key": "test-key",
        "llm_transport": "httpx",
        "llm_max_attempts": 3,
        "llm_retry_base_wait_seconds": 0.001,
        "llm_retry_max_wait_seconds": 0.05,
        "llm_max_reasks": 1,
        "llm_top_logprobs": 5,
        "llm_agreement_samples": 5,
        "prompts_dir": None,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def _token_entry(token: str, logprob: float, top: Sequence[tuple[str, float]]) -> dict[str, Any]:
    return {
        "token": token,
        "logprob": logprob,
        "bytes": list(token.encode()),
        "top_logprobs": [
            {"token": alt, "logprob": alt_logprob, "bytes": list(alt.encode())}
            for alt, alt_logprob in top
        ],
    }


def certain(*tokens: str) -> list[Token]:
    """Tokens the model was sure of (the JSON punctuation around an answer)."""
    return [(token, 0.0, [(token, 0.0)]) for token in tokens]


def single_label_tokens(chosen: str, alternatives: Sequence[tuple[str, float]]) -> list[Token]:
    """`{"label":"<chosen>"}` as OpenAI tokenizes it, with `alternatives` at the label token."""
    chosen_logprob = dict(alternatives)[chosen]
    return [
        *certain('{"', "label", '":"'),
        (chosen, chosen_logprob, alternatives),
        *certain('"}'),
    ]


def completion(
    content: str | None = None,
    *,
    tool_arguments: str | None = None,
    finish_reason: str = "stop",
    tokens: Sequence[Token] | None = None,
    refusal: str | None = None,
    prompt_tokens: int = 120,
    cached_tokens: int = 0,
    completion_tokens: int = 7,
    model: str = "test-model-2025-01-01",
) -> dict[str, Any]:
    """A `chat.completion` body as OpenAI sends it."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": content,
        "refusal": refusal,
        "annotations": [],
    }
    if tool_arguments is not None:
        message["tool_calls"] = [
            {
                "id": "call_abc123",
                "type": "function",
                "function": {"name": "record_answer", "arguments": tool_arguments},
            }
        ]
    logprobs = (
        None
        if tokens is None
        else {"content": [_token_entry(*token) for token in tokens], "refusal": None}
    )
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_735_689_600,
        "model": model,
        "choices": [
            {"index": 0, "message": message, "logprobs": logprobs, "finish_reason": finish_reason}
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": cached_tokens, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        },
        "service_tier": "default",
        "system_fingerprint": "fp_test",
    }


def ok(body: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, json=body)


def error(status: int, message: str = "error", **headers: str) -> httpx.Response:
    body = {"error": {"message": message, "type": "server_error", "param": None, "code": None}}
    return httpx.Response(status, json=body, headers=headers)


def answer(value: dict[str, Any], **kwargs: Any) -> httpx.Response:
    return ok(completion(json.dumps(value), **kwargs))


def sent_json(call: Any) -> dict[str, Any]:
    """The JSON body of a request respx recorded."""
    return json.loads(call.request.content)


def renormalized(chosen: float, *others: float) -> float:
    return math.exp(chosen) / (math.exp(chosen) + sum(math.exp(o) for o in others))
