from __future__ import annotations

from typing import Any

from labelwise.labeling.prepared import PreparedRequest
from labelwise.labeling.requests import PreparedCache, RequestBuilder
from labelwise.spec import ModelSpec, ProjectSpec
from labelwise.tasks.prompts import PromptLibrary
from tests.llm.fakes import llm_settings


def project(**spec: Any) -> ProjectSpec:
    return ProjectSpec.model_validate(
        {
            "task": {"labels": ["positive", "negative"], "guidelines": "Label the review."},
            "model": {"name": "test-model", "temperature": 0.3},
            **spec,
        }
    )


def builder(**settings: Any) -> RequestBuilder:
    return RequestBuilder(llm_settings(**settings), PromptLibrary())


def prepared_for(spec: ProjectSpec) -> PreparedRequest:
    return RequestBuilder(llm_settings(), PromptLibrary()).prepared(spec)


def test_the_cache_answers_for_the_very_same_spec_and_model() -> None:
    cache = PreparedCache()
    spec = project()
    made = prepared_for(spec)
    cache.put(spec, spec.model, False, made)
    assert cache.get(spec, spec.model, False) is made
    assert cache.get(spec, spec.model, True) is None
    assert cache.get(spec, ModelSpec(name="test-model"), False) is None
    # An equal spec read again is another object: prepared again, never confused with it.
    assert cache.get(project(), spec.model, False) is None


def test_the_cache_drops_the_least_recently_used_past_its_size() -> None:
    cache = PreparedCache(size=2)
    specs = [project(), project(), project()]
    made = [prepared_for(spec) for spec in specs]
    cache.put(specs[0], specs[0].model, False, made[0])
    cache.put(specs[1], specs[1].model, False, made[1])
    assert cache.get(specs[0], specs[0].model, False) is made[0]  # now the most recent
    cache.put(specs[2], specs[2].model, False, made[2])
    assert len(cache) == 2
    assert cache.get(specs[1], specs[1].model, False) is None
    assert cache.get(specs[0], specs[0].model, False) is made[0]
    assert cache.get(specs[2], specs[2].model, False) is made[2]


def test_a_version_is_prepared_once() -> None:
    requests = builder()
    spec = project()
    assert requests.prepared(spec) is requests.prepared(spec)
    assert requests.prepared(spec, packed=True) is not requests.prepared(spec)
    # Different content is prepared apart.
    other = project(model={"name": "test-model", "max_tokens": 300})
    assert requests.prepared(other).max_tokens == 300
    assert requests.prepared(spec).max_tokens != 300


def test_one_item_is_the_system_prompt_then_the_item() -> None:
    request = builder().for_item(project(), {"text": "Great value"}, ())
    assert request.model == "test-model" and request.temperature == 0.3
    assert [m["role"] for m in request.messages] == ["system", "user"]
    assert "Great value" in request.messages[1]["content"]
    assert "Great value" not in request.messages[0]["content"]
    assert request.top_logprobs == 5 and request.mode == "json_schema"


def test_no_alternatives_asked_means_no_logprobs() -> None:
    request = builder(llm_top_logprobs=0).for_item(project(), {"text": "x"}, ())
    assert request.top_logprobs is None


def test_a_voter_is_asked_with_its_own_model() -> None:
    voter = ModelSpec(name="voter", temperature=1.0, output_mode="json_object")
    requests = builder()
    spec = project()
    own = requests.for_item(spec, {"text": "x"}, ())
    asked = requests.for_item(spec, {"text": "x"}, (), voter)
    assert (asked.model, asked.temperature, asked.mode) == ("voter", 1.0, "json_object")
    assert asked.messages[1] == own.messages[1]
    assert "Answer schema: " in asked.messages[0]["content"]


def test_items_go_items_per_request_at_a_time() -> None:
    spec = project(items_per_request=3)
    items = [{"text": f"item {n}"} for n in range(7)]
    full, short, alone = builder().for_items(spec, items)
    assert full.answer_model is short.answer_model
    assert "answers" in full.schema["properties"]
    # A smaller pack sends the very same prefix and budget as a full one.
    assert full.messages[0] == short.messages[0] and full.max_tokens == short.max_tokens
    assert "item 5" in short.messages[1]["content"]
    assert "answers" not in alone.schema["properties"]
    assert "item 6" in alone.messages[1]["content"]
