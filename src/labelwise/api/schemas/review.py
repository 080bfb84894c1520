"""The review queue: claiming an item, deciding it, and keeping or giving back the claim."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from labelwise.api.bounds import MAX_LEASE_SECONDS, MAX_TOKEN_CHARS, BodyId
from labelwise.api.schemas.items import ItemPublic, PredictionPublic
from labelwise.spec import StrictModel


class ClaimRequest(StrictModel):
    project_id: BodyId
    batch_id: BodyId | None = Field(
        default=None, description="serve only this batch's items (a batch of the project)"
    )
    lease_seconds: float | None = Field(
        default=None,
        ge=10,
        le=MAX_LEASE_SECONDS,
        description="a shorter lease than the deployment's, for a page that renews it",
    )


# What one reviewer decided about an item, shown to the adjudicator who settles a disagreement.
class ReviewerVote(BaseModel):
    reviewer: str
    value: Any
    unlabelable: bool


class ClaimResponse(BaseModel):
    item: ItemPublic
    prediction: PredictionPublic | None
    votes: list[ReviewerVote] = Field(
        default_factory=list,
        description="for an adjudicator: what the reviewers who disagreed decided",
    )
    claim_token: str
    fence: int
    lease_expires_at: str
    remaining: int


# A reviewer's verdict on a claimed item: the prediction accepted, corrected, or unlabelable.
class DecisionRequest(StrictModel):
    claim_token: str = Field(min_length=1, max_length=MAX_TOKEN_CHARS)
    decision: Literal["accept", "correct", "unlabelable"]
    value: Any = None


class ReleaseRequest(StrictModel):
    claim_token: str = Field(min_length=1, max_length=MAX_TOKEN_CHARS)


class RenewRequest(StrictModel):
    claim_token: str = Field(min_length=1, max_length=MAX_TOKEN_CHARS)
    lease_seconds: float | None = Field(default=None, ge=10, le=MAX_LEASE_SECONDS)


class RenewResponse(BaseModel):
    lease_expires_at: str
