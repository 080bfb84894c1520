"""The quality report as the API returns it: one model that the JSON endpoint and the HTML page
both render. The figures themselves are computed in `labelwise.quality.metrics`,
`labelwise.quality.reviewing` and assembled by `labelwise.quality.report`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from labelwise.quality.metrics import (
    CurvePoint,
    GoldSummary,
    LabelScores,
    Proportion,
    ReliabilityBin,
)
from labelwise.quality.task_measure_models import TaskMeasures
from labelwise.spec import RoutingSpec


class AtThreshold(BaseModel):
    """What the threshold in force accepts of the gold, and how many of those are right."""

    threshold: float
    coverage: float
    precision: Proportion


class Confusion(BaseModel):
    labels: list[str]
    matrix: list[list[int]] = Field(description="rows: the true label; columns: the model's")


class UsagePerItem(BaseModel):
    items: int
    prompt_tokens_per_item: float | None
    cached_prompt_tokens_per_item: float | None
    completion_tokens_per_item: float | None
    cost_per_item_usd: float | None
    cost_usd: float


class AuditSummary(BaseModel):
    rate: float
    sent: int = Field(description="accepted items sent to reviewers as spot checks")
    decided: int
    precision: Proportion = Field(description="share of audited labels the reviewers kept")


class VersionComparison(BaseModel):
    version: int
    gold: GoldSummary
    coverage_at_target: float | None = Field(
        description="the most a threshold could accept at the target precision, on this gold"
    )
    task_measures: TaskMeasures | None = Field(
        default=None, description="the task type's own measures on the same gold"
    )


class MethodComparison(BaseModel):
    """One way of scoring confidence (consensus), measured on the version's gold."""

    method: str
    gold: GoldSummary
    routing: bool = Field(description="whether items are routed by this score")


class ReviewerStats(BaseModel):
    reviewer: str
    decisions: int
    items_per_hour: float | None = Field(
        description="decisions per hour of time spent on items (each capped at 10 minutes)"
    )
    agreement_with_final: Proportion = Field(
        description="share of this reviewer's decisions on final items that match the final label"
    )


class ReviewAgreement(BaseModel):
    items_with_several: int = Field(description="items decided by two reviewers or more")
    statistic: str | None = Field(description="cohen (two reviewers an item) or fleiss (more)")
    kappa: float | None
    per_label: dict[str, float | None] = Field(
        description="kappa on whether each label applies, one label against the rest"
    )
    reviewers: list[ReviewerStats]


class SampleEstimate(BaseModel):
    """A figure about every item, estimated from a sample reviewers settled, with its interval
    and the sample it comes from (`labelwise.quality.estimates`)."""

    measure: Literal["accepted_precision", "dataset_error"] = Field(
        description="accepted_precision: share of accepted labels that are right; dataset_error: "
        "share of the final labels that are wrong (labels decided by reviewers counted right)"
    )
    sample: Literal["audit", "guarantee", "gold sent with items"]
    method: str
    value: float | None
    low: float
    high: float
    n: int = Field(description="the sampled items it rests on")
    drawn: int = Field(description="the items drawn into the sample, settled or not")
    population: int = Field(description="the items it speaks for")


class SampleEstimates(BaseModel):
    level: float = Field(description="the probability each interval holds the true share")
    estimates: list[SampleEstimate]
    note: str


class GoldAdviceRow(BaseModel):
    """About `gold` gold items would certify `coverage`, if the model keeps the precision it
    shows."""

    coverage: float
    gold: int


class QualityReport(BaseModel):
    project_id: int
    version: int
    generated_at: float
    routing: RoutingSpec
    threshold: float | None
    calibrated: bool
    calibration_note: str | None
    calibration_guarantee: float | None = Field(
        default=None, description="the probability with which the threshold reaches the target"
    )
    calibration_advice: list[GoldAdviceRow] = Field(
        default_factory=list,
        description="without a certified threshold: how much gold would certify which coverage",
    )
    gold: GoldSummary
    at_threshold: AtThreshold | None
    best_coverage_at_target: float | None
    accuracy_coverage: list[CurvePoint]
    reliability: list[ReliabilityBin]
    task_type: str
    task_measures: TaskMeasures | None = Field(
        description="the task type's own measures (spans, extraction, rating, pairwise)"
    )
    confusion: Confusion | None = Field(description="single-label classification only")
    per_label: list[LabelScores] = Field(description="classification only")
    predicted_labels: dict[str, int]
    gold_labels: dict[str, int]
    items: dict[str, int] = Field(description="the version's items by status (and review reason)")
    usage: UsagePerItem
    audit: AuditSummary
    estimates: SampleEstimates | None = Field(
        default=None, description="estimates from random samples (audits, guarantee samples)"
    )
    versions: list[VersionComparison] = Field(
        description="every labeled version, measured on the gold items all of them labeled"
    )
    confidence_methods: list[MethodComparison] = Field(
        description="with consensus: logprob, agreement and combined scores on the same gold"
    )
    reviewing: ReviewAgreement
