"""Labeling through a task type's views: one request per view, each answer read by the type,
the readings merged; a reason to review travels to routing; without logprobs, samples agree."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx
from pydantic import BaseModel

from labelwise.domain import (
    Confidence,
    ConfidenceMethod,
    ItemStatus,
    LabelOutcome,
)
from labelwise.errors import ReviewReason
from labelwise.labeling.labeler import Labeler
from labelwise.labeling.outcomes import outcome_row
from labelwise.labeling.votes import agreed_reading, canonical
from labelwise.llm.client import LLMClients
from labelwise.spec import ProjectSpec
from labelwise.tasks.prompts import PromptLibrary
from tests.labeling.two_views import TwoViewTask, two_view_llm, two_views
from tests.llm.fakes import completion, llm_settings

__all__ = ["two_view_llm", "two_views"]  # fixtures

SPEC = ProjectSpec.model_validate(
    {
        "task": {"labels": ["positive", "negative"]},
        "model": {"name": "test-model"},
        "routing": {"accept_threshold": 0.5},
    }
)


@pytest.fixture
async def labeler() -> AsyncIterator[Labeler]:
    settings = llm_settings()
    labeler = Labeler(settings, LLMClients(settings), PromptLibrary.from_settings(settings))
    yield labeler
    await labeler.aclose()


def sent_items(router: respx.MockRouter) -> list[str]:
    return [
        next(m["content"] for m in json.loads(c.request.content)["messages"] if m["role"] == "user")
        for c in router.calls
    ]


async def test_each_view_is_asked_and_disagreeing_views_need_review(
    two_views: TwoViewTask, two_view_llm: respx.MockRouter, labeler: Labeler
) -> None:
    outcome = await labeler.label(SPEC, item_id=3, data={"text": "flip a coin"})
    sent = sent_items(two_view_llm)
    assert len(sent) == 2 and sum("swapped" in item for item in sent) == 1
    assert outcome.error_reason is None
    assert outcome.value == "positive"
    assert outcome.review_reason is ReviewReason.ORDER_DISAGREEMENT
    assert outcome.confidence.score == pytest.approx(0.8)
    assert outcome.parts == [
        {"view": 1, "label": "positive", "confidence": pytest.approx(0.9)},
        {"view": 2, "label": "negative", "confidence": pytest.approx(0.8)},
    ]
    row = outcome_row(outcome, batch_id=1, version=1, spec=SPEC, price=None)
    # Confident enough to accept, but the task type wants a human: review, value kept.
    assert row.status is ItemStatus.REVIEW and row.reason is ReviewReason.ORDER_DISAGREEMENT
    assert row.value == "positive" and row.parts == outcome.parts
    assert row.review_reason is ReviewReason.ORDER_DISAGREEMENT


async def test_views_that_agree_are_accepted_with_their_parts(
    two_views: TwoViewTask, two_view_llm: respx.MockRouter, labeler: Labeler
) -> None:
    outcome = await labeler.label(SPEC, item_id=4, data={"text": "lovely"})
    assert outcome.review_reason is None and outcome.value == "positive"
    assert [part["view"] for part in outcome.parts] == [1, 2]
    row = outcome_row(outcome, batch_id=1, version=1, spec=SPEC, price=None)
    assert row.status is ItemStatus.ACCEPTED and row.reason is None


@pytest.mark.parametrize(
    ("error", "review", "confidence", "status", "reason"),
    [
        (None, None, 0.9, ItemStatus.ACCEPTED, None),
        (None, None, 0.2, ItemStatus.REVIEW, ReviewReason.LOW_CONFIDENCE),
        (None, ReviewReason.SPAN_NOT_FOUND, 0.99, ItemStatus.REVIEW, ReviewReason.SPAN_NOT_FOUND),
        (None, ReviewReason.SPAN_NOT_FOUND, 0.1, ItemStatus.REVIEW, ReviewReason.SPAN_NOT_FOUND),
        (
            ReviewReason.LLM_ERROR,
            ReviewReason.ORDER_DISAGREEMENT,
            0.9,
            ItemStatus.REVIEW,
            ReviewReason.LLM_ERROR,
        ),
    ],
)
def test_routing_of_an_outcome_with_a_review_reason(
    error: ReviewReason | None,
    review: ReviewReason | None,
    confidence: float,
    status: ItemStatus,
    reason: ReviewReason | None,
) -> None:
    outcome = LabelOutcome(
        item_id=1,
        value="positive",
        confidence=Confidence(confidence, ConfidenceMethod.LOGPROB),
        error_reason=error,
        review_reason=review,
        parts={"a": 1},
    )
    row = outcome_row(outcome, batch_id=1, version=1, spec=SPEC, price=None)
    assert (row.status, row.reason) == (status, reason)
    assert row.value == "positive" and row.parts == {"a": 1}


TASK_TYPE = TwoViewTask()
MODEL = TASK_TYPE.contract(SPEC.task).model


def said(label: str) -> BaseModel:
    return MODEL.model_validate({"label": label})


@pytest.mark.parametrize(
    ("labels", "single", "value", "share"),
    [
        (["positive"], True, "positive", None),
        (["positive"], False, "positive", None),
        (["negative", "positive", "positive"], True, "positive", 2 / 3),
        (["negative", "positive", "positive"], False, "positive", 2 / 3),
        (["negative", "positive"], False, "negative", 1 / 2),  # a tie: the first answer
        (["negative", "negative", "positive", "negative"], False, "negative", 3 / 4),
    ],
)
def test_agreement_of_a_view(
    labels: list[str], single: bool, value: str, share: float | None
) -> None:
    view: dict[str, Any] = {"text": "x", "swapped": True}
    reading = agreed_reading(
        TASK_TYPE, SPEC.task, view, [said(label) for label in labels], single_view=single
    )
    assert reading.value == value
    assert reading.confidence is not None
    assert reading.confidence.method is ConfidenceMethod.AGREEMENT
    assert reading.confidence.score == (pytest.approx(share) if share is not None else None)
    # The parts are those of an answer that gave the chosen value, read in this view.
    assert reading.parts == [{"view": 2, "label": value, "confidence": None}]


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ({"x": 1, "y": [1, 2]}, {"y": [1, 2], "x": 1}, True),
        ([{"start": 0, "end": 2}], [{"end": 2, "start": 0}], True),
        ([1, 2], [2, 1], False),
        ("a", "a", True),
        (3, 4, False),
    ],
)
def test_canonical_values(a: Any, b: Any, same: bool) -> None:
    assert (canonical(a) == canonical(b)) is same


@pytest.fixture
def plain_llm() -> Iterator[respx.MockRouter]:
    """Answers `positive` without logprobs, as many local servers do."""
    answer = httpx.Response(200, json=completion(json.dumps({"label": "positive"})))
    with respx.mock(base_url="http://llm.test/v1", assert_all_called=False) as router:
        router.post("/chat/completions").mock(return_value=answer)
        yield router


async def test_without_logprobs_each_view_is_scored_by_samples(
    two_views: TwoViewTask, plain_llm: respx.MockRouter, labeler: Labeler
) -> None:
    outcome = await labeler.label(SPEC, item_id=5, data={"text": "plain"})
    samples = labeler.settings.llm_agreement_samples
    assert plain_llm.calls.call_count == 2 * samples  # each view: its answer and its samples
    assert outcome.error_reason is None
    assert outcome.confidence.method is ConfidenceMethod.AGREEMENT
    assert outcome.confidence.score == pytest.approx(1.0)
    assert outcome.review_reason is None and len(outcome.parts) == 2


async def test_requests_for_an_estimate_show_every_view(
    two_views: TwoViewTask, labeler: Labeler
) -> None:
    items = [{"text": "one"}, {"text": "two"}]
    rendered = labeler.requests_for(SPEC, items)
    users = [request.messages[-1]["content"] for request in rendered]
    assert len(users) == 4 and sum("swapped" in user for user in users) == 2
    # A provider batch carries the first view of each item; the others are asked online.
    first_only = labeler.requests.for_items(SPEC, items, every_view=False)
    assert [r.messages[-1]["content"] for r in first_only] == [users[0], users[2]]
