"""A batch's dataset-error guarantee as stored: reading it (locked when routing by it), the sample's
progress and verdicts, the items held for it, and writing the certified cut.

Routing reads a batch's guarantee under a row lock in the transaction that writes labels, and the
step that certifies the cut takes the same lock, so an item is never held by a guarantee that has
already been settled: either it is written first (and released by the settling step) or it sees
the cut. What the cut should be is decided in `labelwise.scoring.dataset_error`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, or_, select, update

from labelwise.domain import BatchGuarantee, ItemStatus, RoutedItem
from labelwise.errors import ReviewReason
from labelwise.spec import ProjectSpec
from labelwise.store.models import (
    CURRENT_PREDICTION,
    SAMPLED_GUARANTEE,
    Batch,
    Item,
    Prediction,
    ProjectVersion,
)

batches = Batch.__table__
versions = ProjectVersion.__table__
items = Item.__table__
predictions = Prediction.__table__

# A sampled item still waiting for its reviewers (or an adjudicator).
_SAMPLE_IN_REVIEW = (ReviewReason.GUARANTEE_SAMPLE.value, ReviewReason.DISAGREEMENT.value)


def batch_guarantees(
    connection: Connection, batch_ids: Iterable[int], *, lock: bool = False
) -> dict[int, BatchGuarantee | None]:
    """Each batch's guarantee (None: its project had no dataset-error target when it was posted).
    With `lock`, the rows stay locked until the transaction ends (PostgreSQL)."""
    found: dict[int, BatchGuarantee | None] = {}
    for batch_id in sorted(set(batch_ids)):
        statement = select(batches.c.guarantee).where(batches.c.id == batch_id)
        if lock:
            statement = statement.with_for_update()
        stored = connection.execute(statement).scalar_one_or_none()
        found[batch_id] = BatchGuarantee.from_json(stored) if stored else None
    return found


def batch_spec(connection: Connection, *, batch_id: int) -> ProjectSpec | None:
    """The spec the batch's items were posted under (their newest version, if relabeled)."""
    row = connection.execute(
        select(versions.c.spec)
        .join(items, (items.c.project_id == versions.c.project_id))
        .where(items.c.batch_id == batch_id, versions.c.version == items.c.version)
        .order_by(versions.c.version.desc())
        .limit(1)
    ).one_or_none()
    return ProjectSpec.model_validate(row[0]) if row is not None else None


def store_guarantee(connection: Connection, *, batch_id: int, guarantee: BatchGuarantee) -> None:
    connection.execute(
        update(batches)
        .where(batches.c.id == batch_id)
        .values(guarantee=guarantee.to_json(), awaiting_sample=not guarantee.settled)
    )


def batches_awaiting_sample(connection: Connection, *, limit: int = 100) -> list[tuple[int, int]]:
    """(batch id, project id) of batches whose sample is not yet known to be reviewed."""
    rows = connection.execute(
        select(batches.c.id, batches.c.project_id)
        .where(batches.c.awaiting_sample.is_(True))
        .order_by(batches.c.id)
        .limit(limit)
    ).all()
    return [(batch_id, project_id) for batch_id, project_id in rows]


@dataclass(frozen=True)
class SampleProgress:
    """How far a batch is from settling: items not yet labeled, sampled items still in review."""

    unlabeled: int
    sample_in_review: int

    @property
    def complete(self) -> bool:
        return self.unlabeled == 0 and self.sample_in_review == 0


def sample_progress(connection: Connection, *, batch_id: int) -> SampleProgress:
    unlabeled = _count(connection, batch_id, items.c.status == ItemStatus.PENDING.value)
    in_review = _count(
        connection,
        batch_id,
        (items.c.sampled == SAMPLED_GUARANTEE)
        & (items.c.status == ItemStatus.REVIEW.value)
        & items.c.reason.in_(_SAMPLE_IN_REVIEW),
    )
    return SampleProgress(unlabeled, in_review)


def _count(connection: Connection, batch_id: int, condition: Any) -> int:
    return connection.execute(
        select(func.count()).select_from(items).where(items.c.batch_id == batch_id, condition)
    ).scalar_one()


@dataclass(frozen=True)
class SampleVerdict:
    """A sampled item as reviewers settled it, beside the model's prediction."""

    confidence: float | None
    model_value: Any
    reviewed_value: Any
    unlabelable: bool


def sample_verdicts(connection: Connection, *, batch_id: int) -> list[SampleVerdict]:
    """The batch's sampled items that reviewers have settled (labeled or marked unlabelable)."""
    rows = connection.execute(
        select(predictions.c.confidence, predictions.c.value, items.c.label_value, items.c.status)
        .join(
            predictions,
            CURRENT_PREDICTION,
        )
        .where(
            items.c.batch_id == batch_id,
            items.c.sampled == SAMPLED_GUARANTEE,
            or_(
                items.c.status == ItemStatus.REVIEWED.value,
                items.c.status == ItemStatus.FAILED.value,
            ),
        )
    ).all()
    return [
        SampleVerdict(confidence, value, label, status == ItemStatus.FAILED.value)
        for confidence, value, label, status in rows
    ]


def held_page(
    connection: Connection, *, batch_id: int, after_id: int | None, limit: int
) -> list[tuple[RoutedItem, int]]:
    """Up to `limit` held items of the batch with ids above `after_id`, in id order, each with
    its version."""
    rows = connection.execute(
        select(
            items.c.id,
            items.c.version,
            predictions.c.value,
            predictions.c.confidence,
        )
        .join(
            predictions,
            CURRENT_PREDICTION,
        )
        .where(
            items.c.batch_id == batch_id,
            items.c.status == ItemStatus.HELD.value,
            items.c.id > after_id if after_id is not None else items.c.id.is_not(None),
        )
        .order_by(items.c.id)
        .limit(limit)
    ).all()
    return [
        (RoutedItem(item_id, ItemStatus.HELD, None, None, None, value, confidence), version)
        for item_id, version, value, confidence in rows
    ]
