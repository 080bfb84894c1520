"""The quality report of a project version: how right its labels are on gold, how well its
confidence separates right from wrong, what the threshold delivers, what audits found, what it
cost, and how it compares with the project's other versions on the same gold.

This module assembles the report from the store's rows and the pure measures; the response
models are in `labelwise.quality.report_models`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlalchemy import Connection

from labelwise.domain import Calibration, GoldRecord, ItemStatus
from labelwise.quality.estimates import gold_advice_rows, sample_estimates
from labelwise.quality.metrics import (
    accuracy_coverage,
    best_coverage,
    confusion_matrix,
    label_counts,
    per_label_scores,
    proportion,
    reliability,
    scored,
    summarize_gold,
    thinned,
)
from labelwise.quality.report_models import (
    AtThreshold,
    AuditSummary,
    Confusion,
    MethodComparison,
    QualityReport,
    UsagePerItem,
    VersionComparison,
)
from labelwise.quality.reviewing import review_agreement
from labelwise.quality.task_measures import task_measures
from labelwise.scoring.routing import effective_threshold
from labelwise.spec import ProjectSpec, TaskSpec
from labelwise.store.calibrations import version_calibration
from labelwise.store.gold import gold_by_method, gold_by_version
from labelwise.store.quality import (
    AuditedItem,
    audited_items,
    labeled_versions,
    predicted_values,
    review_decisions,
    status_counts,
    version_usage,
)
from labelwise.tasks import matches


def build_report(
    connection: Connection, *, project_id: int, version: int, spec: ProjectSpec
) -> QualityReport:
    routing, task = spec.routing, spec.task
    labels = task.label_names
    classifying = task.type == "classification"
    compared = sorted({*labeled_versions(connection, project_id=project_id), version})
    gold = gold_by_version(connection, project_id=project_id, versions_wanted=compared)
    records = list(gold[version].values())
    pairs = scored(records, task)
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
        calibration_guarantee=calibration.guarantee if calibration else None,
        calibration_advice=gold_advice_rows(calibration),
        gold=summarize_gold(records, task),
        at_threshold=_at_threshold(pairs, threshold),
        best_coverage_at_target=(
            best_coverage(pairs, routing.target_precision)
            if routing.target_precision is not None and pairs
            else None
        ),
        accuracy_coverage=thinned(accuracy_coverage(pairs)),
        reliability=reliability(pairs)[0],
        task_type=task.type,
        task_measures=task_measures(task, records),
        confusion=Confusion(labels=labels, matrix=confusion_matrix(records, labels))
        if classifying and not task.multi_label
        else None,
        per_label=per_label_scores(records, labels) if classifying else [],
        predicted_labels=label_counts(
            predicted_values(connection, project_id=project_id, version=version), task
        ),
        gold_labels=label_counts(((r.truth, 1) for r in records), task),
        items=status_counts(connection, project_id=project_id, version=version),
        usage=_usage(connection, project_id, version),
        audit=audit_summary(
            audited_items(connection, project_id=project_id, version=version),
            task,
            rate=routing.audit_rate,
        ),
        estimates=sample_estimates(
            connection, project_id=project_id, version=version, spec=spec, threshold=threshold
        ),
        versions=_compare(gold, spec),
        confidence_methods=_methods(connection, project_id, version, task, calibration),
        reviewing=review_agreement(
            review_decisions(connection, project_id=project_id, version=version), task
        ),
    )


def _methods(
    connection: Connection,
    project_id: int,
    version: int,
    task: TaskSpec,
    calibration: Calibration | None,
) -> list[MethodComparison]:
    by_method = gold_by_method(connection, project_id=project_id, version=version)
    routing_by = calibration.confidence_method if calibration else None
    return [
        MethodComparison(
            method=method, gold=summarize_gold(records, task), routing=method == routing_by
        )
        for method, records in sorted(by_method.items())
    ]


def _at_threshold(pairs: list[tuple[float, bool]], threshold: float | None) -> AtThreshold | None:
    if threshold is None or not pairs:
        return None
    accepted = [ok for confidence, ok in pairs if confidence >= threshold]
    return AtThreshold(
        threshold=threshold,
        coverage=len(accepted) / len(pairs),
        precision=proportion(sum(accepted), len(accepted)),
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


def audit_summary(audited: Sequence[AuditedItem], task: TaskSpec, *, rate: float) -> AuditSummary:
    """Accepted items sent to reviewers as spot checks: a reviewed one kept the model's label if
    the reviewers' label matches it; one the reviewers found unlabelable had a wrong label."""
    reviewed = [a for a in audited if a.status == ItemStatus.REVIEWED.value]
    failed = sum(a.status == ItemStatus.FAILED.value for a in audited)
    kept = sum(matches(task, a.value, a.label) for a in reviewed)
    return AuditSummary(
        rate=rate,
        sent=len(audited),
        decided=len(reviewed) + failed,
        precision=proportion(kept, len(reviewed) + failed),
    )


def _compare(gold: dict[int, dict[int, GoldRecord]], spec: ProjectSpec) -> list[VersionComparison]:
    """Versions are compared on the gold items every one of them labeled: a version scored on
    easier items would otherwise look better than it is."""
    labeled = [ids for ids in (set(records) for records in gold.values()) if ids]
    common = set.intersection(*labeled) if labeled else set()
    comparisons = []
    for version, records in sorted(gold.items()):
        if not records:
            continue
        shared = [records[item_id] for item_id in sorted(common)]
        pairs = scored(shared, spec.task)
        target = spec.routing.target_precision
        comparisons.append(
            VersionComparison(
                version=version,
                gold=summarize_gold(shared, spec.task),
                task_measures=task_measures(spec.task, shared),
                coverage_at_target=best_coverage(pairs, target)
                if target is not None and pairs
                else None,
            )
        )
    return comparisons
