"""The store's side of the quality report: what a version labeled, what it cost, what audits
found, and which gold every version has scored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, String, cast, func, select

from labelwise.domain import ItemStatus
from labelwise.errors import ReviewReason
from labelwise.quality.metrics import same_label
from labelwise.store.models import Item, Prediction, ProjectVersion, ReviewDecision

decisions = ReviewDecision.__table__
items = Item.__table__
predictions = Prediction.__table__
versions = ProjectVersion.__table__


@dataclass(frozen=True)
class VersionUsage:
    items: int
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    cost_usd: float


def version_usage(connection: Connection, *, project_id: int, version: int) -> VersionUsage:
    row = connection.execute(
        select(
            func.count(),
            func.coalesce(func.sum(predictions.c.prompt_tokens), 0),
            func.coalesce(func.sum(predictions.c.cached_tokens), 0),
            func.coalesce(func.sum(predictions.c.completion_tokens), 0),
            func.coalesce(func.sum(predictions.c.cost_usd), 0.0),
        )
        .select_from(predictions.join(items, items.c.id == predictions.c.item_id))
        .where(items.c.project_id == project_id, predictions.c.version == version)
    ).one()
    return VersionUsage(int(row[0]), int(row[1]), int(row[2]), int(row[3]), float(row[4]))


def predicted_values(
    connection: Connection, *, project_id: int, version: int
) -> list[tuple[Any, int]]:
    """Each distinct label value the version predicted and how often. Grouped as JSON text:
    PostgreSQL cannot compare `json` values, and text groups the same way on both stores."""
    import json

    as_text = cast(predictions.c.value, String)
    rows = connection.execute(
        select(as_text, func.count())
        .select_from(predictions.join(items, items.c.id == predictions.c.item_id))
        .where(
            items.c.project_id == project_id,
            predictions.c.version == version,
            predictions.c.value.is_not(None),
        )
        .group_by(as_text)
    ).all()
    return [(json.loads(text), n) for text, n in rows if text is not None]


def status_counts(connection: Connection, *, project_id: int, version: int) -> dict[str, int]:
    """Where the version's items stand now, by status and review reason."""
    rows = connection.execute(
        select(items.c.status, items.c.reason, func.count())
        .where(items.c.project_id == project_id, items.c.version == version)
        .group_by(items.c.status, items.c.reason)
    ).all()
    counts: dict[str, int] = {}
    for status, reason, n in rows:
        key = f"{status}:{reason}" if status == ItemStatus.REVIEW.value and reason else status
        counts[key] = counts.get(key, 0) + n
    return counts


@dataclass(frozen=True)
class AuditVerdicts:
    """Accepted items sent to reviewers as spot checks: how many, how many decided, and how many
    of the model's labels the reviewers kept."""

    sent: int
    decided: int
    agreed: int


def audit_verdicts(connection: Connection, *, project_id: int, version: int) -> AuditVerdicts:
    rows = connection.execute(
        select(items.c.status, items.c.label_value, predictions.c.value)
        .join(
            predictions,
            (predictions.c.item_id == items.c.id) & (predictions.c.version == items.c.version),
        )
        .where(
            items.c.project_id == project_id,
            items.c.version == version,
            items.c.reason == ReviewReason.AUDIT.value,
        )
    ).all()
    decided = agreed = 0
    for status, human, model in rows:
        if status == ItemStatus.REVIEWED.value:
            decided += 1
            agreed += same_label(model, human)
        elif status == ItemStatus.FAILED.value:
            decided += 1  # the reviewer found the item unlabelable: the accepted label was wrong
    return AuditVerdicts(sent=len(rows), decided=decided, agreed=agreed)


def labeled_versions(connection: Connection, *, project_id: int) -> list[int]:
    """Versions of the project that have labeled anything, oldest first."""
    rows = connection.execute(
        select(versions.c.version)
        .where(versions.c.project_id == project_id)
        .where(
            select(predictions.c.id)
            .join(items, items.c.id == predictions.c.item_id)
            .where(items.c.project_id == project_id, predictions.c.version == versions.c.version)
            .exists()
        )
        .order_by(versions.c.version)
    ).all()
    return [row[0] for row in rows]


@dataclass(frozen=True)
class DecisionRecord:
    """One reviewer's decision, with the item's final state, for agreement and pace."""

    item_id: int
    reviewer: str
    value: Any
    unlabelable: bool
    adjudication: bool
    claimed_at: float | None
    decided_at: float
    item_status: str
    item_label: Any


def review_decisions(
    connection: Connection, *, project_id: int, version: int
) -> list[DecisionRecord]:
    rows = connection.execute(
        select(
            decisions.c.item_id,
            decisions.c.reviewer_name,
            decisions.c.value,
            decisions.c.unlabelable,
            decisions.c.adjudication,
            decisions.c.claimed_at,
            decisions.c.decided_at,
            items.c.status,
            items.c.label_value,
        )
        .join(items, items.c.id == decisions.c.item_id)
        .where(items.c.project_id == project_id, items.c.version == version)
        .order_by(decisions.c.id)
    ).all()
    return [DecisionRecord(*row) for row in rows]
