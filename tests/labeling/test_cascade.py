"""A model cascade: a cheap model labels first, a stronger one labels what it cannot settle.

Two model names behind one faked endpoint answer differently: `cheap` is sure of `sure` items and
unsure of `unsure` ones, garbles `garbled` ones and fails on `cheap-down`; `strong` answers every
item with a confident `negative`, and fails on `strong-down`.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx
from openai.types.chat import ChatCompletion
from pydantic import ValidationError

from labelwise.cost.pricing import cost_usd, price_for
from labelwise.domain import Confidence, ConfidenceMethod, LabelOutcome, Usage
from labelwise.errors import ReviewReason
from labelwise.labeling.cascade import needs_second_step, second_step_spec, settling_model
from labelwise.labeling.labeler import Labeler, PackItem
from labelwise.labeling.outcomes import outcome_row
from labelwise.llm.client import LLMClients
from labelwise.settings import Settings
from labelwise.spec import Price, ProjectSpec
from labelwise.tasks.prompts import PromptLibrary
from labelwise.testing.fake_llm import FakeLLMConfig, running_fake_llm
from tests.llm.fakes import BASE_URL, completion, error, llm_settings, single_label_tokens

CHEAP = {"prompt": 0.05, "completion": 0.2}
STRONG = {"prompt": 2.5, "completion": 10.0}
CHEAP_USAGE = Usage(100, 0, 10)
STRONG_USAGE = Usage(200, 0, 20)


def cascade_project(escalate_below: float = 0.9, **fields: Any) -> ProjectSpec:
    return ProjectSpec.model_validate(
        {
            "task": {"labels": ["positive", "negative"], "guidelines": "Is the review happy?"},
            "model": {"name": "cheap", "price": CHEAP},
            "cascade": {
                "model": {"name": "strong", "price": STRONG},
                "escalate_below": escalate_below,
            },
            **fields,
        }
    )


def _labeled(label: str, p: float, usage: Usage) -> httpx.Response:
    other = "negative" if label == "positive" else "positive"
    tokens = single_label_tokens(label, [(label, math.log(p)), (other, math.log(1 - p))])
    body = completion(
        json.dumps({"label": label}, separators=(",", ":")),
        tokens=tokens,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        model=f"provider-name-{label}",
    )
    return httpx.Response(200, json=body)


def two_models(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    item = next(m["content"] for m in body["messages"] if m["role"] == "user")
    if body["model"] == "strong":
        if "strong-down" in item:
            return error(500, "the strong model is down")
        return _labeled("negative", 0.97, STRONG_USAGE)
    if "cheap-down" in item:
        return error(500, "the cheap model is down")
    if "garbled" in item:
        return httpx.Response(200, json=completion('{"label": "maybe"}'))
    return _labeled(
        "positive", 0.95 if "sure" in item and "unsure" not in item else 0.6, CHEAP_USAGE
    )


@pytest.fixture
def llm_api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        router.post("/chat/completions").mock(side_effect=two_models)
        yield router


@pytest.fixture
def settings() -> Settings:
    return llm_settings(llm_max_attempts=1)


@pytest.fixture
async def labeler(settings: Settings) -> AsyncIterator[Labeler]:
    labeler = Labeler(settings, LLMClients(settings), PromptLibrary.from_settings(settings))
    yield labeler
    await labeler.aclose()


async def label_texts(
    labeler: Labeler, spec: ProjectSpec, texts: list[str]
) -> dict[str, LabelOutcome]:
    outcomes = []
    for n, text in enumerate(texts):
        outcomes += await labeler.label_pack(spec, [PackItem(n, {"text": text})])
    return dict(zip(texts, outcomes, strict=True))


def models_asked(router: respx.MockRouter) -> list[str]:
    return [json.loads(call.request.content)["model"] for call in router.calls]


def cost_of(usage: Usage, price: dict[str, float]) -> float:
    return cost_usd(usage, Price(**price))


async def test_only_what_the_first_model_cannot_settle_goes_to_the_second(
    labeler: Labeler, llm_api: respx.MockRouter
) -> None:
    spec = cascade_project()
    got = await label_texts(labeler, spec, ["sure thing", "unsure", "garbled", "cheap-down"])
    assert got["sure thing"].value == "positive" and got["sure thing"].model == "cheap"
    assert got["sure thing"].prior_cost_usd == 0.0
    for text in ("unsure", "garbled", "cheap-down"):
        outcome = got[text]
        assert outcome.error_reason is None, (text, outcome.error_message)
        assert (outcome.value, outcome.model) == ("negative", "strong"), text
        assert outcome.confidence.score == pytest.approx(0.97)
        # The settling step's tokens; the first step's calls are in the carried cost.
        assert outcome.usage == STRONG_USAGE
    assert got["unsure"].prior_cost_usd == pytest.approx(cost_of(CHEAP_USAGE, CHEAP))
    assert got["unsure"].attempts == 2
    asked = models_asked(llm_api)
    assert asked.count("strong") == 3
    assert asked[:2] == ["cheap", "cheap"]  # the sure item: one call, to the cheap model


async def test_escalation_happens_exactly_below_the_bound(
    settings: Settings, llm_api: respx.MockRouter
) -> None:
    plain = Labeler(settings, LLMClients(settings), PromptLibrary.from_settings(settings))
    try:
        without = cascade_project().model_copy(update={"cascade": None})
        score = (await plain.label(without, item_id=1, data={"text": "unsure"})).confidence.score
        assert score is not None and score == pytest.approx(0.6)
        at_bound = await plain.label_pack(cascade_project(score), [PackItem(1, {"text": "unsure"})])
        above = math.nextafter(score, 1.0)
        just_above = await plain.label_pack(
            cascade_project(above), [PackItem(1, {"text": "unsure"})]
        )
    finally:
        await plain.aclose()
    assert at_bound[0].model == "cheap" and at_bound[0].value == "positive"
    assert just_above[0].model == "strong" and just_above[0].value == "negative"


def test_the_escalation_rule() -> None:
    def scored(score: float | None, **fields: Any) -> LabelOutcome:
        method = ConfidenceMethod.LOGPROB if score is not None else ConfidenceMethod.NONE
        return LabelOutcome(item_id=1, confidence=Confidence(score, method), **fields)

    assert not needs_second_step(scored(0.9), 0.9)
    assert needs_second_step(scored(math.nextafter(0.9, 0.0)), 0.9)
    assert needs_second_step(scored(None), 0.5)
    assert needs_second_step(scored(0.99, error_reason=ReviewReason.TRUNCATED), 0.5)
    assert needs_second_step(scored(0.99, review_reason=ReviewReason.SPAN_NOT_FOUND), 0.5)
    assert not needs_second_step(scored(1.0), 1.0)


async def test_a_failing_second_model_keeps_the_first_answer_for_review(
    labeler: Labeler, llm_api: respx.MockRouter
) -> None:
    spec = cascade_project()
    got = await label_texts(labeler, spec, ["unsure strong-down", "cheap-down strong-down"])
    kept = got["unsure strong-down"]
    assert (kept.value, kept.model, kept.error_reason) == ("positive", "cheap", None)
    assert kept.review_reason is ReviewReason.LLM_ERROR
    assert "strong model is down" in (kept.error_message or "")
    row = outcome_row(kept, batch_id=1, version=1, spec=spec, price=price_for(spec.model, {}))
    assert row.reason is ReviewReason.LLM_ERROR and row.value == "positive"
    lost = got["cheap-down strong-down"]
    assert lost.error_reason is ReviewReason.LLM_ERROR and lost.model == "strong"


async def test_the_cost_adds_both_steps_each_at_its_models_price(
    labeler: Labeler, llm_api: respx.MockRouter
) -> None:
    spec = cascade_project()
    got = await label_texts(labeler, spec, ["sure thing", "unsure"])

    def row_cost(outcome: LabelOutcome) -> float:
        price = price_for(settling_model(spec, outcome.model), {})
        return outcome_row(outcome, batch_id=1, version=1, spec=spec, price=price).cost_usd

    assert row_cost(got["sure thing"]) == pytest.approx(cost_of(CHEAP_USAGE, CHEAP))
    both = cost_of(CHEAP_USAGE, CHEAP) + cost_of(STRONG_USAGE, STRONG)
    assert row_cost(got["unsure"]) == pytest.approx(both)
    assert settling_model(spec, "strong").name == "strong"
    assert settling_model(spec, "provider-name-positive").name == "cheap"


async def test_without_a_cascade_nothing_is_escalated_or_renamed(
    labeler: Labeler, llm_api: respx.MockRouter
) -> None:
    spec = cascade_project().model_copy(update={"cascade": None})
    (outcome,) = await labeler.label_pack(spec, [PackItem(1, {"text": "unsure"})])
    assert outcome.model == "provider-name-positive" and models_asked(llm_api) == ["cheap"]


async def test_a_provider_batch_answer_is_escalated_online_and_billed_at_the_discount(
    labeler: Labeler, llm_api: respx.MockRouter
) -> None:
    spec = cascade_project()
    unsure = ChatCompletion.model_validate(_labeled("positive", 0.6, CHEAP_USAGE).json())
    (outcome,) = await labeler.label_pack(spec, [PackItem(1, {"text": "x"})], completion=unsure)
    assert (outcome.value, outcome.model) == ("negative", "strong")
    assert models_asked(llm_api) == ["strong"]  # the first answer came with the batch
    factor = labeler.settings.batch_price_factor
    assert outcome.prior_cost_usd == pytest.approx(factor * cost_of(CHEAP_USAGE, CHEAP))
    assert outcome.batch_usage == Usage()


def test_the_second_step_asks_the_cascades_model_one_item_at_a_time() -> None:
    second = second_step_spec(cascade_project(items_per_request=5))
    assert (second.model.name, second.items_per_request, second.cascade) == ("strong", 1, None)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"consensus": {"samples": 2}}, "use either cascade or consensus"),
        ({"cascade": {"model": {"name": "cheap"}}}, "must differ from the project's model"),
        ({"cascade": {"model": {"name": "strong"}, "escalate_below": 0}}, "greater than 0"),
        ({"cascade": {"model": {"name": "strong"}, "escalate_below": 1.5}}, "less than or equal"),
        ({"cascade": {"escalate_below": 0.5}}, "model"),
    ],
)
def test_what_cannot_work_is_refused_clearly(fields: dict[str, Any], message: str) -> None:
    definition = cascade_project().model_dump()
    with pytest.raises(ValidationError, match=message):
        ProjectSpec.model_validate({**definition, **fields})


async def test_packed_first_step_escalates_items_alone_to_the_second_endpoint() -> None:
    """On the project's fake server, one per model: the cheap one packs four items a request;
    items whose text names no label are unsure, and go one by one to the strong one."""
    labels = ["sports", "business"]
    texts = ["about sports", "about business", "hard to place", "no idea at all"] * 2
    with (
        running_fake_llm(FakeLLMConfig(latency_ms=0, accuracy_hint=0.97)) as cheap_url,
        running_fake_llm(FakeLLMConfig(latency_ms=0, seed=5)) as strong_url,
    ):
        settings = llm_settings(
            openai_base_url=cheap_url, allowed_llm_base_urls=[strong_url], llm_transport="httpx"
        )
        spec = ProjectSpec.model_validate(
            {
                "task": {"labels": labels, "guidelines": "The topic."},
                "model": {"name": "cheap"},
                "items_per_request": 4,
                "cascade": {"model": {"name": "strong", "base_url": strong_url}},
            }
        )
        labeler = Labeler(settings, LLMClients(settings), PromptLibrary.from_settings(settings))
        try:
            outcomes = []
            for start in (0, 4):
                pack = [PackItem(start + n, {"text": t}) for n, t in enumerate(texts[start:][:4])]
                outcomes += await labeler.label_pack(spec, pack)
        finally:
            await labeler.aclose()
        stats = {
            url: httpx.get(url.removesuffix("/v1") + "/stats").json()
            for url in (cheap_url, strong_url)
        }
    by_model = [outcome.model for outcome in outcomes]
    assert by_model == ["cheap", "cheap", "strong", "strong"] * 2
    assert [o.item_id for o in outcomes] == list(range(8))
    assert stats[cheap_url]["requests"] == 2 and stats[strong_url]["requests"] == 4
    for outcome in outcomes:
        assert outcome.error_reason is None and outcome.value in labels
