from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from labelwise.domain import Confidence, ConfidenceMethod
from labelwise.errors import LLMCallError, ReviewReason
from labelwise.labeling.prepared import task_type_of
from labelwise.labeling.votes import (
    Labeled,
    by_self_consistency,
    consensus_scores,
    failed_outcome,
    labeled_outcome,
    pack_by_logprob,
    pack_by_self_consistency,
    pack_positions,
    vote,
)
from labelwise.llm.call import StructuredAnswer
from labelwise.scoring.consensus import Vote
from labelwise.spec import ProjectSpec
from labelwise.tasks.packing import ItemAnswer, PackAnswer

SPEC = ProjectSpec.model_validate(
    {"task": {"labels": ["positive", "negative"]}, "model": {"name": "test-model"}}
)
TASK_TYPE = task_type_of(SPEC)
ITEM_MODEL = TASK_TYPE.contract(SPEC.task).model


def said(label: str) -> BaseModel:
    return ITEM_MODEL.model_validate({"label": label})


def answered(label: str, model: str = "test-model-1") -> StructuredAnswer:
    return StructuredAnswer(said(label), None, model)


@pytest.mark.parametrize(
    ("first", "samples", "value", "score"),
    [
        ("positive", [], "positive", None),
        ("positive", ["positive", "negative", "positive", "positive"], "positive", 0.8),
        ("negative", ["positive", "positive", "negative"], "negative", 0.5),
        ("negative", ["negative"], "negative", 1.0),
    ],
)
def test_by_agreement(first: str, samples: list[str], value: str, score: float | None) -> None:
    labeled = by_self_consistency(TASK_TYPE, SPEC.task, answered(first), [said(s) for s in samples])
    assert labeled.value == value and labeled.model == "test-model-1"
    assert labeled.confidence.method is ConfidenceMethod.AGREEMENT
    assert labeled.confidence.score == (pytest.approx(score) if score is not None else None)


@pytest.mark.parametrize(
    ("known", "expected"),
    [
        (None, Vote("positive", None, None)),
        (Confidence(0.9, ConfidenceMethod.LOGPROB), Vote("positive", 0.9, None)),
        (
            Confidence(0.6, ConfidenceMethod.LOGPROB, per_label={"a": 0.6}),
            Vote("positive", 0.6, {"a": 0.6}),
        ),
    ],
)
def test_vote(known: Confidence | None, expected: Vote) -> None:
    assert vote(TASK_TYPE, SPEC.task, answered("positive"), known) == expected


@pytest.mark.parametrize(
    ("labels", "own", "methods"),
    [
        (["positive"], None, []),
        (["positive"], Confidence(0.9, ConfidenceMethod.LOGPROB), ["logprob", "combined"]),
        (["positive", "negative", "positive"], None, ["agreement", "combined"]),
        (
            ["positive", "positive"],
            Confidence(0.9, ConfidenceMethod.LOGPROB),
            ["logprob", "agreement", "combined"],
        ),
    ],
)
def test_consensus_scores_every_way_the_answers_allow(
    labels: list[str], own: Confidence | None, methods: list[str]
) -> None:
    scores = consensus_scores(TASK_TYPE, SPEC.task, [answered(x) for x in labels], own)
    assert list(scores) == methods
    if "agreement" in scores:
        assert scores["agreement"].value == "positive"
        agreed = labels.count("positive") / len(labels)
        assert scores["agreement"].confidence.score == pytest.approx(agreed)
    if "logprob" in scores:
        assert scores["logprob"].confidence is own


@pytest.mark.parametrize(
    ("elements", "positions"),
    [
        (
            [{"id": "1", "label": "positive"}, {"id": "2", "label": "negative"}],
            {0: "positive", 1: "negative"},
        ),
        ([{"id": "2", "label": "negative"}], {1: "negative"}),
        ([{"id": "3", "label": "negative"}, {"id": "1", "label": "maybe"}], {}),
        ([{"id": "1", "label": "positive"}, {"id": "1", "label": "negative"}], {}),
    ],
)
def test_pack_positions(elements: list[dict[str, Any]], positions: dict[int, str]) -> None:
    found = pack_positions(PackAnswer(answers=elements), 2, ITEM_MODEL, None)
    assert {p: TASK_TYPE.value(item.answer) for p, item in found.items()} == positions


def test_a_pack_item_answered_by_no_sample_has_no_score() -> None:
    found = {0: ItemAnswer(said("positive"), None), 1: ItemAnswer(said("negative"), None)}
    samples = [
        {0: ItemAnswer(said("positive"), None)},
        {0: ItemAnswer(said("negative"), None)},
    ]
    labeled = pack_by_self_consistency(TASK_TYPE, SPEC.task, "m", found, samples)
    assert labeled[0].value == "positive"
    assert labeled[0].confidence.score == pytest.approx(2 / 3)
    assert labeled[1].value == "negative" and labeled[1].confidence.score is None
    assert labeled[1].confidence.method is ConfidenceMethod.AGREEMENT


def test_a_pack_item_not_located_in_the_tokens_has_no_logprob_score() -> None:
    first = StructuredAnswer(PackAnswer(answers=[]), [], "m")
    labeled = pack_by_logprob(TASK_TYPE, SPEC.task, first, {0: ItemAnswer(said("negative"), None)})
    assert labeled[0].value == "negative"
    assert labeled[0].confidence == Confidence(None, ConfidenceMethod.LOGPROB)


@pytest.mark.parametrize(
    ("model", "expected"), [("served-model", "served-model"), ("", "test-model")]
)
def test_labeled_outcome_names_the_model_that_answered(model: str, expected: str) -> None:
    confidence = Confidence(0.9, ConfidenceMethod.LOGPROB)
    outcome = labeled_outcome(3, SPEC, Labeled("positive", confidence, model, "because"))
    assert (outcome.item_id, outcome.value, outcome.model) == (3, "positive", expected)
    assert outcome.confidence is confidence and outcome.rationale == "because"
    assert outcome.error_reason is None


def test_failed_outcome_keeps_the_reason() -> None:
    outcome = failed_outcome(4, SPEC, LLMCallError("upstream exploded"))
    assert outcome.item_id == 4 and outcome.value is None
    assert outcome.error_reason is ReviewReason.LLM_ERROR
    assert outcome.error_message == "upstream exploded"
