"""The fake LLM's HTTP surface: a plain ASGI app speaking enough of the OpenAI chat API.

This module owns `FakeLLMConfig`, request parsing (which of the three structured-output modes,
which schema, which item), fault injection, simulated prompt caching, usage and the `/stats`
counters. The answer itself is `labelwise.fake_llm.answer`'s business.

No framework: the fake shares a small box with the system under benchmark, so each request
should cost as little CPU as possible.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import random
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from labelwise.fake_llm.answer import AnswerWriter, Judge, Token, certain_tokens, stable_seed

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

SCHEMA_LINE_PREFIX = "Answer schema: "
MODEL_ID = "fake-llm"
_OUTCOMES = ("ok", "length", "truncated", "invalid", "rate_limited", "server_error", "bad_request")
# Distinct system prompts remembered for prompt caching; past this the memory starts over.
_MAX_CACHED_PROMPTS = 1024
_JSON = (b"content-type", b"application/json")


@dataclass(frozen=True)
class FakeLLMConfig:
    latency_ms: float = 50
    rate_429: float = 0
    retry_after_seconds: float = 0.05
    rate_500: float = 0
    # Answer with the JSON cut in half and finish_reason "length".
    rate_truncate: float = 0
    # Answer with valid JSON that breaks the schema (a label outside the enum, a wrong shape).
    rate_invalid: float = 0
    # False: never return logprobs, as some providers do.
    logprobs: bool = True
    # Mix a case variant and a forbidden token into top_logprobs, as servers that constrain
    # decoding with a grammar do (they report the unconstrained distribution).
    junk_alternatives: bool = True
    seed: int = 0
    # The mass a label gets when the item text names it.
    accuracy_hint: float = 0.9

    def __post_init__(self) -> None:
        for name in ("rate_429", "rate_500", "rate_truncate", "rate_invalid", "accuracy_hint"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.latency_ms < 0 or self.retry_after_seconds < 0:
            raise ValueError("latency_ms and retry_after_seconds must not be negative")


class BadRequest(Exception):
    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


def _error(message: str, kind: str, code: str | None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def _text(content: Any) -> str:
    """A message's text: a string, or the text parts of a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part.get("text", "") for part in content if isinstance(part, dict) and "text" in part
        )
    return ""


def _tokens(chars: int) -> int:
    return math.ceil(chars / 4)


def _int_param(request: dict[str, Any], name: str, low: int, high: int) -> int | None:
    value = request.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadRequest(f"{name} must be an integer from {low} to {high}", name)
    return value


def _schema_from_prompt(messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The schema on the `Answer schema: {...}` line of a system message (json_object mode)."""
    for message in reversed(messages):
        if message.get("role") not in ("system", "developer"):
            continue
        text = _text(message.get("content"))
        at = text.rfind(SCHEMA_LINE_PREFIX)
        while at >= 0:
            if at == 0 or text[at - 1] == "\n":
                line = text[at + len(SCHEMA_LINE_PREFIX) :].split("\n", 1)[0]
                return _parse_schema_line(line)
            at = text.rfind(SCHEMA_LINE_PREFIX, 0, at)
    return None


_schema_lines: dict[str, dict[str, Any]] = {}


def _parse_schema_line(line: str) -> dict[str, Any]:
    # Every item of a project sends the same line: parse it once.
    schema = _schema_lines.get(line)
    if schema is None:
        try:
            parsed = json.loads(line)
        except ValueError as exc:
            raise BadRequest(f"the Answer schema line is not JSON: {exc}") from exc
        if not isinstance(parsed, dict):
            raise BadRequest("the Answer schema line is not a JSON object")
        if len(_schema_lines) > 256:
            _schema_lines.clear()
        schema = _schema_lines[line] = parsed
    return schema


def _item_text(messages: list[dict[str, Any]]) -> str:
    """What the fake judges: the last user message holding an <item> block, narrowed to it, so a
    re-ask (a correction after the item) is judged on the same item; else the last user text."""
    last_user: str | None = None
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        text = _text(message.get("content"))
        if last_user is None:
            last_user = text
        start = text.find("<item>")
        end = text.rfind("</item>")
        if 0 <= start < end:
            return text[start + len("<item>") : end].strip()
    return (last_user or "").strip()


@dataclass(frozen=True)
class _Ask:
    """What a chat.completions request asks for, read once."""

    schema: dict[str, Any] | None
    tool_name: str | None  # answer as a call of this function


def _read_mode(request: dict[str, Any], messages: list[dict[str, Any]]) -> _Ask:
    tools = request.get("tools")
    tool_choice = request.get("tool_choice")
    if isinstance(tools, list) and tools and tool_choice != "none":
        wanted = None
        if isinstance(tool_choice, dict):
            wanted = (tool_choice.get("function") or {}).get("name")
        functions = [t.get("function") or {} for t in tools if isinstance(t, dict)]
        function = next((f for f in functions if f.get("name") == wanted), functions[0])
        parameters = function.get("parameters")
        schema = parameters if isinstance(parameters, dict) else {"type": "object"}
        return _Ask(schema, str(function.get("name", "function")))
    response_format = request.get("response_format")
    if not isinstance(response_format, dict):
        response_format = {}
    kind = response_format.get("type")
    if kind == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        if not isinstance(schema, dict):
            raise BadRequest("response_format.json_schema.schema is required", "response_format")
        return _Ask(schema, None)
    schema = _schema_from_prompt(messages)
    if kind == "json_object" and schema is None:
        schema = {"type": "object"}
    return _Ask(schema, None)


class FakeLLM:
    """The ASGI app. Counters and the prompt cache live for the life of the process."""

    def __init__(self, config: FakeLLMConfig) -> None:
        self.config = config
        self.stats: dict[str, int] = {}
        self.in_flight = 0
        self._faults = random.Random(config.seed)
        self._draws = itertools.count()
        self._ids = itertools.count(1)
        self._seen_prompts: set[str] = set()
        self.reset_stats()

    def reset_stats(self) -> None:
        self.stats = dict.fromkeys(
            ("requests", *_OUTCOMES, "choices", "prompt_tokens", "completion_tokens"), 0
        )
        self.stats["cached_tokens"] = 0
        self.stats["max_in_flight"] = self.in_flight

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        method: str = scope["method"]
        if path in ("/v1/chat/completions", "/chat/completions"):
            if method != "POST":
                await _respond(send, 405, _error("use POST", "invalid_request_error", None))
                return
            chunks = []
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
            await self._chat(b"".join(chunks), send)
        elif path in ("/v1/models", "/models") and method == "GET":
            model = {"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "labelwise"}
            await _respond(send, 200, {"object": "list", "data": [model]})
        elif path == "/healthz" and method == "GET":
            await _respond(send, 200, {"status": "ok"})
        elif path == "/stats" and method == "GET":
            await _respond(send, 200, {**self.stats, "in_flight": self.in_flight})
        elif path == "/stats/reset" and method == "POST":
            self.reset_stats()
            await _respond(send, 200, {**self.stats, "in_flight": self.in_flight})
        else:
            await _respond(send, 404, _error(f"no route {method} {path}", "not_found", None))

    async def _chat(self, body: bytes, send: Send) -> None:
        stats = self.stats
        stats["requests"] += 1
        self.in_flight += 1
        stats["max_in_flight"] = max(stats["max_in_flight"], self.in_flight)
        try:
            status, payload, headers = await self._complete(body)
        finally:
            self.in_flight -= 1
        await _respond(send, status, payload, headers)

    async def _complete(self, body: bytes) -> tuple[int, dict[str, Any], list[tuple[bytes, bytes]]]:
        config = self.config
        try:
            request = json.loads(body)
            if not isinstance(request, dict):
                raise BadRequest("the body must be a JSON object")
            messages = request.get("messages")
            if not isinstance(messages, list) or not messages:
                raise BadRequest("messages must be a non-empty list", "messages")
            if not all(isinstance(m, dict) for m in messages):
                raise BadRequest("every message must be an object", "messages")
            ask = _read_mode(request, messages)
            n = _int_param(request, "n", 1, 128) or 1
            top_k = _int_param(request, "top_logprobs", 0, 20)
            max_tokens = _int_param(request, "max_completion_tokens", 1, 1_000_000)
            if max_tokens is None:
                max_tokens = _int_param(request, "max_tokens", 1, 1_000_000)
            # OpenAI's default temperature is 1.
            raw_temperature = request.get("temperature")
            temperature = 1.0 if raw_temperature is None else float(raw_temperature)
        # A malformed body of any shape is the client's error, never a 500.
        except (BadRequest, ValueError, TypeError, AttributeError, LookupError) as exc:
            self.stats["bad_request"] += 1
            param = exc.param if isinstance(exc, BadRequest) else None
            return 400, _error(str(exc), "invalid_request_error", None, param), []

        # Fault decisions come from one seeded stream, in this order, so a run is repeatable.
        faults = self._faults
        if faults.random() < config.rate_429:
            # Real rate limits answer at once, without the generation latency.
            self.stats["rate_limited"] += 1
            return 429, _rate_limited(), _retry_headers(config.retry_after_seconds)
        server_error = faults.random() < config.rate_500
        truncate = not server_error and faults.random() < config.rate_truncate
        invalid = not server_error and not truncate and faults.random() < config.rate_invalid
        if config.latency_ms > 0:
            await asyncio.sleep(config.latency_ms / 1000)
        if server_error:
            self.stats["server_error"] += 1
            message = "The server had an error while processing your request."
            return 500, _error(message, "server_error", None), []

        text = _item_text(messages)
        judge = Judge(text, seed=config.seed, accuracy_hint=config.accuracy_hint)
        want_logprobs = config.logprobs and bool(request.get("logprobs")) and ask.tool_name is None
        choices = []
        completion_tokens = 0
        cut_by_limit = False
        # Each request draws fresh samples (as a real model at temperature > 0 does), so agreement
        # over separate requests means something; the draw still repeats for a repeated run.
        draw = next(self._draws)
        for index in range(n):
            rng = random.Random(stable_seed(config.seed, text, index, draw))
            writer = AnswerWriter(
                judge,
                rng=rng,
                temperature=temperature,
                junk=config.junk_alternatives,
                invalid=invalid,
            )
            tokens = writer.write(ask.schema)
            finish = "tool_calls" if ask.tool_name is not None else "stop"
            if truncate:
                tokens = _cut_in_half(tokens)
                finish = "length"
            if max_tokens is not None and len(tokens) > max_tokens:
                tokens = tokens[:max_tokens]
                finish = "length"
                cut_by_limit = True
            completion_tokens += len(tokens)
            choices.append(
                _choice(index, tokens, finish, ask, (top_k or 0) if want_logprobs else None)
            )

        outcome = "ok"
        if truncate or invalid:
            outcome = "truncated" if truncate else "invalid"
        elif cut_by_limit:
            outcome = "length"
        prompt_tokens, cached_tokens = self._prompt_usage(messages)
        stats = self.stats
        stats[outcome] += 1
        stats["choices"] += n
        stats["prompt_tokens"] += prompt_tokens
        stats["completion_tokens"] += completion_tokens
        stats["cached_tokens"] += cached_tokens
        payload = {
            "id": f"chatcmpl-fake-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": str(request.get("model") or MODEL_ID),
            "choices": choices,
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
                "prompt_tokens_details": {"cached_tokens": cached_tokens},
            },
            "system_fingerprint": "fp_fake",
        }
        return 200, payload, []

    def _prompt_usage(self, messages: list[dict[str, Any]]) -> tuple[int, int]:
        """(prompt tokens, cached tokens): the system prompt counts as cached once seen, in whole
        blocks of 64 tokens, like a provider's prefix cache."""
        chars = 0
        system: str | None = None
        for message in messages:
            text = _text(message.get("content"))
            chars += len(text)
            for call in message.get("tool_calls") or ():
                if isinstance(call, dict):
                    chars += len(str((call.get("function") or {}).get("arguments", "")))
            if system is None and message.get("role") in ("system", "developer"):
                system = text
        cached = 0
        if system:
            if system in self._seen_prompts:
                cached = _tokens(len(system)) // 64 * 64
            else:
                if len(self._seen_prompts) >= _MAX_CACHED_PROMPTS:
                    self._seen_prompts.clear()
                self._seen_prompts.add(system)
        return _tokens(chars), cached


def _cut_in_half(tokens: list[Token]) -> list[Token]:
    if len(tokens) >= 2:
        return tokens[: len(tokens) // 2]
    text = "".join(t[0] for t in tokens)
    return certain_tokens(text[: len(text) // 2])


def _choice(
    index: int,
    tokens: list[Token],
    finish: str,
    ask: _Ask,
    top_k: int | None,
) -> dict[str, Any]:
    text = "".join(token[0] for token in tokens)
    message: dict[str, Any] = {"role": "assistant", "refusal": None, "annotations": []}
    if ask.tool_name is not None:
        message["content"] = None
        message["tool_calls"] = [
            {
                "id": f"call_fake_{index}",
                "type": "function",
                "function": {"name": ask.tool_name, "arguments": text},
            }
        ]
    else:
        message["content"] = text
    logprobs = None
    if top_k is not None:
        logprobs = {
            "content": [
                {
                    "token": token,
                    "logprob": logprob,
                    "bytes": None,
                    "top_logprobs": [
                        {"token": alt, "logprob": alt_logprob, "bytes": None}
                        for alt, alt_logprob in top[:top_k]
                    ],
                }
                for token, logprob, top in tokens
            ],
            "refusal": None,
        }
    return {"index": index, "message": message, "logprobs": logprobs, "finish_reason": finish}


def _rate_limited() -> dict[str, Any]:
    return _error(
        "Rate limit reached for requests (fake LLM). Please try again later.",
        "rate_limit_exceeded",
        "rate_limit_exceeded",
    )


def _retry_headers(seconds: float) -> list[tuple[bytes, bytes]]:
    headers = [(b"retry-after-ms", str(round(seconds * 1000)).encode())]
    # `retry-after` only takes whole seconds; below one second it would overstate the wait.
    if seconds >= 1:
        headers.append((b"retry-after", str(math.ceil(seconds)).encode()))
    return headers


async def _respond(
    send: Send,
    status: int,
    payload: dict[str, Any],
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [_JSON, (b"content-length", str(len(body)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


def create_app(config: FakeLLMConfig | None = None) -> FakeLLM:
    """The fake LLM as an ASGI app (serve it with uvicorn)."""
    return FakeLLM(config or FakeLLMConfig())
