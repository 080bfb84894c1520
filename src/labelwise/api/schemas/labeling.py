"""Labeling a few items at once, answered in the same request."""

from __future__ import annotations

from pydantic import BaseModel, Field

from labelwise.api.schemas.items import ItemIn, ItemPublic
from labelwise.spec import StrictModel


class SyncLabelRequest(StrictModel):
    items: list[ItemIn] = Field(min_length=1)


class SyncLabelResponse(BaseModel):
    batch_id: int
    items: list[ItemPublic]
