"""Classification, single- and multi-label: prompts, answer schema, values and confidences.

Single-label answers are `{"label": "<name>"}`, multi-label answers `{"labels": {"<name>": bool,
...}}` with every label present; the label set is an enum in the schema and is checked again in
code by a pydantic model built from it, whatever the provider enforced.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from labelwise.domain import Confidence, ConfidenceMethod, TokenLogprob
from labelwise.scoring import confidence, consensus, self_consistency
from labelwise.scoring.consensus import Vote
from labelwise.scoring.json_regions import ROOT, Region
from labelwise.spec import TaskSpec
from labelwise.task_values import normalized_value
from labelwise.tasks.base import (
    RATIONALE_CHARS,
    OutputContract,
    Reading,
    TaskTypeBase,
    answer_object,
    label_definitions,
)
from labelwise.tasks.prompts import PromptLibrary

# Answers are judged strictly: no coercion of "true" to true, no unknown keys.
_ANSWER_CONFIG = ConfigDict(extra="forbid", strict=True)


def single_label_schema(names: Sequence[str], *, rationale: bool = False) -> dict[str, Any]:
    return answer_object({"label": {"type": "string", "enum": list(names)}}, rationale=rationale)


def multi_label_schema(names: Sequence[str], *, rationale: bool = False) -> dict[str, Any]:
    flags = {
        "type": "object",
        "properties": {name: {"type": "boolean"} for name in names},
        "required": list(names),
        "additionalProperties": False,
    }
    return answer_object({"labels": flags}, rationale=rationale)


def _answer_model(name: str, fields: dict[str, Any], *, rationale: bool) -> type[BaseModel]:
    if rationale:
        fields = {"rationale": (str, ...), **fields}
    return create_model(name, __config__=_ANSWER_CONFIG, **fields)


def _choice_model(names: Sequence[str], *, rationale: bool = False) -> type[BaseModel]:
    allowed: Any = Literal.__getitem__(tuple(names))
    return _answer_model("LabelChoice", {"label": (allowed, ...)}, rationale=rationale)


def _flags_model(names: Sequence[str], *, rationale: bool = False) -> type[BaseModel]:
    # Label names need not be Python identifiers ("not spam", "class"), so fields get neutral
    # names and the label is the alias; validation errors still name the label.
    fields: dict[str, Any] = {
        f"label_{i}": (bool, Field(alias=name)) for i, name in enumerate(names)
    }
    flags = create_model("LabelFlags", __config__=_ANSWER_CONFIG, **fields)
    return _answer_model("LabelSet", {"labels": (flags, ...)}, rationale=rationale)


def _flags(answer: BaseModel) -> dict[str, bool]:
    return dict(answer.model_dump(by_alias=True)["labels"])


def _answer_json(task: TaskSpec, label: str | list[str]) -> str:
    """An answer as the model should write it, for the few-shot examples."""
    if not task.multi_label:
        return json.dumps({"label": label}, ensure_ascii=False)
    chosen = set(label if isinstance(label, list) else [label])
    flags = {name: name in chosen for name in task.label_names}
    return json.dumps({"labels": flags}, ensure_ascii=False)


class ClassificationTask(TaskTypeBase):
    name = "classification"

    def read(
        self,
        task: TaskSpec,
        answer: BaseModel,
        data: Mapping[str, Any],
        tokens: Sequence[TokenLogprob] | None,
        region: Region = ROOT,
    ) -> Reading:
        scored = self.logprob_confidence(task, tokens, answer, region) if tokens else None
        return Reading(self.value(answer), scored)

    def contract(self, task: TaskSpec) -> OutputContract:
        names, rationale = task.label_names, task.rationale
        extra = RATIONALE_CHARS if rationale else 0
        if task.multi_label:
            longest: dict[str, Any] = {"labels": dict.fromkeys(names, False)}
            return OutputContract(
                multi_label_schema(names, rationale=rationale),
                _flags_model(names, rationale=rationale),
                _chars(longest) + extra,
            )
        widest = max(names, key=lambda name: len(json.dumps(name)))
        return OutputContract(
            single_label_schema(names, rationale=rationale),
            _choice_model(names, rationale=rationale),
            _chars({"label": widest}) + extra,
        )

    def system_prompt(
        self,
        task: TaskSpec,
        prompts: PromptLibrary,
        *,
        answer_schema: str | None,
        packed: bool = False,
    ) -> str:
        labels = label_definitions(task)
        examples = self.shown_examples(task, task.examples)
        return prompts.render(
            f"{self.name}/system.j2",
            multi_label=task.multi_label,
            rationale=task.rationale,
            guidelines=task.guidelines.strip(),
            labels=labels,
            examples=examples,
            answer_schema=answer_schema,
            packed=packed,
        )

    def example_answer_json(self, task: TaskSpec, data: Mapping[str, Any], value: Any) -> str:
        return _answer_json(task, value)

    def answer_examples(self, task: TaskSpec) -> list[str]:
        # Single-label: each label once; multi-label: each label alone set.
        return [_answer_json(task, name) for name in task.label_names]

    def checked_value(
        self, task: TaskSpec, value: Any, data: Mapping[str, Any] | None = None
    ) -> Any:
        return normalized_value(task, value, data)

    def matches(self, task: TaskSpec, value: Any, truth: Any) -> bool:
        """Multi-label values are sets: their order, repeats, and a lone label given as a string
        do not matter."""
        if task.multi_label or isinstance(value, list) or isinstance(truth, list):
            return _label_set(value) == _label_set(truth)
        return bool(value == truth)

    def value(self, answer: BaseModel) -> Any:
        if "labels" in type(answer).model_fields:
            return sorted(name for name, on in _flags(answer).items() if on)
        return answer.model_dump()["label"]

    def logprob_confidence(
        self,
        task: TaskSpec,
        tokens: Sequence[TokenLogprob],
        answer: BaseModel,
        region: Region = ROOT,
    ) -> Confidence | None:
        names = task.label_names
        if task.multi_label:
            per_label = confidence.boolean_confidences(
                tokens, labels=names, values=_flags(answer), region=region
            )
            if per_label is None:
                return None
            score = confidence.combine_label_confidences(per_label)
            return Confidence(score, ConfidenceMethod.LOGPROB, per_label=dict(per_label))
        score = confidence.label_choice_confidence(
            tokens, key="label", labels=names, chosen=self.value(answer), region=region
        )
        return None if score is None else Confidence(score, ConfidenceMethod.LOGPROB)

    def combine(self, task: TaskSpec, votes: Sequence[Vote]) -> tuple[Any, Confidence]:
        if task.multi_label:
            chosen, per_label = consensus.combine_multi(votes, task.label_names)
            score = confidence.combine_label_confidences(per_label)
            return chosen, Confidence(score, ConfidenceMethod.COMBINED, per_label=per_label)
        value, score = consensus.combine_single(votes, task.label_names)
        return value, Confidence(score, ConfidenceMethod.COMBINED)

    def self_consistency(
        self,
        task: TaskSpec,
        answers: Sequence[BaseModel],
        data: Mapping[str, Any] | None = None,
    ) -> tuple[Any, Confidence]:
        if task.multi_label:
            samples = [frozenset(self.value(answer)) for answer in answers]
            chosen, per_label = self_consistency.per_label_self_consistency(
                samples, task.label_names
            )
            score = confidence.combine_label_confidences(per_label)
            method = ConfidenceMethod.AGREEMENT
            return sorted(chosen), Confidence(score, method, per_label=dict(per_label))
        value, share = self_consistency.self_consistency([self.value(answer) for answer in answers])
        return value, Confidence(share, ConfidenceMethod.AGREEMENT)


def _shown_name(value: str) -> str:
    """A value quoted for an error message, cut short: it came from the client, at any length."""
    return repr(value if len(value) <= 60 else value[:60] + "…")


def _chars(answer: dict[str, Any]) -> int:
    # Indented and ASCII-escaped: the widest way a model is likely to write the same answer.
    return len(json.dumps(answer, indent=2))


def _label_set(value: Any) -> frozenset[str]:
    return frozenset(map(str, value)) if isinstance(value, list) else frozenset([str(value)])
