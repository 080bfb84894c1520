"""What a project's task is: one definition for every task type, checked per type.

`type` picks the kind of labeling: categories (`classification`), entities in text (`spans`),
fields pulled out of a document (`extraction`), a score on a rubric (`rating`), or the better of
two candidates (`pairwise`). One model holds every type's fields, and a field that does not
belong to the chosen type is refused by name, so a misspelt or misplaced setting fails loudly.
How a value of each type looks is checked here too (examples; the task type checks gold).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from labelwise.task_values import example_error, schema_error

TaskTypeName = Literal["classification", "spans", "extraction", "rating", "pairwise"]

# Which optional fields each type takes; the rest must keep their defaults.
_FIELDS_OF: dict[str, set[str]] = {
    "classification": {"labels", "multi_label"},
    "spans": {"labels", "text_field"},
    "extraction": {"fields_schema", "text_field"},
    "rating": {"scale", "criteria", "text_field"},
    "pairwise": {"fields", "context_field", "allow_tie", "criteria"},
}
_TYPED_FIELDS = set().union(*_FIELDS_OF.values())
_SHOWN_NAME = {"fields_schema": "schema"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class LabelDef(_Strict):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)


class FewShotExample(_Strict):
    data: dict[str, Any]
    # A value of the task's type: a label (or list of labels), spans, fields, a score, a winner.
    label: Any


class RatingScale(_Strict):
    """The scores a rating may take, from `min` to `max`, with what some of them mean."""

    min: int = Field(ge=-1000, le=1000)
    max: int = Field(ge=-1000, le=1000)
    # What a score means, by score ("1": "off topic"); the rubric's anchors.
    anchors: dict[str, str] = Field(default_factory=dict, max_length=101)

    @model_validator(mode="after")
    def _ordered_and_anchored_inside(self) -> RatingScale:
        if self.min >= self.max:
            raise ValueError("scale.min must be less than scale.max")
        if self.max - self.min > 100:
            raise ValueError("a scale has at most 101 scores")
        for key in self.anchors:
            if not key.lstrip("-").isdigit() or not self.min <= int(key) <= self.max:
                raise ValueError(f"anchor {key[:20]!r} is not a score of the scale")
        return self

    @property
    def scores(self) -> list[int]:
        return list(range(self.min, self.max + 1))


class TaskSpec(_Strict):
    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )

    type: TaskTypeName = "classification"
    guidelines: str = Field(default="", max_length=100_000)
    # Classification and spans: the labels (entity types for spans), with descriptions.
    labels: list[LabelDef] = Field(default_factory=list, max_length=500)
    multi_label: bool = False
    # The item field that spans point into (and that extraction and rating read first).
    text_field: str = Field(default="text", min_length=1, max_length=200)
    # Extraction: a JSON Schema object of the fields to pull out.
    fields_schema: dict[str, Any] | None = Field(default=None, alias="schema")
    # Rating: the scale and the rubric (pairwise: what makes a candidate better).
    scale: RatingScale | None = None
    criteria: str = Field(default="", max_length=20_000)
    # Pairwise: the two item fields holding the candidates, and the one they answer, if any.
    fields: list[str] | None = None
    context_field: str | None = Field(default=None, min_length=1, max_length=200)
    allow_tie: bool = False
    # Ask for a short rationale before the answer; confidence is still read at the answer tokens.
    rationale: bool = False
    # The learning loop: this many reviewed items most like each item go into its prompt.
    examples_from_reviews: int = Field(default=0, ge=0, le=20)
    examples: list[FewShotExample] = Field(default_factory=list, max_length=50)

    @field_validator("labels", mode="before")
    @classmethod
    def _names_become_definitions(cls, value: Any) -> Any:
        """Labels may be given as plain names or as `{"name", "description"}`."""
        if isinstance(value, list):
            return [{"name": v} if isinstance(v, str) else v for v in value]
        return value

    @model_validator(mode="after")
    def _fields_fit_the_type(self) -> TaskSpec:
        foreign = [
            name
            for name in sorted(_TYPED_FIELDS - _FIELDS_OF[self.type])
            if name in self.model_fields_set
            and getattr(self, name)
            != type(self).model_fields[name].get_default(call_default_factory=True)
        ]
        if foreign:
            shown = _SHOWN_NAME.get(foreign[0], foreign[0])
            raise problem(shown, f"not a field of a {self.type} task")
        _CHECKS[self.type](self)
        for example in self.examples:
            error = example_error(self, example.label, example.data)
            if error:
                raise problem("examples", f"example label: {error}")
        return self

    @property
    def label_names(self) -> list[str]:
        return [label.name for label in self.labels]


def problem(field: str, message: str) -> PydanticCustomError:
    """A problem of one field of the task: the API names `task.<field>` in its 422."""
    return PydanticCustomError("task_field", "{message}", {"field": field, "message": message})


def _check_classification(task: TaskSpec) -> None:
    if len(task.labels) < 2:
        raise problem("labels", "a classification task needs at least 2 labels")
    _unique_labels(task)


def _check_spans(task: TaskSpec) -> None:
    if not task.labels:
        raise problem("labels", "a spans task needs at least 1 entity type")
    _unique_labels(task)


def _check_extraction(task: TaskSpec) -> None:
    if task.fields_schema is None:
        raise problem("schema", "an extraction task needs a schema")
    error = schema_error(task.fields_schema)
    if error:
        raise problem("schema", error)


def _check_rating(task: TaskSpec) -> None:
    if task.scale is None:
        raise problem("scale", "a rating task needs a scale")


def _check_pairwise(task: TaskSpec) -> None:
    fields = task.fields or ["a", "b"]
    if len(fields) != 2 or fields[0] == fields[1] or not all(fields):
        raise problem("fields", "the two candidates' item fields, two different names")
    if task.context_field in fields:
        raise problem("context_field", "must differ from the candidates' fields")
    task.fields = fields


def _unique_labels(task: TaskSpec) -> None:
    names = task.label_names
    if len(set(names)) != len(names):
        raise problem("labels", "labels must be unique")


_CHECKS = {
    "classification": _check_classification,
    "spans": _check_spans,
    "extraction": _check_extraction,
    "rating": _check_rating,
    "pairwise": _check_pairwise,
}
