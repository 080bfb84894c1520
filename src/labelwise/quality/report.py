"""The quality report of a project version: how right its labels are on gold, how well its
confidence separates right from wrong, what the threshold delivers, what audits found, what it
cost, and how it compares with the project's other versions on the same gold.

The JSON endpoint and the HTML page both render this one model.
"""

from __future__ import annotations

import time

from pydantic import BaseModel, Field
from sqlalchemy import Connection

from labelwise.domain import ItemStatus
from labelwise.quality.metrics import (
    CurvePoint,
    Estimate,
    GoldRecord,
    GoldSummary,
    LabelScores,
    ReliabilityBin,
    accuracy_coverage,
    best_coverage,
    confusion_matrix,
    estimate,
    label_counts,
    per_label_scores,
    reliability,
    same_label,
    scored,
    summarize_gold,
    thinned,
)
from labelwise.review.kappa import kappa, per_label_kappa
from labelwise.review.verdict import UNLABELABLE
from labelwise.scoring.calibration import Calibration
from labelwise.scoring.routing import effective_threshold
from labelwise.spec import ProjectSpec, RoutingSpec
from labelwise.store.calibrations import version_calibration
from labelwise.store.gold import gold_by_method, gold_by_version
from labelwise.store.quality import (
    DecisionRecord,
    audit_verdicts,
    labeled_versions,
    predicted_values,
    review_decisions,
    status_counts,
    version_usage,
)


class AtThreshold(BaseModel):
    """What the threshold in force accepts of the gold, and how many of those are right."""

    threshold: float
    coverage: float
    precision: Estimate


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
    precision: Estimate = Field(description="share of audited labels the reviewers kept")


class VersionComparison(BaseModel):
    version: int
    gold: GoldSummary
    coverage_at_target: float | None = Field(
        description="the most a threshold could accept at the target precision, on this gold"
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
    agreement_with_final: Estimate = Field(
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


class QualityReport(BaseModel):
    project_id: int
    version: int
    generated_at: float
    routing: RoutingSpec
    threshold: float | None
    calibrated: bool
    calibration_note: str | None
    gold: GoldSummary
    at_threshold: AtThreshold | None
    best_coverage_at_target: float | None
    accuracy_coverage: list[CurvePoint]
    reliability: list[ReliabilityBin]
    confusion: Confusion | None
    per_label: list[LabelScores]
    predicted_labels: dict[str, int]
    gold_labels: dict[str, int]
    items: dict[str, int] = Field(description="the version's items by status (and review reason)")
    usage: UsagePerItem
    audit: AuditSummary
    versions: list[VersionComparison] = Field(
        description="every labeled version, measured on the gold items all of them labeled"
    )
    confidence_methods: list[MethodComparison] = Field(
        description="with consensus: logprob, agreement and combined scores on the same gold"
    )
    reviewing: ReviewAgreement


def build_report(
    connection: Connection, *, project_id: int, version: int, spec: ProjectSpec
) -> QualityReport:
    routing = spec.routing
    labels = spec.task.label_names
    compared = sorted({*labeled_versions(connection, project_id=project_id), version})
    gold = gold_by_version(connection, project_id=project_id, versions_wanted=compared)
    records = list(gold[version].values())
    pairs = scored(records)
    calibration = version_calibration(connection, project_id=project_id, version=version, spec=spec)
    threshold = effective_threshold(routing, calibration)
    return QualityReport(
        project_id=project_id,
        version=version,
        generated_at=time.time(),
        routing=routing,
        threshold=threshold,
        calibrated=routing.accept_threshold is not None
        or (calibration is not None and calibration.calibrated),
        calibration_note=calibration.reason if calibration else None,
        gold=summarize_gold(records),
        at_threshold=_at_threshold(pairs, threshold),
        best_coverage_at_target=(
            best_coverage(pairs, routing.target_precision)
            if routing.target_precision is not None and pairs
            else None
        ),
        accuracy_coverage=thinned(accuracy_coverage(pairs)),
        reliability=reliability(pairs)[0],
        confusion=None
        if spec.task.multi_label
        else Confusion(labels=labels, matrix=confusion_matrix(records, labels)),
        per_label=per_label_scores(records, labels),
        predicted_labels=label_counts(
            predicted_values(connection, project_id=project_id, version=version)
        ),
        gold_labels=label_counts((r.truth, 1) for r in records),
        items=status_counts(connection, project_id=project_id, version=version),
        usage=_usage(connection, project_id, version),
        audit=_audit(connection, project_id, version, routing),
        versions=_compare(gold, routing),
        confidence_methods=_methods(connection, project_id, version, calibration),
        reviewing=_reviewing(
            review_decisions(connection, project_id=project_id, version=version), labels
        ),
    )


# A decision that took longer than this counts as this long: the reviewer was away.
_MAX_SECONDS_PER_DECISION = 600.0


def _as_category(record: DecisionRecord) -> frozenset[str]:
    if record.unlabelable:
        return frozenset({UNLABELABLE})
    value = record.value
    return frozenset(map(str, value)) if isinstance(value, list) else frozenset({str(value)})


def _reviewing(records: list[DecisionRecord], labels: list[str]) -> ReviewAgreement:
    by_item: dict[int, list[frozenset[str]]] = {}
    for record in records:
        if not record.adjudication:
            by_item.setdefault(record.item_id, []).append(_as_category(record))
    several = [ratings for ratings in by_item.values() if len(ratings) >= 2]
    statistic = None
    if several:
        statistic = "cohen" if all(len(r) == 2 for r in several) else "fleiss"
    by_reviewer: dict[str, list[DecisionRecord]] = {}
    for record in records:
        by_reviewer.setdefault(record.reviewer, []).append(record)
    return ReviewAgreement(
        items_with_several=len(several),
        statistic=statistic,
        kappa=kappa(several) if several else None,
        per_label=per_label_kappa(several, labels) if several else {},
        reviewers=[_reviewer(name, mine) for name, mine in sorted(by_reviewer.items())],
    )


def _reviewer(name: str, mine: list[DecisionRecord]) -> ReviewerStats:
    timed = [r.decided_at - r.claimed_at for r in mine if r.claimed_at is not None]
    active = sum(min(max(seconds, 0.0), _MAX_SECONDS_PER_DECISION) for seconds in timed)
    final = [
        r for r in mine if r.item_status in (ItemStatus.REVIEWED.value, ItemStatus.FAILED.value)
    ]
    agreed = sum(
        (r.unlabelable and r.item_status == ItemStatus.FAILED.value)
        or (not r.unlabelable and same_label(r.value, r.item_label))
        for r in final
    )
    return ReviewerStats(
        reviewer=name,
        decisions=len(mine),
        items_per_hour=round(len(timed) * 3600 / active, 1) if active > 0 else None,
        agreement_with_final=estimate(agreed, len(final)),
    )


def _methods(
    connection: Connection, project_id: int, version: int, calibration: Calibration | None
) -> list[MethodComparison]:
    by_method = gold_by_method(connection, project_id=project_id, version=version)
    routing_by = calibration.confidence_method if calibration else None
    return [
        MethodComparison(method=method, gold=summarize_gold(records), routing=method == routing_by)
        for method, records in sorted(by_method.items())
    ]


def _at_threshold(pairs: list[tuple[float, bool]], threshold: float | None) -> AtThreshold | None:
    if threshold is None or not pairs:
        return None
    accepted = [ok for confidence, ok in pairs if confidence >= threshold]
    return AtThreshold(
        threshold=threshold,
        coverage=len(accepted) / len(pairs),
        precision=estimate(sum(accepted), len(accepted)),
    )


def _usage(connection: Connection, project_id: int, version: int) -> UsagePerItem:
    usage = version_usage(connection, project_id=project_id, version=version)

    def per_item(total: float) -> float | None:
        return round(total / usage.items, 6) if usage.items else None

    return UsagePerItem(
        items=usage.items,
        prompt_tokens_per_item=per_item(usage.prompt_tokens),
        cached_prompt_tokens_per_item=per_item(usage.cached_tokens),
        completion_tokens_per_item=per_item(usage.completion_tokens),
        cost_per_item_usd=per_item(usage.cost_usd),
        cost_usd=round(usage.cost_usd, 6),
    )


def _audit(
    connection: Connection, project_id: int, version: int, routing: RoutingSpec
) -> AuditSummary:
    verdicts = audit_verdicts(connection, project_id=project_id, version=version)
    return AuditSummary(
        rate=routing.audit_rate,
        sent=verdicts.sent,
        decided=verdicts.decided,
        precision=estimate(verdicts.agreed, verdicts.decided),
    )


def _compare(
    gold: dict[int, dict[int, GoldRecord]], routing: RoutingSpec
) -> list[VersionComparison]:
    """Versions are compared on the gold items every one of them labeled: a version scored on
    easier items would otherwise look better than it is."""
    labeled = [ids for ids in (set(records) for records in gold.values()) if ids]
    common = set.intersection(*labeled) if labeled else set()
    comparisons = []
    for version, records in sorted(gold.items()):
        if not records:
            continue
        shared = [records[item_id] for item_id in sorted(common)]
        pairs = scored(shared)
        comparisons.append(
            VersionComparison(
                version=version,
                gold=summarize_gold(shared),
                coverage_at_target=best_coverage(pairs, routing.target_precision)
                if routing.target_precision is not None and pairs
                else None,
            )
        )
    return comparisons
