"""Request and response bodies of the HTTP API, one model per use."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from labelwise.api.bounds import MAX_LEASE_SECONDS, MAX_TOKEN_CHARS, MAX_USD, BodyId
from labelwise.spec import (
    ConsensusSpec,
    ModelSpec,
    Price,
    ResultCache,
    ReviewSpec,
    RoutingSpec,
    TaskSpec,
)
from labelwise.store.keys import Role


class _In(BaseModel):
    # NaN and infinities are not JSON; bodies never carry them, and nothing else may either.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ErrorDetail(BaseModel):
    code: str = Field(description="stable, for programs: `validation_error`, `not_found`, ...")
    message: str = Field(description="for people; a validation error names the field first")


class ErrorBody(BaseModel):
    """How every error answers, whatever its status."""

    error: ErrorDetail


class ProjectCreate(_In):
    name: str = Field(min_length=1, max_length=200)
    task: TaskSpec
    model: ModelSpec
    routing: RoutingSpec = Field(default_factory=lambda: RoutingSpec(accept_threshold=0.8))
    consensus: ConsensusSpec = Field(default_factory=ConsensusSpec)
    review: ReviewSpec = Field(default_factory=ReviewSpec)
    result_cache: ResultCache = "project"
    items_per_request: int = Field(default=1, ge=1, le=50)
    # US dollars in all, estimated before each batch; not versioned.
    spend_limit_usd: float | None = Field(default=None, ge=0, le=MAX_USD)


class ProjectUpdate(_In):
    """Any of these; a change to anything but the name makes a new version."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    task: TaskSpec | None = None
    model: ModelSpec | None = None
    routing: RoutingSpec | None = None
    consensus: ConsensusSpec | None = None
    review: ReviewSpec | None = None
    result_cache: ResultCache | None = None
    items_per_request: int | None = Field(default=None, ge=1, le=50)
    # null removes the limit; leaving it out keeps it.
    spend_limit_usd: float | None = Field(default=None, ge=0, le=MAX_USD)


class ProjectPublic(BaseModel):
    id: int
    name: str
    version: int
    task: TaskSpec
    model: ModelSpec
    routing: RoutingSpec
    consensus: ConsensusSpec
    review: ReviewSpec
    result_cache: ResultCache
    items_per_request: int
    spend_limit_usd: float | None
    spent_usd: float = Field(description="what the project's LLM calls have cost, in all")
    accept_threshold: float | None = Field(
        description="the threshold in force; null while a target precision awaits gold"
    )
    created_at: str
    updated_at: str


class ItemIn(_In):
    external_id: str | None = Field(default=None, min_length=1, max_length=400)
    data: dict[str, Any]
    ground_truth: Any = None


class BatchCreate(_In):
    items: list[ItemIn] = Field(min_length=1)


class EstimateRequest(_In):
    """A sample of the items to label, a count of them, or both (the count scales the sample;
    without a sample, the project's latest items stand in)."""

    items: list[ItemIn] | None = Field(default=None, min_length=1, max_length=1000)
    count: int | None = Field(default=None, ge=1, le=1_000_000_000)

    @model_validator(mode="after")
    def _something_to_estimate(self) -> EstimateRequest:
        if self.items is None and self.count is None:
            raise ValueError("give a sample of items, a count, or both")
        return self


class EstimatePublic(BaseModel):
    project_id: int
    version: int
    model: str
    items: int
    sample_size: int
    items_per_request: int
    requests: int
    calls_per_request: int
    prompt_tokens: int
    cached_prompt_tokens: int
    completion_tokens: int
    prompt_tokens_per_item: float
    completion_tokens_per_item: float
    price: Price | None = Field(description="per million tokens; null when no price is known")
    cost_usd: float | None
    cost_per_item_usd: float | None
    tokenizer: str
    spent_usd: float
    spend_limit_usd: float | None


class BatchAccepted(BaseModel):
    id: int
    items: int
    created: int = Field(description="items new to the project")
    existing: int = Field(description="items whose external_id the project already had")


class RelabelAccepted(BaseModel):
    id: int = Field(description="the batch (or, for the review queue, the project) relabeled")
    version: int = Field(description="the project version the items are labeled with now")
    relabeled: int = Field(description="items put back to pending; human labels are kept")


class Usage(BaseModel):
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


class BatchPublic(BaseModel):
    id: int
    project_id: int
    status: Literal["running", "completed"]
    mode: Literal["online", "batch"]
    counts: dict[str, int]
    usage: Usage
    provider_batches: list[ProviderBatchPublic] = Field(default_factory=list)


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


class SyncLabelRequest(_In):
    items: list[ItemIn] = Field(min_length=1)


class SyncLabelResponse(BaseModel):
    batch_id: int
    items: list[ItemPublic]


class ClaimRequest(_In):
    project_id: BodyId
    lease_seconds: float | None = Field(
        default=None,
        ge=10,
        le=MAX_LEASE_SECONDS,
        description="a shorter lease than the deployment's, for a page that renews it",
    )


class Vote(BaseModel):
    reviewer: str
    value: Any
    unlabelable: bool


class ClaimResponse(BaseModel):
    item: ItemPublic
    prediction: PredictionPublic | None
    votes: list[Vote] = Field(
        default_factory=list,
        description="for an adjudicator: what the reviewers who disagreed decided",
    )
    claim_token: str
    fence: int
    lease_expires_at: str
    remaining: int


class ReviewDecision(_In):
    claim_token: str = Field(min_length=1, max_length=MAX_TOKEN_CHARS)
    decision: Literal["accept", "correct", "unlabelable"]
    value: Any = None


class ReleaseRequest(_In):
    claim_token: str = Field(min_length=1, max_length=MAX_TOKEN_CHARS)


class RenewRequest(_In):
    claim_token: str = Field(min_length=1, max_length=MAX_TOKEN_CHARS)
    lease_seconds: float | None = Field(default=None, ge=10, le=MAX_LEASE_SECONDS)


class RenewResponse(BaseModel):
    lease_expires_at: str


class CalibrationPublic(BaseModel):
    project_id: int
    version: int
    target_precision: float | None
    threshold: float | None = Field(
        description="the confidence an item needs to be accepted now; null accepts nothing"
    )
    calibrated: bool = Field(description="false until there is enough gold to judge the target")
    expected_precision: float | None
    # A list of two, not a tuple: a tuple is documented with `prefixItems`, which OpenAPI
    # tooling (schemathesis among it) does not all read.
    precision_interval: list[float] | None = Field(
        min_length=2, max_length=2, description="low and high bounds on the accepted precision"
    )
    expected_coverage: float | None
    gold: int
    reason: str | None
    audit_rate: float = Field(description="share of accepted items sent to reviewers as checks")
    confidence_method: str | None = Field(
        default=None, description="with consensus: the score items are routed by"
    )


# Keys that should never expire are left without an expiry, not given a far-off one.
MAX_EXPIRY_YEAR = 9000


class KeyCreate(_In):
    """A new key of the caller's team. It expires at `expires_at` (a time in the future; without
    a zone, UTC) or `expires_in_days` from now; with neither, it lasts until revoked."""

    name: str = Field(min_length=1, max_length=200)
    role: Role
    expires_at: datetime | None = None
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)

    @field_validator("expires_at")
    @classmethod
    def _in_the_future(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        value = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        try:
            value = value.astimezone(UTC)
        except OverflowError:  # 9999-12-31T23:59-14:00 is past the last day Python knows
            raise ValueError("must be a date before the year 9999") from None
        if value <= datetime.now(UTC):
            raise ValueError("must be in the future")
        if value.year > MAX_EXPIRY_YEAR:
            raise ValueError(f"must be before the year {MAX_EXPIRY_YEAR + 1}")
        return value

    @model_validator(mode="after")
    def _one_expiry(self) -> KeyCreate:
        if self.expires_at is not None and self.expires_in_days is not None:
            raise ValueError("give expires_at or expires_in_days, not both")
        return self


class KeyPublic(BaseModel):
    """A key as listed: never its secret or hash; `prefix` tells keys apart."""

    id: int
    name: str
    role: Role
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class KeyCreated(BaseModel):
    """A new key, with its secret: shown in this answer only, never again."""

    id: int
    key: str
    name: str
    role: Role
    prefix: str
    created_at: datetime
    expires_at: datetime | None
