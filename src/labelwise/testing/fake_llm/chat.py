"""Answering one `POST /v1/chat/completions`: the path from a request body to a reply.

This module owns the order of a completion: parse the request, let the fault injector strike,
wait the configured latency, write the n answers (cut by truncation or max_tokens), classify the
outcome, count usage and stats, frame the response. Each step's details live in its own module
(`request`, `faults`, `answer`, `completion`, `stats`); this one only sequences them.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from dataclasses import dataclass
from typing import Any

from labelwise.testing.fake_llm.answer import AnswerWriter
from labelwise.testing.fake_llm.asgi import Headers, error_body
from labelwise.testing.fake_llm.completion import PromptCache, Usage, choice, completion_body
from labelwise.testing.fake_llm.config import FakeLLMConfig
from labelwise.testing.fake_llm.faults import (
    FaultInjector,
    Faults,
    cut_in_half,
    rate_limited_body,
    retry_headers,
    server_error_body,
)
from labelwise.testing.fake_llm.judge import Judge, stable_seed
from labelwise.testing.fake_llm.limits import RequestLimit
from labelwise.testing.fake_llm.request import (
    BadRequest,
    ChatRequest,
    parse_chat_request,
    prompt_notes,
)
from labelwise.testing.fake_llm.stats import Stats


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]
    headers: Headers = ()


class ChatCompletions:
    """The chat.completions endpoint. Its fault stream, draw and id counters and prompt cache
    live for the life of the process."""

    def __init__(self, config: FakeLLMConfig, stats: Stats) -> None:
        self.config = config
        self.stats = stats
        self._faults = FaultInjector(config)
        self._draws = itertools.count()
        self._ids = itertools.count(1)
        self._prompt_cache = PromptCache()
        self._limit = (
            RequestLimit(config.requests_per_second) if config.requests_per_second > 0 else None
        )

    async def reply(self, body: bytes) -> Reply:
        self.stats.request_started()
        try:
            return await self._reply(body)
        finally:
            self.stats.request_finished()

    async def _reply(self, body: bytes) -> Reply:
        config, stats = self.config, self.stats
        try:
            request = parse_chat_request(body)
        except BadRequest as exc:
            stats.request_failed("bad_request")
            return Reply(400, error_body(str(exc), "invalid_request_error", None, exc.param))

        limit = self._limit
        if limit is not None and not limit.take():
            stats.request_failed("rate_limited")
            headers = [*limit.headers(), *retry_headers(limit.retry_after_seconds())]
            return Reply(429, rate_limited_body(), headers)
        faults = self._faults.next_faults()
        if faults.rate_limited:
            # Real rate limits answer at once, without the generation latency; a fault is not
            # the limit running out, and the limit's headers say so.
            stats.request_failed("rate_limited")
            headers = [*retry_headers(config.retry_after_seconds)]
            if limit is not None:
                headers += limit.headers()
            return Reply(429, rate_limited_body(), headers)
        if config.latency_ms > 0:
            await asyncio.sleep(config.latency_ms / 1000)
        if faults.server_error:
            stats.request_failed("server_error")
            return Reply(500, server_error_body())

        choices, completion_tokens, cut_by_limit = self._choices(request, faults)
        outcome = "ok"
        if faults.truncate or faults.invalid:
            outcome = "truncated" if faults.truncate else "invalid"
        elif cut_by_limit:
            outcome = "length"
        prompt_tokens, cached_tokens = self._prompt_cache.prompt_tokens(request.messages)
        usage = Usage(prompt_tokens, completion_tokens, cached_tokens)
        stats.completion_done(outcome, request.n, usage)
        completion_id = f"chatcmpl-fake-{next(self._ids)}"
        headers = limit.headers() if limit is not None else ()
        return Reply(200, completion_body(completion_id, request.model, choices, usage), headers)

    def _choices(
        self, request: ChatRequest, faults: Faults
    ) -> tuple[list[dict[str, Any]], int, bool]:
        """(the choices, their completion tokens, whether max_tokens cut any of them)."""
        config = self.config
        tool_name = request.mode.tool_name

        def judged(text: str) -> Judge:
            return Judge(
                text,
                seed=config.seed,
                accuracy_hint=config.accuracy_hint,
                confidence_spread=config.confidence_spread,
            )

        judge = judged(request.item_text)
        want_logprobs = config.logprobs and request.logprobs and tool_name is None
        top_k = (request.top_logprobs or 0) if want_logprobs else None
        max_tokens = request.max_tokens
        complete_finish = "tool_calls" if tool_name is not None else "stop"
        choices = []
        completion_tokens = 0
        cut_by_limit = False
        # Each request draws fresh samples (as a real model at temperature > 0 does), so agreement
        # over separate requests means something; the draw still repeats for a repeated run.
        draw = next(self._draws)
        for index in range(request.n):
            rng = random.Random(stable_seed(config.seed, request.item_text, index, draw))
            writer = AnswerWriter(
                judge,
                rng=rng,
                temperature=request.temperature,
                junk=config.junk_alternatives,
                invalid=faults.invalid,
                pack=[(item_id, judged(text)) for item_id, text in request.packed_items],
                drop_rate=config.rate_drop_item,
                notes=lambda: prompt_notes(request.messages),
            )
            tokens = writer.write(request.mode.schema)
            finish = complete_finish
            if faults.truncate:
                tokens = cut_in_half(tokens)
                finish = "length"
            if max_tokens is not None and len(tokens) > max_tokens:
                tokens = tokens[:max_tokens]
                finish = "length"
                cut_by_limit = True
            completion_tokens += len(tokens)
            choices.append(choice(index, tokens, finish, tool_name, top_k))
        return choices, completion_tokens, cut_by_limit
