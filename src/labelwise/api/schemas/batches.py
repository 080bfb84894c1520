"""Batches: what is sent to label, what is accepted, and how a batch stands."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from labelwise.api.schemas.items import ItemIn
from labelwise.spec import StrictModel


class BatchCreate(StrictModel):
    items: list[ItemIn] = Field(min_length=1)


class BatchAccepted(BaseModel):
    id: int
    items: int
    created: int = Field(description="items new to the project")
    existing: int = Field(description="items whose external_id the project already had")


class RelabelAccepted(BaseModel):
    id: int = Field(description="the batch (or, for the review queue, the project) relabeled")
    version: int = Field(description="the project version the items are labeled with now")
    relabeled: int = Field(description="items put back to pending; human labels are kept")


# What a batch's LLM calls have used and cost so far.
class BatchUsage(BaseModel):
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    cost_usd: float
    cost_per_item_usd: float = Field(default=0.0, description="over the items labeled so far")
    cache_hits: int = Field(default=0, description="items labeled from the result cache")


class ProviderBatchPublic(BaseModel):
    """A batch-mode submission: where the provider's batch stands, and once collected, what came
    back (`answered` requests, `labeled` items, items `sent_online`)."""

    id: str
    status: str
    requests: int
    submitted_at: str
    counts: dict[str, int] | None


class BatchGuaranteePublic(BaseModel):
    """A batch's dataset-error guarantee: with probability `guarantee`, at most `target_error` of
    the batch's final labels are wrong. Items are drawn into a sample at `rate`; until reviewers
    have labeled it (`state` "sampling"), the other labeled items wait (`waiting_for_sample`)."""

    target_error: float
    guarantee: float
    population: int = Field(description="items in the batch")
    rate: float = Field(description="the probability with which each item was drawn")
    expected_sample: int
    state: Literal["sampling", "certified", "uncertified"]
    cut: float | None = Field(
        description="items with confidence at or above it keep the model's label"
    )
    error_bound: float | None = Field(
        description="the share of wrong kept labels the sample still allows, at the guarantee"
    )
    sampled: int | None = Field(description="sampled items reviewers settled")
    sampled_errors_kept: int | None = Field(description="sampled model errors at or above the cut")
    waiting_for_sample: int = Field(description="labeled items held until the sample is reviewed")


class BatchPublic(BaseModel):
    id: int
    project_id: int
    status: Literal["running", "completed"]
    mode: Literal["online", "batch"]
    counts: dict[str, int]
    usage: BatchUsage
    provider_batches: list[ProviderBatchPublic] = Field(default_factory=list)
    guarantee: BatchGuaranteePublic | None = None
