"""Projects as created, edited and shown, built from the project definition in `labelwise.spec`,
and what the API tells about a project's calibration and the cost of labeling with it."""

from __future__ import annotations

from pydantic import BaseModel, Field, create_model, model_validator

from labelwise.api.bounds import MAX_USD
from labelwise.api.schemas.derive import optional_fields, required_fields
from labelwise.api.schemas.items import ItemIn
from labelwise.spec import CascadeSpec, Price, ProjectParts, StrictModel


class _ProjectName(StrictModel):
    name: str = Field(min_length=1, max_length=200)


# Fields follow the bases from last to first: the name, then the definition's parts.
class ProjectCreate(ProjectParts, _ProjectName):
    # US dollars in all, estimated before each batch; not versioned.
    spend_limit_usd: float | None = Field(default=None, ge=0, le=MAX_USD)


# Any of ProjectCreate's fields. For spend_limit_usd, null removes the limit and leaving it out
# keeps it.
ProjectUpdate = create_model(
    "ProjectUpdate",
    __base__=StrictModel,
    __doc__="Any of these; a change to anything but the name makes a new version.",
    **optional_fields(ProjectCreate),
)

# A part that may be absent from a definition (a cascade) is shown as null rather than left out.
_SHOWN_PARTS = {
    **required_fields(ProjectParts),
    "cascade": (CascadeSpec | None, Field(default=None, description="null: no cascade")),
}

ProjectPublic = create_model(
    "ProjectPublic",
    id=(int, ...),
    name=(str, ...),
    version=(int, ...),
    **_SHOWN_PARTS,
    spend_limit_usd=(float | None, ...),
    spent_usd=(float, Field(description="what the project's LLM calls have cost, in all")),
    accept_threshold=(
        float | None,
        Field(description="the threshold in force; null while a target precision awaits gold"),
    ),
    created_at=(str, ...),
    updated_at=(str, ...),
)


class EstimateRequest(StrictModel):
    """A sample of the items to label, a count of them, or both (the count scales the sample;
    without a sample, the project's latest items stand in)."""

    items: list[ItemIn] | None = Field(default=None, min_length=1, max_length=1000)
    count: int | None = Field(default=None, ge=1, le=1_000_000_000)

    @model_validator(mode="after")
    def _something_to_estimate(self) -> EstimateRequest:
        if self.items is None and self.count is None:
            raise ValueError("give a sample of items, a count, or both")
        return self


class CascadeEstimatePublic(BaseModel):
    model: str
    escalated_share: float = Field(description="the share of items assumed escalated")
    items: int
    requests: int
    prompt_tokens: int
    cached_prompt_tokens: int
    completion_tokens: int
    price: Price | None = Field(description="per million tokens; null when no price is known")
    cost_usd: float | None
    cost_usd_all_escalated: float | None = Field(description="the bound: every item escalated")


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
    cascade: CascadeEstimatePublic | None = Field(
        default=None,
        description="with a model cascade: its second step, included in the totals above",
    )
    spent_usd: float
    spend_limit_usd: float | None


class GoldAdvicePublic(BaseModel):
    coverage: float = Field(description="the share of items that could be accepted")
    gold: int = Field(description="about how many gold items would certify it")


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
    guarantee: float | None = Field(
        default=None, description="the probability with which the threshold reaches the target"
    )
    advice: list[GoldAdvicePublic] = Field(
        default_factory=list,
        description="without a certified threshold: about how much gold (drawn like the gold so "
        "far) would certify which coverage, if the model keeps the precision it shows",
    )
