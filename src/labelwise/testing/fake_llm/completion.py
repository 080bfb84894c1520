"""The chat.completion response: choices (content or a tool call, with logprobs) and usage.

This module owns the response's JSON shape and the token accounting, including the simulated
prompt cache (a system prompt seen before counts as cached, in whole blocks of 64 tokens, like a
provider's prefix cache). The tokens come from the answer writer; this module only frames them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from labelwise.cost.tokens import TOKENS_PER_MESSAGE, TOKENS_PER_REPLY, count_tokens
from labelwise.testing.fake_llm.request import SYSTEM_ROLES, message_text
from labelwise.testing.fake_llm.tokens import Token, token_text

# Distinct system prompts remembered for prompt caching; past this the memory starts over.
_MAX_CACHED_PROMPTS = 1024
_CACHE_BLOCK = 64


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int

    def as_json(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": self.cached_tokens},
        }


class PromptCache:
    """The system prompts seen so far, with their token counts, for the life of the process.

    A system prompt (guidelines, labels, examples) is the same for every item of a project and
    often the longest part of the prompt: counted once, it costs the fake nothing afterwards,
    as it costs a provider with a prefix cache."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def prompt_tokens(self, messages: list[dict[str, Any]]) -> tuple[int, int]:
        """(prompt tokens, of which cached): the system prompt is cached once seen. Counted
        with the tokenizer labelwise estimates with, framing included, as OpenAI counts."""
        total = TOKENS_PER_REPLY
        cached = 0
        system_seen = False
        for message in messages:
            text = message_text(message.get("content"))
            if not system_seen and message.get("role") in SYSTEM_ROLES:
                system_seen = True
                tokens, cached = self._system_tokens(text)
            else:
                tokens = count_tokens(text)
            total += TOKENS_PER_MESSAGE + tokens
            for call in message.get("tool_calls") or ():
                if isinstance(call, dict):
                    arguments = str((call.get("function") or {}).get("arguments", ""))
                    total += count_tokens(arguments)
        return total, cached

    def _system_tokens(self, text: str) -> tuple[int, int]:
        """(its tokens, of which cached: none the first time it is seen)."""
        known = self._seen.get(text)
        if known is not None:
            return known, known // _CACHE_BLOCK * _CACHE_BLOCK
        if len(self._seen) >= _MAX_CACHED_PROMPTS:
            self._seen.clear()
        self._seen[text] = tokens = count_tokens(text)
        return tokens, 0


def choice(
    index: int, tokens: list[Token], finish: str, tool_name: str | None, top_k: int | None
) -> dict[str, Any]:
    """One choice; `top_k` None: no logprobs, else that many alternatives per token."""
    text = token_text(tokens)
    message: dict[str, Any] = {"role": "assistant", "refusal": None, "annotations": []}
    if tool_name is not None:
        message["content"] = None
        message["tool_calls"] = [
            {
                "id": f"call_fake_{index}",
                "type": "function",
                "function": {"name": tool_name, "arguments": text},
            }
        ]
    else:
        message["content"] = text
    logprobs = None
    if top_k is not None:
        logprobs = {"content": [_token_logprobs(token, top_k) for token in tokens], "refusal": None}
    return {"index": index, "message": message, "logprobs": logprobs, "finish_reason": finish}


def _token_logprobs(token: Token, top_k: int) -> dict[str, Any]:
    text, logprob, top = token
    return {
        "token": text,
        "logprob": logprob,
        "bytes": None,
        "top_logprobs": [
            {"token": alt, "logprob": alt_logprob, "bytes": None}
            for alt, alt_logprob in top[:top_k]
        ],
    }


def completion_body(
    completion_id: str, model: str, choices: list[dict[str, Any]], usage: Usage
) -> dict[str, Any]:
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": choices,
        "usage": usage.as_json(),
        "system_fingerprint": "fp_fake",
    }
