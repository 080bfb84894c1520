"""Turning a model's answers into a scored label: from the answer's own logprobs, from the
agreement of samples, or every way consensus voters allow; and the label into an outcome.

Nothing here calls a model: the answers come in, values and confidences come out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from labelwise.domain import Confidence, ConfidenceMethod, LabelOutcome, Scored
from labelwise.errors import LabelingError
from labelwise.llm.call import StructuredAnswer
from labelwise.scoring.consensus import Vote
from labelwise.spec import ProjectSpec, TaskSpec
from labelwise.tasks import TaskType
from labelwise.tasks.packing import ItemAnswer, PackAnswer, unpack


@dataclass(frozen=True)
class Labeled:
    """One item's label as scored, before it becomes an outcome."""

    value: Any
    confidence: Confidence
    model: str
    rationale: str | None
    alternatives: dict[str, Scored] = dataclasses.field(default_factory=dict)


def labeled_outcome(item_id: int, spec: ProjectSpec, labeled: Labeled) -> LabelOutcome:
    outcome = LabelOutcome(item_id=item_id, model=labeled.model or spec.model.name)
    outcome.value, outcome.confidence = labeled.value, labeled.confidence
    outcome.rationale, outcome.alternatives = labeled.rationale, labeled.alternatives
    return outcome


def failed_outcome(item_id: int, spec: ProjectSpec, failure: LabelingError) -> LabelOutcome:
    """An item that goes to review for `failure`'s reason, with nothing labeled."""
    outcome = LabelOutcome(item_id=item_id, model=spec.model.name)
    outcome.error_reason, outcome.error_message = failure.reason, str(failure)
    return outcome


def own_confidence(
    task_type: TaskType, task: TaskSpec, answer: StructuredAnswer
) -> Confidence | None:
    """What the answer's logprobs say of it; None without logprobs or when they cannot be read."""
    if not answer.tokens:
        return None
    return task_type.logprob_confidence(task, answer.tokens, answer.answer)


def by_self_consistency(
    task_type: TaskType, task: TaskSpec, first: StructuredAnswer, samples: Sequence[BaseModel]
) -> Labeled:
    """The majority over the first answer and its samples. With no sample left, one answer
    agreeing with itself is no evidence: no score, so the item goes to review."""
    rationale = task_type.rationale(first.answer)
    if not samples:
        no_score = Confidence(None, ConfidenceMethod.AGREEMENT)
        return Labeled(task_type.value(first.answer), no_score, first.model, rationale)
    value, agreed = task_type.self_consistency(task, [first.answer, *samples])
    return Labeled(value, agreed, first.model, rationale)


def vote(
    task_type: TaskType, task: TaskSpec, answer: StructuredAnswer, known: Confidence | None
) -> Vote:
    """One voter's answer with its logprob score (`known` when already read), for combining."""
    scored = known if known is not None else own_confidence(task_type, task, answer)
    return Vote(
        task_type.value(answer.answer),
        scored.score if scored else None,
        scored.per_label if scored else None,
    )


def consensus_scores(
    task_type: TaskType,
    task: TaskSpec,
    answers: Sequence[StructuredAnswer],
    own: Confidence | None,
) -> dict[str, Scored]:
    """Every score the answers allow, by method: the first answer's own logprob (`own`), the
    agreement of all answers, and their votes combined. `answers` starts with the first answer;
    empty when no voter answered and there is no logprob."""
    first = answers[0]
    alternatives: dict[str, Scored] = {}
    if own is not None:
        alternatives[ConfidenceMethod.LOGPROB.value] = Scored(task_type.value(first.answer), own)
    if len(answers) > 1:
        value, agreed = task_type.self_consistency(task, [a.answer for a in answers])
        alternatives[ConfidenceMethod.AGREEMENT.value] = Scored(value, agreed)
    if len(answers) > 1 or own is not None:
        votes = [
            vote(task_type, task, answer, own if position == 0 else None)
            for position, answer in enumerate(answers)
        ]
        value, combined = task_type.combine(task, votes)
        alternatives[ConfidenceMethod.COMBINED.value] = Scored(value, combined)
    return alternatives


def pack_positions(
    answer: BaseModel, size: int, item_model: type[BaseModel], content: str | None
) -> dict[int, ItemAnswer]:
    """The item answers in a pack's answer by position (0-based; the request numbers from 1)."""
    assert isinstance(answer, PackAnswer)
    found = unpack(answer, size=size, item_model=item_model, content=content)
    return {int(item_id) - 1: item_answer for item_id, item_answer in found.items()}


def pack_by_logprob(
    task_type: TaskType, task: TaskSpec, first: StructuredAnswer, found: Mapping[int, ItemAnswer]
) -> dict[int, Labeled]:
    """Each item scored from its own part of the answer's logprobs; an item whose part cannot
    be located gets no score."""
    assert first.tokens is not None
    labeled: dict[int, Labeled] = {}
    for position, item in found.items():
        own = None
        if item.region is not None:
            own = task_type.logprob_confidence(task, first.tokens, item.answer, item.region)
        score = own or Confidence(None, ConfidenceMethod.LOGPROB)
        labeled[position] = Labeled(
            task_type.value(item.answer), score, first.model, task_type.rationale(item.answer)
        )
    return labeled


def pack_by_self_consistency(
    task_type: TaskType,
    task: TaskSpec,
    model: str,
    found: Mapping[int, ItemAnswer],
    samples: Sequence[Mapping[int, ItemAnswer]],
) -> dict[int, Labeled]:
    """Each item scored by the agreement of its answers across whole-pack samples; an item no
    sample answered gets no score."""
    labeled: dict[int, Labeled] = {}
    for position, item in found.items():
        answers = [item.answer, *(s[position].answer for s in samples if position in s)]
        value, agreed = task_type.self_consistency(task, answers)
        if len(answers) == 1:
            agreed = Confidence(None, ConfidenceMethod.AGREEMENT)
        labeled[position] = Labeled(value, agreed, model, task_type.rationale(item.answer))
    return labeled
