"""Items as sent in and as shown: their data, their label and the model's prediction."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from labelwise.spec import StrictModel


class ItemIn(StrictModel):
    external_id: str | None = Field(default=None, min_length=1, max_length=400)
    data: dict[str, Any]
    ground_truth: Any = None


class LabelPublic(BaseModel):
    value: Any
    confidence: float | None
    source: str
    labeled_by: str | None = None


class PredictionPublic(BaseModel):
    value: Any
    confidence: float | None
    method: str
    model: str
    version: int
    reason: str | None
    error: str | None = None
    rationale: str | None = Field(
        default=None, description="the model's reasoning, when the task asks for it"
    )
    cache_hit: bool = Field(
        default=False, description="copied from an item with the same content: no LLM call"
    )
    parts: Any = Field(
        default=None,
        description="per span, per field, a rating's distribution or each pairwise order, "
        "each with its own confidence, for task types that have parts",
    )


class ItemPublic(BaseModel):
    id: int
    external_id: str | None
    data: dict[str, Any]
    status: str
    reason: str | None
    label: LabelPublic | None
    prediction: PredictionPublic | None


class ItemsPage(BaseModel):
    items: list[ItemPublic]
    next_cursor: str | None
