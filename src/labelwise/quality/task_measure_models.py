"""Each task type's own section of the quality report, as the API returns it. A proportion carries
its 95% Wilson interval: on a few dozen gold items a per-label or per-field figure moves a lot,
and the interval says how much. `type` tells the sections apart."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from labelwise.quality.metrics import Proportion


class SpanLabelScores(BaseModel):
    label: str = Field(description='an entity type, or "(all)" for every span counted together')
    gold: int = Field(description="gold spans of this label")
    predicted: int = Field(description="spans of this label the model gave")
    exact_precision: Proportion
    exact_recall: Proportion
    exact_f1: float | None
    overlap_precision: Proportion = Field(
        description="predicted spans sharing a character with a gold span of the same label"
    )
    overlap_recall: Proportion
    overlap_f1: float | None


class SpanMeasures(BaseModel):
    type: Literal["spans"] = "spans"
    items: int
    labels: list[SpanLabelScores]


class FieldAccuracy(BaseModel):
    field: str
    accuracy: Proportion


class ExtractionMeasures(BaseModel):
    type: Literal["extraction"] = "extraction"
    items: int
    exact_match: Proportion = Field(description="items with every field right")
    fields: list[FieldAccuracy]


class RatingMeasures(BaseModel):
    type: Literal["rating"] = "rating"
    items: int
    exact: Proportion
    within_one: Proportion = Field(description="scores at most one step from the truth")
    mean_absolute_error: float | None
    quadratic_weighted_kappa: float | None


class PairwiseMeasures(BaseModel):
    type: Literal["pairwise"] = "pairwise"
    items: int
    agreement: Proportion = Field(description="items where the model's winner is gold's")
    order_changed: Proportion = Field(
        description="items whose answer changed when the candidates were shown the other way round"
    )
    first_shown_wins: Proportion = Field(
        description="answers that picked a candidate (not a tie) picking the one shown first"
    )


TaskMeasures = Annotated[
    SpanMeasures | ExtractionMeasures | RatingMeasures | PairwiseMeasures,
    Field(discriminator="type"),
]
