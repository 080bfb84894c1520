"""Extraction: fields pulled out of a document, as the user's schema of fields describes them.

The answer is `{"fields": {...}}` with every field present and null where the document does not
say (`labelwise.tasks.extraction_schema`); its value is the fields object. Each field has its own
confidence from the logprobs (`labelwise.scoring.field_confidence`) and the item is as sure as its
least sure field: one wrong field makes the whole record wrong. Values are compared with gold
field by field in normal form (`labelwise.tasks.extraction_compare`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from labelwise.domain import Confidence, ConfidenceMethod, TokenLogprob
from labelwise.scoring.consensus import Vote
from labelwise.scoring.field_confidence import field_confidences
from labelwise.scoring.json_regions import ROOT, Region
from labelwise.spec import TaskSpec
from labelwise.task_values import normalized_value
from labelwise.tasks import extraction_schema as schema
from labelwise.tasks.base import (
    RATIONALE_CHARS,
    RATIONALE_SCHEMA,
    OutputContract,
    Reading,
    TaskTypeBase,
)
from labelwise.tasks.extraction_compare import field_majority, values_match
from labelwise.tasks.prompts import PromptLibrary


class ExtractionTask(TaskTypeBase):
    name = "extraction"

    def read(
        self,
        task: TaskSpec,
        answer: BaseModel,
        data: Mapping[str, Any],
        tokens: Sequence[TokenLogprob] | None,
        region: Region = ROOT,
    ) -> Reading:
        """The fields, and per field its value and confidence (None without logprobs)."""
        value = self.value(answer)
        per_field = _per_field(task, tokens, value, region) if tokens else {}
        parts = {name: {"value": v, "confidence": per_field.get(name)} for name, v in value.items()}
        return Reading(value, _item_confidence(per_field), parts)

    def contract(self, task: TaskSpec) -> OutputContract:
        rationale = RATIONALE_SCHEMA if task.rationale else None
        extra = RATIONALE_CHARS if task.rationale else 0
        return OutputContract(
            schema.answer_schema(task, rationale_schema=rationale),
            schema.answer_model(task, rationale=task.rationale),
            schema.max_answer_chars(task) + extra,
        )

    def system_prompt(
        self,
        task: TaskSpec,
        prompts: PromptLibrary,
        *,
        answer_schema: str | None,
        packed: bool = False,
    ) -> str:
        fields = [
            {
                "name_json": json.dumps(name, ensure_ascii=False),
                "type": schema.type_text(prop),
                "description": str(prop.get("description") or "").strip(),
            }
            for name, prop in schema.properties(task).items()
        ]
        return prompts.render(
            f"{self.name}/system.j2",
            rationale=task.rationale,
            guidelines=task.guidelines.strip(),
            text_field_json=json.dumps(task.text_field, ensure_ascii=False),
            fields=fields,
            examples=self.shown_examples(task, task.examples),
            answer_schema=answer_schema,
            packed=packed,
        )

    def example_answer_json(
        self, task: TaskSpec, data: Mapping[str, Any], value: Any
    ) -> str | None:
        return schema.answer_json(task, value) if isinstance(value, Mapping) else None

    def answer_examples(self, task: TaskSpec) -> list[str]:
        """The project's own examples when it has some (real answers, real lengths), else one
        answer with every field filled."""
        labels = [e.label for e in task.examples if isinstance(e.label, dict)]
        return [schema.answer_json(task, v) for v in labels or [schema.typical_value(task)]]

    def value(self, answer: BaseModel) -> Any:
        return dict(answer.model_dump(by_alias=True)[schema.FIELDS_KEY])

    def checked_value(
        self, task: TaskSpec, value: Any, data: Mapping[str, Any] | None = None
    ) -> Any:
        """Every field of the schema, null where `value` leaves one out."""
        checked = normalized_value(task, value, data)
        return {name: checked.get(name) for name in schema.properties(task)}

    def matches(self, task: TaskSpec, value: Any, truth: Any) -> bool:
        """Every field the same answer: text regardless of case and spacing, numbers however
        written, lists as multisets (`labelwise.tasks.extraction_compare`)."""
        return values_match(task, value, truth)

    def logprob_confidence(
        self,
        task: TaskSpec,
        tokens: Sequence[TokenLogprob],
        answer: BaseModel,
        region: Region = ROOT,
    ) -> Confidence | None:
        return _item_confidence(_per_field(task, tokens, self.value(answer), region))

    def combine(self, task: TaskSpec, votes: Sequence[Vote]) -> tuple[Any, Confidence]:
        """Per field, the value with the most probability behind it: a voter counts for a field
        as much as it was sure of that field (of its whole answer when that is all that is
        known; fully without logprobs)."""
        weights = [_vote_weights(task, vote) for vote in votes]
        value, shares = field_majority(task, [vote.value for vote in votes], weights)
        return value, _shares_confidence(shares, ConfidenceMethod.COMBINED)

    def self_consistency(
        self,
        task: TaskSpec,
        answers: Sequence[BaseModel],
        data: Mapping[str, Any] | None = None,
    ) -> tuple[Any, Confidence]:
        values = [self.value(answer) for answer in answers]
        value, shares = field_majority(task, values, [{}] * len(values))
        return value, _shares_confidence(shares, ConfidenceMethod.AGREEMENT)


def _per_field(
    task: TaskSpec, tokens: Sequence[TokenLogprob], value: Mapping[str, Any], region: Region
) -> dict[str, float | None]:
    props = schema.properties(task)
    choices = {name: schema.choices(prop) for name, prop in props.items()}
    return field_confidences(tokens, values=value, choices=choices, region=region)


def _item_confidence(per_field: Mapping[str, float | None]) -> Confidence | None:
    """The least sure field; None when a field's confidence could not be read."""
    if not per_field or any(score is None for score in per_field.values()):
        return None
    scores = {name: float(score) for name, score in per_field.items() if score is not None}
    return Confidence(min(scores.values()), ConfidenceMethod.LOGPROB, per_label=scores)


def _shares_confidence(shares: Mapping[str, float], method: ConfidenceMethod) -> Confidence:
    return Confidence(min(shares.values(), default=0.0), method, per_label=dict(shares))


def _vote_weights(task: TaskSpec, vote: Vote) -> dict[str, float]:
    overall = 1.0 if vote.confidence is None else vote.confidence
    per_field = vote.per_label or {}
    return {name: per_field.get(name, overall) for name in schema.properties(task)}
