from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any, Literal

import openai
import pytest
import respx
from pydantic import BaseModel, ConfigDict

from labelwise.domain import TokenLogprob, Usage
from labelwise.errors import InvalidOutputError, LLMCallError, RefusalError, TruncatedOutputError
from labelwise.llm.call import StructuredRequest, call_structured, token_logprobs
from labelwise.llm.client import LLMClients
from labelwise.llm.meter import CallMeter
from labelwise.settings import Settings
from labelwise.spec import ModelSpec, OutputMode
from tests.llm.fakes import (
    answer,
    certain,
    completion,
    error,
    llm_settings,
    ok,
    sent_json,
    single_label_tokens,
)

SCHEMA = {
    "type": "object",
    "properties": {"label": {"type": "string", "enum": ["positive", "negative"]}},
    "required": ["label"],
    "additionalProperties": False,
}


class Choice(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    label: Literal["positive", "negative"]


def make_request(mode: OutputMode = "json_schema", **overrides: Any) -> StructuredRequest:
    values: dict[str, Any] = {
        "model": "test-model",
        "messages": [
            {"role": "system", "content": "static"},
            {"role": "user", "content": "item"},
        ],
        "mode": mode,
        "schema": SCHEMA,
        "answer_model": Choice,
        "temperature": 0.0,
        "max_tokens": 40,
        "top_logprobs": 5,
    }
    values.update(overrides)
    return StructuredRequest(**values)


@pytest.fixture
def settings() -> Settings:
    return llm_settings()


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[openai.AsyncOpenAI]:
    clients = LLMClients(settings)
    yield clients.for_model(ModelSpec(name="test-model"))
    await clients.aclose()


async def test_json_schema_mode_asks_strictly_with_logprobs(
    llm_api: respx.MockRouter, client: openai.AsyncOpenAI, settings: Settings
) -> None:
    route = llm_api.post("/chat/completions").mock(return_value=answer({"label": "negative"}))
    meter = CallMeter()
    result = await call_structured(client, make_request(), settings=settings, meter=meter)
    assert result.answer == Choice(label="negative")
    assert result.model == "test-model-2025-01-01"
    body = sent_json(route.calls[0])
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": SCHEMA, "strict": True},
    }
    assert body["logprobs"] is True and body["top_logprobs"] == 5
    assert body["max_tokens"] == 40 and body["temperature"] == 0.0
    assert "tools" not in body
    assert meter.attempts == 1 and meter.usage == Usage(120, 0, 7)


async def test_tool_mode_forces_one_function_and_reads_its_arguments(
    llm_api: respx.MockRouter, client: openai.AsyncOpenAI, settings: Settings
) -> None:
    body = completion(None, tool_arguments='{"label": "positive"}', finish_reason="tool_calls")
    route = llm_api.post("/chat/completions").mock(return_value=ok(body))
    request = make_request("tool")
    result = await call_structured(client, request, settings=settings, meter=CallMeter())
    assert result.answer == Choice(label="positive")
    sent = sent_json(route.calls[0])
    assert [tool["function"]["name"] for tool in sent["tools"]] == ["record_answer"]
    assert sent["tools"][0]["function"]["parameters"] == SCHEMA
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "record_answer"}}
    assert "logprobs" not in sent and "response_format" not in sent


async def test_json_object_mode(
    llm_api: respx.MockRouter, client: openai.AsyncOpenAI, settings: Settings
) -> None:
    route = llm_api.post("/chat/completions").mock(return_value=answer({"label": "positive"}))
    request = make_request("json_object")
    result = await call_structured(client, request, settings=settings, meter=CallMeter())
    assert result.answer == Choice(label="positive")
    assert sent_json(route.calls[0])["response_format"] == {"type": "json_object"}


async def test_a_fenced_answer_is_accepted(
    llm_api: respx.MockRouter, client: openai.AsyncOpenAI, settings: Settings
) -> None:
    fenced = '```json\n{"label": "negative"}\n```'
    llm_api.post("/chat/completions").mock(return_value=ok(completion(fenced)))
    request = make_request("json_object")
    result = await call_structured(client, request, settings=settings, meter=CallMeter())
    assert result.answer == Choice(label="negative")


async def test_invalid_answer_is_shown_back_with_the_error_then_accepted(
    llm_api: respx.MockRouter, client: openai.AsyncOpenAI, settings: Settings
) -> None:
    route = llm_api.post("/chat/completions")
    route.side_effect = [
        answer({"label": "neutral"}, prompt_tokens=100, completion_tokens=5),
        answer({"label": "negative"}, prompt_tokens=130, cached_tokens=100, completion_tokens=5),
    ]
    meter = CallMeter()
    result = await call_structured(client, make_request(), settings=settings, meter=meter)
    assert result.answer == Choice(label="negative")
    assert meter.attempts == 2
    assert meter.usage == Usage(prompt_tokens=230, cached_tokens=100, completion_tokens=10)
    reask = sent_json(route.calls[1])["messages"]
    assert [m["role"] for m in reask] == ["system", "user", "assistant", "user"]
    assert reask[2]["content"] == '{"label": "neutral"}'
    assert "label" in reask[3]["content"] and "'positive' or 'negative'" in reask[3]["content"]


async def test_tool_mode_reask_answers_the_tool_call(
    llm_api: respx.MockRouter, client: openai.AsyncOpenAI, settings: Settings
) -> None:
    route = llm_api.post("/chat/completions")
    route.side_effect = [
        ok(completion(None, tool_arguments='{"label": 3}', finish_reason="tool_calls")),
        ok(completion(None, tool_arguments='{"label": "negative"}', finish_reason="tool_calls")),
    ]
    request = make_request("tool")
    result = await call_structured(client, request, settings=settings, meter=CallMeter())
    assert result.answer == Choice(label="negative")
    messages = sent_json(route.calls[1])["messages"]
    assert messages[2]["tool_calls"][0]["id"] == "call_abc123"
    assert messages[3]["role"] == "tool" and messages[3]["tool_call_id"] == "call_abc123"


@pytest.mark.parametrize("bad", ["not json", '{"label": "positive", "extra": 1}', "", "[]"])
async def test_invalid_after_the_reask_bound(
    llm_api: respx.MockRouter, client: openai.AsyncOpenAI, settings: Settings, bad: str
) -> None:
    route = llm_api.post("/chat/completions").mock(return_value=ok(completion(bad)))
    meter = CallMeter()
    with pytest.raises(InvalidOutputError) as raised:
        await call_structured(client, make_request(), settings=settings, meter=meter)
    assert type(raised.value) is InvalidOutputError
    assert route.call_count == settings.llm_max_reasks + 1 == raised.value.attempts


async def test_truncated_answer_is_asked_again_with_twice_the_tokens(
    llm_api: respx.MockRouter, client: openai.AsyncOpenAI, settings: Settings
) -> None:
    route = llm_api.post("/chat/completions")
    route.side_effect = [
        ok(completion('{"label": "nega', finish_reason="length")),
        answer({"label": "negative"}),
    ]
    result = await call_structured(client, make_request(), settings=settings, meter=CallMeter())
    assert result.answer == Choice(label="negative")
    assert [sent_json(call)["max_tokens"] for call in route.calls] == [40, 80]
    # The cut-off text is not fed back: the same conversation is asked again.
    assert len(sent_json(route.calls[1])["messages"]) == 2


async def test_truncated_twice(
    llm_api: respx.MockRouter, client: openai.AsyncOpenAI, settings: Settings
) -> None:
    llm_api.post("/chat/completions").mock(
        return_value=ok(completion('{"label": "nega', finish_reason="length"))
    )
    with pytest.raises(TruncatedOutputError, match="max_tokens=80"):
        await call_structured(client, make_request(), settings=settings, meter=CallMeter())


async def test_refusal_is_final(
    llm_api: respx.MockRouter, client: openai.AsyncOpenAI, settings: Settings
) -> None:
    route = llm_api.post("/chat/completions").mock(
        return_value=ok(completion(None, refusal="I can't help with that."))
    )
    with pytest.raises(RefusalError, match="can't help"):
        await call_structured(client, make_request(), settings=settings, meter=CallMeter())
    assert route.call_count == 1


async def test_429_with_retry_after_ms_is_waited_out(
    llm_api: respx.MockRouter, client: openai.AsyncOpenAI
) -> None:
    settings = llm_settings(llm_retry_max_wait_seconds=2.0)
    route = llm_api.post("/chat/completions")
    route.side_effect = [
        error(429, "Rate limit reached", **{"retry-after-ms": "300"}),
        answer({"label": "positive"}),
    ]
    meter = CallMeter()
    started = time.perf_counter()
    result = await call_structured(client, make_request(), settings=settings, meter=meter)
    elapsed = time.perf_counter() - started
    assert result.answer == Choice(label="positive")
    assert meter.attempts == 2
    assert 0.28 <= elapsed < 1.5
    # The SDK's own retry layer is off: every attempt is one of ours.
    assert [call.request.headers["x-stainless-retry-count"] for call in route.calls] == ["0", "0"]


async def test_server_errors_exhaust_the_attempts(
    llm_api: respx.MockRouter, client: openai.AsyncOpenAI, settings: Settings
) -> None:
    route = llm_api.post("/chat/completions").mock(return_value=error(500))
    meter = CallMeter()
    with pytest.raises(LLMCallError) as raised:
        await call_structured(client, make_request(), settings=settings, meter=meter)
    assert route.call_count == meter.attempts == settings.llm_max_attempts
    assert raised.value.attempts == settings.llm_max_attempts


def test_token_logprobs_from_the_sdk() -> None:
    tokens = single_label_tokens("negative", [("negative", -0.2), ("positive", -1.8)])
    parsed = openai.types.chat.ChatCompletion.model_validate(completion("{}", tokens=tokens))
    converted = token_logprobs(parsed.choices[0])
    assert converted is not None and len(converted) == 5
    assert converted[3] == TokenLogprob("negative", -0.2, (("negative", -0.2), ("positive", -1.8)))
    assert converted[0] == TokenLogprob('{"', 0.0, (('{"', 0.0),))
    bare = openai.types.chat.ChatCompletion.model_validate(completion("{}"))
    assert token_logprobs(bare.choices[0]) is None
    assert certain("x") == [("x", 0.0, [("x", 0.0)])]
    assert json.loads(json.dumps(completion("{}", tokens=tokens)))  # plain JSON all the way


async def test_a_complete_answer_is_kept_even_when_length_is_reported(
    llm_api: respx.MockRouter, client: openai.AsyncOpenAI, settings: Settings
) -> None:
    body = completion('{"label": "positive"}', finish_reason="length")
    route = llm_api.post("/chat/completions").mock(return_value=ok(body))
    result = await call_structured(client, make_request(), settings=settings, meter=CallMeter())
    assert result.answer == Choice(label="positive")
    assert route.call_count == 1
