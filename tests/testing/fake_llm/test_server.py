"""The fake LLM server through the real OpenAI SDK, over real HTTP on loopback."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletion
from openai.types.chat.chat_completion import Choice

from labelwise.cost.tokens import count_tokens
from labelwise.llm.call import token_logprobs
from labelwise.scoring.confidence import boolean_confidences, label_choice_confidence
from labelwise.testing.fake_llm import FakeLLMConfig, enum_distribution, running_fake_llm
from labelwise.testing.fake_llm.server import build_parser, main

LABELS = ["positive", "position", "negative"]
SINGLE = {
    "type": "object",
    "properties": {"label": {"type": "string", "enum": LABELS}},
    "required": ["label"],
    "additionalProperties": False,
}
MULTI = {
    "type": "object",
    "properties": {
        "rationale": {"type": "string"},
        "labels": {
            "type": "object",
            "properties": {"spam": {"type": "boolean"}, "urgent": {"type": "boolean"}},
            "required": ["spam", "urgent"],
            "additionalProperties": False,
        },
    },
    "required": ["rationale", "labels"],
    "additionalProperties": False,
}
SYSTEM = "You label data for a classification task."


def json_schema(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {"name": "answer", "strict": True, "schema": schema},
    }


def messages(text: str, system: str = SYSTEM) -> list[dict[str, Any]]:
    item = json.dumps({"text": text})
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": f"Classify the item below.\n<item>\n{item}\n</item>"},
    ]


def client_for(url: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        base_url=url, api_key="x", max_retries=0, http_client=httpx.AsyncClient()
    )


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with running_fake_llm(FakeLLMConfig(latency_ms=0)) as base_url:
        yield base_url


@pytest.fixture
async def client(url: str) -> AsyncIterator[openai.AsyncOpenAI]:
    async with client_for(url) as sdk:
        yield sdk


async def ask(
    client: openai.AsyncOpenAI, text: str, schema: dict[str, Any] = SINGLE, **params: Any
) -> ChatCompletion:
    values: dict[str, Any] = {
        "model": "fake",
        "messages": messages(text),
        "response_format": json_schema(schema),
        "temperature": 0,
        "logprobs": True,
        "top_logprobs": 5,
    }
    values.update(params)
    return await client.chat.completions.create(**values)


def value_tokens(choice: Choice) -> list[tuple[str, float, dict[str, float]]]:
    """The tokens spelling the `label` value: (text, prob, alternatives as text -> prob)."""
    assert choice.logprobs is not None and choice.logprobs.content is not None
    tokens = choice.logprobs.content
    start = next(i for i, t in enumerate(tokens) if t.token.endswith('": "')) + 1
    spelled = []
    for token in tokens[start:]:
        top = {alt.token: math.exp(alt.logprob) for alt in token.top_logprobs}
        spelled.append((token.token, math.exp(token.logprob), top))
        if '"' in token.token:
            break
    return spelled


def allowed_conditional(emitted: str, top: dict[str, float], before: str) -> float:
    """The emitted token's share among the alternatives that can still spell a label."""
    spellings = [f'{label}"' for label in LABELS]

    def allowed(text: str) -> bool:
        candidate = before + text.rstrip("}")
        return any(s.startswith(candidate) for s in spellings)

    total = sum(p for text, p in top.items() if allowed(text))
    return top[emitted] / total


async def test_json_schema_answer_is_in_the_enum_and_tokens_spell_it(
    client: openai.AsyncOpenAI,
) -> None:
    completion = await ask(client, "I love this product")
    choice = completion.choices[0]
    assert choice.finish_reason == "stop"
    assert json.loads(choice.message.content or "")["label"] in LABELS
    assert choice.logprobs is not None and choice.logprobs.content is not None
    assert "".join(t.token for t in choice.logprobs.content) == choice.message.content
    assert completion.usage is not None
    assert completion.usage.completion_tokens == len(choice.logprobs.content)


async def test_a_label_named_in_the_text_gets_the_accuracy_hint_across_shared_prefixes(
    url: str,
) -> None:
    # Without junk alternatives the raw logprobs are the conditionals themselves.
    with running_fake_llm(FakeLLMConfig(latency_ms=0, junk_alternatives=False)) as plain_url:
        async with client_for(plain_url) as plain:
            choice = (await ask(plain, "a strong position overall")).choices[0]
    assert json.loads(choice.message.content or "")["label"] == "position"
    spelled = value_tokens(choice)
    assert [text for text, _, _ in spelled] == ["posi", "tion", '"}']
    assert math.prod(p for _, p, _ in spelled) == pytest.approx(0.9, abs=1e-6)
    first_top = spelled[0][2]
    assert set(first_top) == {"posi", "nega"}
    assert sum(first_top.values()) == pytest.approx(1.0)
    # At "posi" only positive and position remain: the conditional is over those two.
    assert set(spelled[1][2]) == {"tion", "tive"}


async def test_with_junk_the_allowed_alternatives_still_give_the_distribution(
    client: openai.AsyncOpenAI,
) -> None:
    for text in ["a strong position overall", "the weather today", "something else entirely"]:
        choice = (await ask(client, text, top_logprobs=20)).choices[0]
        chosen = json.loads(choice.message.content or "")["label"]
        expected = enum_distribution(LABELS, json.dumps({"text": text}))
        assert chosen == LABELS[max(range(3), key=expected.__getitem__)]
        spelled = value_tokens(choice)
        first_top = spelled[0][2]
        # A case variant of the emitted piece and a forbidden token are mixed in...
        assert spelled[0][0][:1].upper() + spelled[0][0][1:] in first_top
        assert sum(first_top.values()) <= 1.0 + 1e-9
        # ...and renormalising over what can still become a label recovers P(chosen).
        product, before = 1.0, ""
        for emitted, _, top in spelled:
            product *= allowed_conditional(emitted, top, before)
            before += emitted
        assert product == pytest.approx(expected[LABELS.index(chosen)], abs=1e-6)
        # labelwise's own reader agrees.
        tokens = token_logprobs(choice)
        assert tokens is not None
        read = label_choice_confidence(tokens, key="label", labels=LABELS, chosen=chosen)
        assert read == pytest.approx(expected[LABELS.index(chosen)], abs=1e-6)


def test_unnamed_labels_get_a_moderate_favourite() -> None:
    for text in ["one", "two", "three", "four"]:
        probs = enum_distribution(LABELS, text)
        assert sum(probs) == pytest.approx(1.0)
        assert 0.45 <= max(probs) <= 0.7
    two = enum_distribution(["yes", "no"], "hmm")
    assert 0.55 <= max(two) <= 0.7
    assert enum_distribution(LABELS, "negative!", accuracy_hint=0.8)[2] == pytest.approx(0.8)


def test_confidence_spread_varies_the_named_label_per_item_below_the_hint() -> None:
    named = [
        enum_distribution(LABELS, f"item {i}: negative", accuracy_hint=0.95, confidence_spread=0.4)[
            2
        ]
        for i in range(200)
    ]
    assert all(0.55 <= p <= 0.95 for p in named)
    assert len({round(p, 6) for p in named}) > 150
    # Most items stay confident: the spread is skewed toward the hint.
    assert sum(p >= 0.75 for p in named) > 120  # u² < 1/2 for 71% of items


@pytest.mark.parametrize("k", [0, 2, 20])
async def test_top_logprobs_are_sorted_and_at_most_k(client: openai.AsyncOpenAI, k: int) -> None:
    choice = (await ask(client, "positive vibes", top_logprobs=k)).choices[0]
    assert choice.logprobs is not None and choice.logprobs.content is not None
    for token in choice.logprobs.content:
        logprobs = [alt.logprob for alt in token.top_logprobs]
        assert len(logprobs) <= k
        assert logprobs == sorted(logprobs, reverse=True)
        if k:
            assert logprobs


async def test_logprobs_without_top_logprobs_list_no_alternatives(
    client: openai.AsyncOpenAI,
) -> None:
    choice = (await ask(client, "positive", top_logprobs=None)).choices[0]
    assert choice.logprobs is not None and choice.logprobs.content
    assert all(token.top_logprobs == [] for token in choice.logprobs.content)


async def test_no_logprobs_unless_asked(client: openai.AsyncOpenAI) -> None:
    completion = await ask(client, "positive", logprobs=False, top_logprobs=None)
    assert completion.choices[0].logprobs is None


async def test_a_server_without_logprobs_never_sends_them() -> None:
    with running_fake_llm(FakeLLMConfig(latency_ms=0, logprobs=False)) as url:
        async with client_for(url) as client:
            completion = await ask(client, "positive")
    assert completion.choices[0].logprobs is None
    assert json.loads(completion.choices[0].message.content or "")["label"] == "positive"


async def test_tool_mode_answers_in_the_forced_call(client: openai.AsyncOpenAI) -> None:
    tool = {
        "type": "function",
        "function": {"name": "record_answer", "parameters": SINGLE, "strict": True},
    }
    completion = await client.chat.completions.create(
        model="fake",
        messages=messages("negative, sadly"),
        tools=[tool],  # type: ignore[list-item]
        tool_choice={"type": "function", "function": {"name": "record_answer"}},
        temperature=0,
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert choice.logprobs is None
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.function.name == "record_answer"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"label": "negative"}  # type: ignore[union-attr]


async def test_json_object_mode_reads_the_schema_line(client: openai.AsyncOpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {"label": {"type": "string", "enum": ["alpha", "beta"]}},
        "required": ["label"],
    }
    system = f"{SYSTEM}\n\nAnswer schema: {json.dumps(schema, separators=(',', ':'))}\n"
    completion = await client.chat.completions.create(
        model="fake",
        messages=messages("beta release", system=system),
        response_format={"type": "json_object"},
        temperature=0,
    )
    assert json.loads(completion.choices[0].message.content or "") == {"label": "beta"}


async def test_n_returns_that_many_choices_and_requests_sample_afresh(
    client: openai.AsyncOpenAI,
) -> None:
    first = await ask(client, "hard to say", n=3, temperature=1.0)
    assert [c.index for c in first.choices] == [0, 1, 2]
    answers = [json.loads(c.message.content or "")["label"] for c in first.choices]
    assert all(answer in LABELS for answer in answers)
    # Separate requests at temperature > 0 are separate draws: agreement over them means something.
    for _ in range(8):
        again = await ask(client, "hard to say", n=1, temperature=1.0)
        answers.append(json.loads(again.choices[0].message.content or "")["label"])
    assert len(set(answers)) > 1


async def test_multi_label_booleans_follow_the_text(client: openai.AsyncOpenAI) -> None:
    choice = (await ask(client, "this is spam, buy now", schema=MULTI)).choices[0]
    answer = json.loads(choice.message.content or "")
    assert list(answer) == ["rationale", "labels"]
    assert isinstance(answer["rationale"], str) and answer["rationale"]
    assert answer["labels"] == {"spam": True, "urgent": False}
    tokens = token_logprobs(choice)
    assert tokens is not None
    spam = next(t for t in tokens if t.token == "true")
    assert {"true", "false"} <= {text for text, _ in spam.top}
    scores = boolean_confidences(tokens, labels=["spam", "urgent"], values=answer["labels"])
    assert scores is not None
    assert scores["spam"] == pytest.approx(0.9, abs=1e-6)
    assert 0.6 <= scores["urgent"] <= 0.95


async def test_a_reask_is_judged_on_the_item_not_the_correction(
    client: openai.AsyncOpenAI,
) -> None:
    conversation = [
        *messages("negative, sadly"),
        {"role": "assistant", "content": '{"label": "Negative"}'},
        {"role": "user", "content": "That answer is invalid: use positive, position or negative."},
    ]
    completion = await ask(client, "", messages=conversation)
    assert json.loads(completion.choices[0].message.content or "") == {"label": "negative"}


async def test_max_tokens_cuts_the_answer(client: openai.AsyncOpenAI) -> None:
    full = (await ask(client, "positive")).choices[0].message.content or ""
    completion = await ask(client, "positive", max_tokens=3)
    choice = completion.choices[0]
    assert choice.finish_reason == "length"
    assert completion.usage is not None and completion.usage.completion_tokens == 3
    assert full.startswith(choice.message.content or "") and choice.message.content != full


async def test_bad_parameters_are_a_400(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        await ask(client, "positive", top_logprobs=21)


async def test_rate_limits_carry_retry_headers() -> None:
    config = FakeLLMConfig(latency_ms=0, rate_429=1.0, retry_after_seconds=0.05)
    with running_fake_llm(config) as url:
        async with client_for(url) as client:
            with pytest.raises(openai.RateLimitError) as caught:
                await ask(client, "positive")
    response = caught.value.response
    assert response.status_code == 429
    assert response.headers["retry-after-ms"] == "50"
    assert "retry-after" not in response.headers
    assert response.json()["error"]["type"] == "rate_limit_exceeded"

    config = FakeLLMConfig(latency_ms=0, rate_429=1.0, retry_after_seconds=1.5)
    with running_fake_llm(config) as url:
        response = httpx.post(f"{url}/chat/completions", json={"messages": messages("x")})
    assert response.headers["retry-after"] == "2"
    assert response.headers["retry-after-ms"] == "1500"


async def test_server_errors() -> None:
    with running_fake_llm(FakeLLMConfig(latency_ms=0, rate_500=1.0)) as url:
        async with client_for(url) as client:
            with pytest.raises(openai.InternalServerError):
                await ask(client, "positive")


async def test_truncated_answers_are_cut_json() -> None:
    with running_fake_llm(FakeLLMConfig(latency_ms=0, rate_truncate=1.0)) as url:
        async with client_for(url) as client:
            choice = (await ask(client, "positive")).choices[0]
    assert choice.finish_reason == "length"
    assert choice.message.content
    with pytest.raises(json.JSONDecodeError):
        json.loads(choice.message.content)


async def test_invalid_answers_are_json_that_breaks_the_schema() -> None:
    with running_fake_llm(FakeLLMConfig(latency_ms=0, rate_invalid=1.0)) as url:
        async with client_for(url) as client:
            for text in ["positive", "negative", "meh", "position", "ok then"]:
                choice = (await ask(client, text)).choices[0]
                assert choice.finish_reason == "stop"
                answer = json.loads(choice.message.content or "")
                assert not (isinstance(answer, dict) and answer.get("label") in LABELS)
                multi = json.loads(
                    (await ask(client, text, schema=MULTI)).choices[0].message.content or ""
                )
                labels = multi.get("labels") if isinstance(multi, dict) else None
                assert not (
                    isinstance(labels, dict) and all(isinstance(v, bool) for v in labels.values())
                )


async def test_stats_count_requests_by_outcome() -> None:
    config = FakeLLMConfig(latency_ms=0, rate_truncate=0.5, seed=3)
    with running_fake_llm(config) as url:
        stats_url = url.removesuffix("/v1") + "/stats"
        async with client_for(url) as client:
            for text in ["a", "b", "c", "d", "e", "f"]:
                await ask(client, text, n=2)
            with pytest.raises(openai.BadRequestError):
                await ask(client, "positive", n=0)
        stats = httpx.get(stats_url).json()
        assert stats["requests"] == 7
        assert stats["ok"] + stats["truncated"] == 6
        assert 0 < stats["truncated"] < 6
        assert stats["bad_request"] == 1
        assert stats["choices"] == 12
        assert stats["max_in_flight"] >= 1 and stats["in_flight"] == 0
        reset = httpx.post(f"{stats_url}/reset").json()
        assert reset["requests"] == 0 and reset["ok"] == 0
        assert httpx.get(stats_url).json()["requests"] == 0


async def test_a_system_prompt_seen_before_is_cached(client: openai.AsyncOpenAI) -> None:
    system = "Cache me. " * 200
    tokens = count_tokens(system)
    first = await ask(client, "positive", messages=messages("positive", system=system))
    second = await ask(client, "negative", messages=messages("negative", system=system))
    assert first.usage is not None and second.usage is not None
    assert first.usage.prompt_tokens_details is not None
    assert second.usage.prompt_tokens_details is not None
    assert first.usage.prompt_tokens_details.cached_tokens == 0
    # Whole 64-token blocks of the system prompt, as a provider's prefix cache counts them.
    assert second.usage.prompt_tokens_details.cached_tokens == tokens // 64 * 64 > 0
    assert second.usage.prompt_tokens > tokens


def test_health_and_models(url: str) -> None:
    root = url.removesuffix("/v1")
    assert httpx.get(f"{root}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{url}/models").json()["data"][0]["id"]
    assert httpx.get(f"{root}/nowhere").status_code == 404


def test_every_config_field_has_a_flag() -> None:
    args = build_parser().parse_args(
        [
            "--port", "9000", "--latency-ms", "5", "--rate-429", "0.1",
            "--retry-after-seconds", "2", "--rate-500", "0.2", "--rate-truncate", "0.3",
            "--rate-invalid", "0.4", "--no-logprobs", "--no-junk-alternatives",
            "--seed", "7", "--accuracy-hint", "0.8",
        ]
    )  # fmt: skip
    fields = set(FakeLLMConfig.__dataclass_fields__)
    assert fields <= set(vars(args))
    assert FakeLLMConfig(**{name: getattr(args, name) for name in fields}) == FakeLLMConfig(
        latency_ms=5,
        rate_429=0.1,
        retry_after_seconds=2,
        rate_500=0.2,
        rate_truncate=0.3,
        rate_invalid=0.4,
        logprobs=False,
        junk_alternatives=False,
        seed=7,
        accuracy_hint=0.8,
    )
    assert main(["--rate-429", "2"]) == 2  # refused before any server starts
