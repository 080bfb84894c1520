"""Turning a model's answers into a scored label: from the answer's own logprobs, from the
agreement of samples, or every way consensus voters allow; and the label into an outcome.

Answers are read through the task type (`TaskType.read`), one reading per view of the item, and
the readings merged by it (`TaskType.merge`), so parts and review reasons come along with the
value. Without logprobs a view is scored by the agreement of samples of its request: a task type
with one view is asked for the majority (`TaskType.self_consistency`, e.g. per label for
multi-label classification); the views of a type with several are shown differently (a pairwise
question with its candidates swapped), so there the readings' values, which are in the item's
terms, are compared as canonical JSON and the most frequent one wins, the first answer first.

Nothing here calls a model: the answers come in, values and confidences come out.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from labelwise.domain import Confidence, ConfidenceMethod, LabelOutcome, Scored
from labelwise.errors import LabelingError, ReviewReason
from labelwise.llm.call import StructuredAnswer
from labelwise.scoring import self_consistency
from labelwise.scoring.consensus import Vote
from labelwise.scoring.json_regions import ROOT
from labelwise.spec import ProjectSpec, TaskSpec
from labelwise.tasks import Reading, TaskType
from labelwise.tasks.packing import ItemAnswer, PackAnswer, unpack


@dataclass(frozen=True)
class Labeled:
    """One item's label as scored, before it becomes an outcome."""

    value: Any
    confidence: Confidence
    model: str
    rationale: str | None
    alternatives: dict[str, Scored] = dataclasses.field(default_factory=dict)
    parts: Any = None
    review_reason: ReviewReason | None = None


def labeled_outcome(item_id: int, spec: ProjectSpec, labeled: Labeled) -> LabelOutcome:
    outcome = LabelOutcome(item_id=item_id, model=labeled.model or spec.model.name)
    outcome.value, outcome.confidence = labeled.value, labeled.confidence
    outcome.rationale, outcome.alternatives = labeled.rationale, labeled.alternatives
    outcome.parts, outcome.review_reason = labeled.parts, labeled.review_reason
    return outcome


def reading_labeled(reading: Reading, model: str, rationale: str | None) -> Labeled:
    """An item's merged reading as a label; a reading without a confidence has no score (the
    item then goes to review)."""
    scored = reading.confidence or Confidence(None, ConfidenceMethod.NONE)
    return Labeled(
        reading.value,
        scored,
        model,
        rationale,
        parts=reading.parts,
        review_reason=reading.review_reason,
    )


def canonical(value: Any) -> str:
    """A value as comparable text: equal values give equal text whatever their keys' order."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def agreed_reading(
    task_type: TaskType,
    task: TaskSpec,
    view: Mapping[str, Any],
    answers: Sequence[BaseModel],
    *,
    single_view: bool,
) -> Reading:
    """One view's reading from the agreement of its answers (the first answer first). The parts
    and review reason are those of the first answer that gave the majority value. With one
    answer only, agreeing with itself is no evidence: no score."""
    readings = [task_type.read(task, answer, view, None) for answer in answers]
    if len(readings) == 1:
        return dataclasses.replace(readings[0], confidence=_NO_AGREEMENT)
    if single_view:
        value, agreed = task_type.self_consistency(task, answers, view)
    else:
        key, share = self_consistency.self_consistency([canonical(r.value) for r in readings])
        value = next(r.value for r in readings if canonical(r.value) == key)
        agreed = Confidence(share, ConfidenceMethod.AGREEMENT)
    chosen = next((r for r in readings if canonical(r.value) == canonical(value)), readings[0])
    return dataclasses.replace(chosen, value=value, confidence=agreed)


_NO_AGREEMENT = Confidence(None, ConfidenceMethod.AGREEMENT)


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
    task_type: TaskType,
    task: TaskSpec,
    first: StructuredAnswer,
    samples: Sequence[BaseModel],
    data: Mapping[str, Any] | None = None,
) -> Labeled:
    """The label of an item with one view (`data`) from the majority over the first answer and
    its samples. With no sample left, one answer agreeing with itself is no evidence: no score,
    so the item goes to review."""
    answers = [first.answer, *samples]
    reading = agreed_reading(task_type, task, data or {}, answers, single_view=True)
    return reading_labeled(reading, first.model, task_type.rationale(first.answer))


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
    task_type: TaskType,
    task: TaskSpec,
    first: StructuredAnswer,
    found: Mapping[int, ItemAnswer],
    datas: Sequence[Mapping[str, Any]] = (),
) -> dict[int, Labeled]:
    """Each item (its data in `datas`, by position) read from its own part of the answer's
    logprobs; an item whose part cannot be located gets no score."""
    assert first.tokens is not None
    labeled: dict[int, Labeled] = {}
    for position, item in found.items():
        tokens = first.tokens if item.region is not None else None
        region = item.region if item.region is not None else ROOT
        read = task_type.read(task, item.answer, _data_at(datas, position), tokens, region)
        merged = task_type.merge(task, [read])
        if merged.confidence is None:
            merged = dataclasses.replace(merged, confidence=_NO_LOGPROB)
        rationale = task_type.rationale(item.answer)
        labeled[position] = reading_labeled(merged, first.model, rationale)
    return labeled


_NO_LOGPROB = Confidence(None, ConfidenceMethod.LOGPROB)


def pack_by_self_consistency(
    task_type: TaskType,
    task: TaskSpec,
    model: str,
    found: Mapping[int, ItemAnswer],
    samples: Sequence[Mapping[int, ItemAnswer]],
    datas: Sequence[Mapping[str, Any]] = (),
) -> dict[int, Labeled]:
    """Each item (its data in `datas`, by position) scored by the agreement of its answers
    across whole-pack samples; an item no sample answered gets no score. Packed task types
    have one view."""
    labeled: dict[int, Labeled] = {}
    for position, item in found.items():
        answers = [item.answer, *(s[position].answer for s in samples if position in s)]
        agreed = agreed_reading(
            task_type, task, _data_at(datas, position), answers, single_view=True
        )
        merged = task_type.merge(task, [agreed])
        rationale = task_type.rationale(item.answer)
        labeled[position] = reading_labeled(merged, model, rationale)
    return labeled


def _data_at(datas: Sequence[Mapping[str, Any]], position: int) -> Mapping[str, Any]:
    return datas[position] if position < len(datas) else {}
