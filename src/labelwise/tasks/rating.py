"""Rating: a score on a rubric's scale.

Answers are `{"score": <integer>}` with the scale's scores as an enum in the schema, checked again
in code by a strict pydantic model (no `true`, no `4.0`, nothing outside the scale). The prompt
gives the rubric (`criteria`), the scale with its anchors, and the item with its text first.

The confidence is the probability of the chosen score among the scale's scores, read at the
tokens that spell it (`labelwise.scoring.number_choice`); the whole distribution is kept as the
prediction's parts: `{"distribution": {"<score>": p}, "expected": sum of s * p, "chosen": p}`,
so a reviewer sees whether the model hesitated between neighbours or between the two ends.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from labelwise.domain import Confidence, ConfidenceMethod, TokenLogprob
from labelwise.scoring import number_choice, score_votes
from labelwise.scoring.consensus import Vote
from labelwise.scoring.json_regions import ROOT, Region
from labelwise.spec import TaskSpec
from labelwise.task_spec import RatingScale
from labelwise.task_values import normalized_value
from labelwise.tasks.base import (
    RATIONALE_CHARS,
    OutputContract,
    Reading,
    TaskTypeBase,
    answer_object,
    data_json,
)
from labelwise.tasks.prompts import PromptLibrary

KEY = "score"
# Answers are judged strictly: no coercion of "4" or 4.0 to 4, no unknown keys.
_ANSWER_CONFIG = ConfigDict(extra="forbid", strict=True)


def _scale(task: TaskSpec) -> RatingScale:
    if task.scale is None:
        raise ValueError("a rating task has a scale")
    return task.scale


def rating_schema(scores: Sequence[int], *, rationale: bool = False) -> dict[str, Any]:
    """The answer object; a rationale comes first, so the model reasons before it commits to a
    score (schema-constrained decoding writes properties in schema order)."""
    return answer_object({KEY: {"type": "integer", "enum": list(scores)}}, rationale=rationale)


def _answer_model(scale: RatingScale, *, rationale: bool) -> type[BaseModel]:
    fields: dict[str, Any] = {KEY: (int, Field(ge=scale.min, le=scale.max))}
    if rationale:
        fields = {"rationale": (str, ...), **fields}
    return create_model("RatingAnswer", __config__=_ANSWER_CONFIG, **fields)


def _answer_json(score: Any) -> str:
    return json.dumps({KEY: score})


def _is_score(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def text_first(task: TaskSpec, data: Mapping[str, Any]) -> dict[str, Any]:
    """The item with the field the rubric is about first (when it has one), then the rest as
    given: the model reads the text before the metadata around it."""
    if task.text_field not in data:
        return dict(data)
    return {task.text_field: data[task.text_field], **data}


def parts_of(distribution: Mapping[int, float], chosen: int) -> dict[str, Any]:
    """The prediction's parts: the distribution by score (JSON keys are strings), its mean, and
    the chosen score's probability."""
    return {
        "distribution": {str(score): p for score, p in distribution.items()},
        "expected": sum(score * p for score, p in distribution.items()),
        "chosen": distribution[chosen],
    }


class RatingTask(TaskTypeBase):
    name = "rating"

    def read(
        self,
        task: TaskSpec,
        answer: BaseModel,
        data: Mapping[str, Any],
        tokens: Sequence[TokenLogprob] | None,
        region: Region = ROOT,
    ) -> Reading:
        chosen = self.value(answer)
        distribution = self._distribution(task, tokens, chosen, region) if tokens else None
        if distribution is None:
            return Reading(chosen)
        scored = Confidence(distribution[chosen], ConfidenceMethod.LOGPROB)
        return Reading(chosen, scored, parts_of(distribution, chosen))

    def contract(self, task: TaskSpec) -> OutputContract:
        scale = _scale(task)
        widest = max(scale.scores, key=lambda score: len(str(score)))
        extra = RATIONALE_CHARS if task.rationale else 0
        return OutputContract(
            rating_schema(scale.scores, rationale=task.rationale),
            _answer_model(scale, rationale=task.rationale),
            len(json.dumps({KEY: widest}, indent=2)) + extra,
        )

    def system_prompt(
        self,
        task: TaskSpec,
        prompts: PromptLibrary,
        *,
        answer_schema: str | None,
        packed: bool = False,
    ) -> str:
        scale = _scale(task)
        anchors = sorted(((int(k), text) for k, text in scale.anchors.items()), key=lambda a: a[0])
        examples = self.shown_examples(task, task.examples)
        return prompts.render(
            f"{self.name}/system.j2",
            rationale=task.rationale,
            guidelines=task.guidelines.strip(),
            criteria=task.criteria.strip(),
            low=scale.min,
            high=scale.max,
            anchors=[{"score": score, "meaning": meaning} for score, meaning in anchors],
            examples=examples,
            answer_schema=answer_schema,
            packed=packed,
        )

    def item_json(self, task: TaskSpec, data: Mapping[str, Any]) -> str:
        """The text field first, so the rubric's subject leads."""
        return data_json(text_first(task, data))

    def example_answer_json(self, task: TaskSpec, data: Mapping[str, Any], value: Any) -> str:
        return _answer_json(value)

    def answer_examples(self, task: TaskSpec) -> list[str]:
        return [_answer_json(score) for score in _scale(task).scores]

    def value(self, answer: BaseModel) -> Any:
        return answer.model_dump()[KEY]

    def checked_value(
        self, task: TaskSpec, value: Any, data: Mapping[str, Any] | None = None
    ) -> Any:
        return normalized_value(task, value, data)

    def matches(self, task: TaskSpec, value: Any, truth: Any) -> bool:
        """Exact equality of scores: how near a rating came is the quality report's business
        (`labelwise.scoring.rating_measures`), not a match."""
        return _is_score(value) and _is_score(truth) and value == truth

    def logprob_confidence(
        self,
        task: TaskSpec,
        tokens: Sequence[TokenLogprob],
        answer: BaseModel,
        region: Region = ROOT,
    ) -> Confidence | None:
        chosen = self.value(answer)
        distribution = self._distribution(task, tokens, chosen, region)
        if distribution is None:
            return None
        return Confidence(distribution[chosen], ConfidenceMethod.LOGPROB)

    def combine(self, task: TaskSpec, votes: Sequence[Vote]) -> tuple[Any, Confidence]:
        score, p = score_votes.combined_score(votes, _scale(task).scores)
        return score, Confidence(p, ConfidenceMethod.COMBINED)

    def self_consistency(
        self,
        task: TaskSpec,
        answers: Sequence[BaseModel],
        data: Mapping[str, Any] | None = None,
    ) -> tuple[Any, Confidence]:
        score, share = score_votes.majority_score([self.value(answer) for answer in answers])
        return score, Confidence(share, ConfidenceMethod.AGREEMENT)

    def _distribution(
        self, task: TaskSpec, tokens: Sequence[TokenLogprob], chosen: int, region: Region
    ) -> dict[int, float] | None:
        return number_choice.score_distribution(
            tokens, key=KEY, scores=_scale(task).scores, chosen=chosen, region=region
        )
