"""The store's side of the quality report: what a version labeled, what it cost, which items were
audited, and reviewers' decisions. Rows only: the quality layer compares and counts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, String, cast, func, select

from labelwise.domain import ItemStatus
from labelwise.errors import ReviewReason
from labelwise.store.models import (
    CURRENT_PREDICTION,
    Item,
    Prediction,
    ProjectVersion,
    ReviewDecision,
)

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
class AuditedItem:
    """An accepted item sent to reviewers as a spot check: where it stands now, the reviewers'
    label (once reviewed) and the model's."""

    status: str
    label: Any
    value: Any


def audited_items(connection: Connection, *, project_id: int, version: int) -> list[AuditedItem]:
    rows = connection.execute(
        select(items.c.status, items.c.label_value, predictions.c.value)
        .join(
            predictions,
            CURRENT_PREDICTION,
        )
        .where(
            items.c.project_id == project_id,
            items.c.version == version,
            items.c.reason == ReviewReason.AUDIT.value,
        )
    ).all()
    return [AuditedItem(status, label, value) for status, label, value in rows]


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
