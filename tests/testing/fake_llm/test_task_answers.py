"""The fake answers every task type's schema as the task types build it: answers that validate,
logprobs whose alternatives are the fake's whole distribution at each choice, read back by the
task types to the fake's own beliefs, deterministic in the seed and the item."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

import pytest

from labelwise.domain import TokenLogprob
from labelwise.errors import ReviewReason
from labelwise.spec import TaskSpec
from labelwise.tasks import TASK_TYPES
from labelwise.tasks.packing import pack_schema
from labelwise.tasks.prompts import PromptLibrary
from labelwise.testing.fake_llm.chat import ChatCompletions
from labelwise.testing.fake_llm.config import FakeLLMConfig
from labelwise.testing.fake_llm.entities import entities
from labelwise.testing.fake_llm.judge import Judge
from labelwise.testing.fake_llm.preference import preference_distribution
from labelwise.testing.fake_llm.ratings import rating_distribution
from labelwise.testing.fake_llm.stats import Stats

PROMPTS = PromptLibrary()
PLAIN = FakeLLMConfig(latency_ms=0, junk_alternatives=False)
SPANS = TaskSpec(type="spans", labels=["PER", "LOC", "ORG"])
EXTRACTION = TaskSpec.model_validate(
    {
        "type": "extraction",
        "schema": {
            "type": "object",
            "properties": {
                "vendor": {"type": "string"},
                "total": {"type": "number"},
                "paid": {"type": "boolean"},
                "currency": {"enum": ["USD", "EUR"]},
                "tags": {"type": "array", "items": {"type": "string"}},
                "due": {"type": "string"},
            },
        },
    }
)
RATING = TaskSpec.model_validate({"type": "rating", "scale": {"min": 1, "max": 5}})
PAIRWISE = TaskSpec(type="pairwise", allow_tie=True, context_field="question")
CASES = [
    (SPANS, {"text": "Angela Merkel met Mr Smith in Paris. Then Paris (LOC) again, and Acme Inc."}),
    (SPANS, {"text": "nothing to find here"}),
    (
        EXTRACTION,
        {"text": "vendor: Acme Corp\nTotal: $1,212.50\nPaid: yes\ncurrency EUR\ntags: x, y"},
    ),
    (EXTRACTION, {"text": "an empty note"}),
    (RATING, {"text": "Pretty good, 4/5"}),
    (RATING, {"text": "no hint at all"}),
    (PAIRWISE, {"question": "Capital?", "a": "Paris.", "b": "Paris, the capital of France."}),
]
CASE_IDS = [
    "spans",
    "spans-empty",
    "extraction",
    "extraction-null",
    "rating",
    "rating-unsure",
    "pairwise",
]


def request(
    task: TaskSpec, view: Mapping[str, Any], *, mode: str = "json_schema", **params: Any
) -> bytes:
    task_type = TASK_TYPES[task.type]
    schema = task_type.contract(task).schema
    line = json.dumps(schema) if mode == "json_object" else None
    body: dict[str, Any] = {
        "model": "fake",
        "messages": [
            {
                "role": "system",
                "content": task_type.system_prompt(task, PROMPTS, answer_schema=line),
            },
            {"role": "user", "content": task_type.user_prompt(task, PROMPTS, view)},
        ],
        "temperature": 0,
        "logprobs": True,
        "top_logprobs": 20,
    }
    if mode == "json_schema":
        body["response_format"] = {"type": "json_schema", "json_schema": {"schema": schema}}
    elif mode == "tool":
        body["tools"] = [{"type": "function", "function": {"name": "answer", "parameters": schema}}]
        body["tool_choice"] = {"type": "function", "function": {"name": "answer"}}
    else:
        body["response_format"] = {"type": "json_object"}
    body.update(params)
    return json.dumps(body).encode()


async def complete(body: bytes, config: FakeLLMConfig = PLAIN) -> dict[str, Any]:
    reply = await ChatCompletions(config, Stats()).reply(body)
    assert reply.status == 200
    return reply.body


def content(choice: dict[str, Any]) -> str:
    calls = choice["message"].get("tool_calls")
    return calls[0]["function"]["arguments"] if calls else choice["message"]["content"]


def tokens_of(choice: dict[str, Any]) -> list[TokenLogprob]:
    return [
        TokenLogprob(
            t["token"], t["logprob"], tuple((a["token"], a["logprob"]) for a in t["top_logprobs"])
        )
        for t in choice["logprobs"]["content"]
    ]


def item_judge(task: TaskSpec, view: Mapping[str, Any], config: FakeLLMConfig = PLAIN) -> Judge:
    """The fake's judge for the item as the request shows it."""
    prompt = TASK_TYPES[task.type].user_prompt(task, PROMPTS, view)
    shown = prompt[prompt.index("<item>") + len("<item>") : prompt.rindex("</item>")].strip()
    return Judge(shown, seed=config.seed, accuracy_hint=config.accuracy_hint)


@pytest.mark.parametrize(("task", "data"), CASES, ids=CASE_IDS)
@pytest.mark.parametrize("mode", ["json_schema", "tool", "json_object"])
async def test_every_answer_validates_and_its_tokens_spell_it(
    task: TaskSpec, data: dict[str, Any], mode: str
) -> None:
    task_type = TASK_TYPES[task.type]
    model = task_type.contract(task).model
    for view in task_type.views(task, data):
        body = await complete(request(task, view, mode=mode))
        choice = body["choices"][0]
        model.model_validate_json(content(choice))
        if mode != "tool":  # tool calls carry no logprobs
            assert "".join(t.token for t in tokens_of(choice)) == content(choice)
            assert body["usage"]["completion_tokens"] == len(tokens_of(choice))


@pytest.mark.parametrize(("task", "data"), CASES, ids=CASE_IDS)
async def test_the_alternatives_at_each_choice_are_a_whole_distribution(
    task: TaskSpec, data: dict[str, Any]
) -> None:
    for view in TASK_TYPES[task.type].views(task, data):
        choice = (await complete(request(task, view)))["choices"][0]
        choices = [t for t in tokens_of(choice) if len(t.top) > 1]
        for token in choices:
            assert sum(math.exp(lp) for _, lp in token.top) == pytest.approx(1.0, abs=1e-6)
            assert token.logprob == max(lp for _, lp in token.top)  # temperature 0: the argmax
        if task is not SPANS or data["text"].startswith("Angela"):
            assert choices, "a choice token with its alternatives"


@pytest.mark.parametrize(("task", "data"), CASES, ids=CASE_IDS)
async def test_answers_are_deterministic_in_the_seed_and_the_item(
    task: TaskSpec, data: dict[str, Any]
) -> None:
    view = TASK_TYPES[task.type].views(task, data)[0]
    params = {"temperature": 1.0, "n": 4}
    first = (await complete(request(task, view, **params)))["choices"]
    again = (await complete(request(task, view, **params)))["choices"]
    assert first == again


async def test_the_task_types_read_back_the_fakes_beliefs() -> None:
    spans_data = CASES[0][1]
    found = entities(item_judge(SPANS, spans_data), SPANS.label_names, {}, "text")
    reading = await read(SPANS, spans_data)
    assert [p["text"] for p in reading.parts] == [e.text for e in found]
    for part, entity in zip(reading.parts, found, strict=True):
        assert part["label_confidence"] == pytest.approx(max(entity.probs), abs=1e-3)
        assert part["label"] == SPANS.label_names[entity.probs.index(max(entity.probs))]

    rating_data = CASES[4][1]
    belief = rating_distribution(item_judge(RATING, rating_data), [1, 2, 3, 4, 5])
    reading = await read(RATING, rating_data)
    assert reading.value == 4
    assert reading.confidence is not None
    assert reading.confidence.score == pytest.approx(max(belief), abs=1e-3)
    assert reading.parts["distribution"]["4"] == pytest.approx(belief[3], abs=1e-3)

    extraction = await read(EXTRACTION, CASES[2][1])
    assert extraction.value == {
        "vendor": "Acme Corp", "total": 1212.5, "paid": True, "currency": "EUR",
        "tags": ["x", "y"], "due": None,
    }  # fmt: skip
    assert all(0.7 < part["confidence"] < 1.0 for part in extraction.parts.values())


async def test_pairwise_is_asked_in_both_orders_and_the_position_bias_shows() -> None:
    pair_data = CASES[6][1]
    reading = await read(PAIRWISE, pair_data)
    assert reading.value == "b"  # the longer, more specific candidate
    for part, view in zip(
        reading.parts, TASK_TYPES["pairwise"].views(PAIRWISE, pair_data), strict=True
    ):
        belief = preference_distribution(item_judge(PAIRWISE, view), ["A", "B", "tie"])
        assert part["confidence"] == pytest.approx(max(belief), abs=1e-3)
    close = TaskSpec(type="pairwise")
    disagreed = 0
    for i in range(40):
        data = {"a": f"Answer {i} is fine.", "b": f"Answer {i} is fine!"}
        reading = await read(close, data)
        disagreed += reading.review_reason is ReviewReason.ORDER_DISAGREEMENT
    assert 0 < disagreed < 40


async def test_a_misread_entity_text_is_not_found_and_is_in_doubt() -> None:
    for i in range(400):
        data = {"text": f"Note {i}: Ann Lee flew to Paris."}
        found = entities(item_judge(SPANS, data), SPANS.label_names, {}, "text")
        if any(e.misread_from for e in found):
            break
    else:
        pytest.fail("no item with a misread entity")
    reading = await read(SPANS, data)
    assert reading.review_reason is ReviewReason.SPAN_NOT_FOUND
    assert len(reading.value) == len(found) - 1
    choice = (await complete(request(SPANS, data)))["choices"][0]
    named = json.loads(content(choice))["entities"]
    assert named[-1]["text"] not in data["text"]
    doubted = [t for t in tokens_of(choice) if len(t.top) == 2 and '"' not in t.token]
    assert doubted and 0.3 <= math.exp(doubted[-1].logprob) <= 0.6


@pytest.mark.parametrize(
    ("task", "data"), [CASES[0], CASES[2], CASES[4]], ids=["spans", "extraction", "rating"]
)
async def test_each_item_of_a_packed_request_is_answered_on_its_own(
    task: TaskSpec, data: dict[str, Any]
) -> None:
    task_type = TASK_TYPES[task.type]
    contract = task_type.contract(task)
    items = [data, {"text": "nothing"}]
    body = json.loads(request(task, data))
    body["messages"][1]["content"] = task_type.pack_prompt(task, PROMPTS, items)
    body["response_format"]["json_schema"]["schema"] = pack_schema(contract.schema, 2)
    choice = (await complete(json.dumps(body).encode()))["choices"][0]
    answers = json.loads(content(choice))["answers"]
    assert [a["id"] for a in answers] == ["1", "2"]
    alone = (await complete(request(task, data)))["choices"][0]
    first = {k: v for k, v in answers[0].items() if k != "id"}
    assert first == json.loads(content(alone))
    contract.model.model_validate(first)


@pytest.mark.parametrize(("task", "data"), CASES, ids=CASE_IDS)
async def test_an_invalid_answer_breaks_the_schema(task: TaskSpec, data: dict[str, Any]) -> None:
    config = FakeLLMConfig(latency_ms=0, rate_invalid=1.0)
    model = TASK_TYPES[task.type].contract(task).model
    for view in TASK_TYPES[task.type].views(task, data):
        choice = (await complete(request(task, view, n=3), config))["choices"]
        for one in choice:
            with pytest.raises(ValueError):
                model.model_validate_json(content(one))


async def read(task: TaskSpec, data: dict[str, Any]) -> Any:
    """The item's reading, as the labeler makes it from the fake's answers to every view."""
    task_type = TASK_TYPES[task.type]
    model = task_type.contract(task).model
    readings = []
    for view in task_type.views(task, data):
        choice = (await complete(request(task, view)))["choices"][0]
        answer = model.model_validate_json(content(choice))
        readings.append(task_type.read(task, answer, view, tokens_of(choice)))
    return task_type.merge(task, readings)


# Classification answers are pinned (content, tokens and alternatives): the calibration
# benchmark's figures depend on them.
CLASSIFICATION_DIGEST = "aa6bd38b2ce4b6e89086bdb6255dc30fcb8640c724c686c12820cac9bbf8e7d0"


async def test_classification_answers_stay_exactly_the_same() -> None:
    task = TaskSpec(labels=["positive", "position", "negative"])
    multi = TaskSpec(labels=["spam", "urgent", "ok"], multi_label=True, rationale=True)
    digest = hashlib.sha256()
    config = FakeLLMConfig(latency_ms=0, confidence_spread=0.3)
    for i in range(12):
        data = {"text": f"item {i}: " + ["a positive take", "spam and urgent", "unclear"][i % 3]}
        for spec in (task, multi):
            for mode in ("json_schema", "json_object"):
                body = await complete(request(spec, data, mode=mode, n=2, temperature=0.8), config)
                digest.update(json.dumps(body["choices"], sort_keys=True).encode())
    assert digest.hexdigest() == CLASSIFICATION_DIGEST
