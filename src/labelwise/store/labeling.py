"""The worker's side of the store: claiming delivered items, writing outcomes, finding lost work.

Every write here is conditional on the item still being `pending`, so a job that RQ delivers twice,
or a worker that wakes up after its lease was handed on, can never write a second final label.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, bindparam, or_, select, update

from labelwise.domain import ItemStatus, LabelSource, OutcomeRow
from labelwise.errors import ReviewReason
from labelwise.scrub import scrub_secrets
from labelwise.store.dialect import insert_ignoring_conflicts
from labelwise.store.models import Item, Prediction
from labelwise.store.spend import add_spend

items = Item.__table__
predictions = Prediction.__table__


@dataclass(frozen=True)
class ClaimedItem:
    id: int
    project_id: int
    batch_id: int
    version: int
    data: dict[str, Any]
    gold: bool = False
    content_hash: str | None = None


# What a worker reads of an item it labels, in `ClaimedItem`'s order.
CLAIMED_COLUMNS = (
    items.c.id,
    items.c.project_id,
    items.c.batch_id,
    items.c.version,
    items.c.data,
    items.c.gold,
    items.c.content_hash,
)


def still_owned(item_ids: Sequence[int], owner: str) -> Any:
    """Items among `item_ids` still pending and still leased to `owner`."""
    return and_(
        items.c.id.in_(list(item_ids)),
        items.c.status == ItemStatus.PENDING.value,
        items.c.lease_owner == owner,
    )


def claim_delivered_items(
    connection: Connection, *, job_id: str, item_ids: Sequence[int], lease_until: float
) -> list[ClaimedItem]:
    """Take the items this job still owns; items handed to another job or finished are skipped."""
    if not item_ids:
        return []
    statement = (
        update(items)
        .where(still_owned(item_ids, job_id))
        .values(lease_expires_at=lease_until, deliveries=items.c.deliveries + 1)
        .returning(*CLAIMED_COLUMNS)
    )
    return [ClaimedItem(*row) for row in connection.execute(statement)]


def extend_leases(
    connection: Connection, *, job_id: str, item_ids: Sequence[int], lease_until: float
) -> None:
    """Heartbeat: items still in flight keep their lease so the reconciler leaves them alone."""
    if item_ids:
        connection.execute(
            update(items).where(still_owned(item_ids, job_id)).values(lease_expires_at=lease_until)
        )


def record_outcomes(connection: Connection, rows: Sequence[OutcomeRow], *, now: float) -> int:
    """Write predictions and final states; returns how many items this call finished, as the
    driver counts them (informational: under concurrent writers psycopg may undercount).

    Rows are written in item order, so two deliveries of one chunk finishing in different orders
    take their row locks in the same order and cannot deadlock on PostgreSQL.
    """
    if not rows:
        return 0
    rows = sorted(rows, key=lambda row: row.item_id)
    connection.execute(
        insert_ignoring_conflicts(connection, predictions, index_elements=["item_id", "version"]),
        [_prediction_values(row) for row in rows],
    )
    finished = connection.execute(
        _FINISH_PENDING, [_final_state_params(row, now) for row in rows]
    ).rowcount
    # Money spent is spent whether or not this write won: a second delivery paid for its calls.
    add_spend(connection, ((row.batch_id, row.cost_usd) for row in rows))
    return finished


def _prediction_values(row: OutcomeRow) -> dict[str, Any]:
    """The prediction row: kept even when another delivery already finished the item."""
    return {
        "item_id": row.item_id,
        "batch_id": row.batch_id,
        "version": row.version,
        "value": row.value,
        "confidence": row.confidence,
        "method": row.method,
        "per_label": row.per_label,
        "model": row.model,
        "prompt_tokens": row.prompt_tokens,
        "cached_tokens": row.cached_tokens,
        "completion_tokens": row.completion_tokens,
        "cost_usd": row.cost_usd,
        "latency_ms": row.latency_ms,
        "attempts": row.attempts,
        # The kind of failure, when labeling failed; a low score is a reason, not an error.
        "error_kind": row.reason.value if row.reason and row.error_message else None,
        "error_message": scrub_secrets(row.error_message),
        "rationale": row.rationale,
        "scores": row.scores,
        "cache_hit": row.cache_hit,
        "parts": row.parts,
        "review_reason": row.review_reason.value if row.review_reason else None,
    }


# The item's final state, written only while it is still pending: the first write wins.
_FINISH_PENDING = (
    update(items)
    .where(items.c.id == bindparam("b_id"), items.c.status == ItemStatus.PENDING.value)
    .values(
        status=bindparam("b_status"),
        reason=bindparam("b_reason"),
        label_value=bindparam("b_value"),
        label_confidence=bindparam("b_confidence"),
        label_source=bindparam("b_source"),
        labeled_at=bindparam("b_labeled_at"),
        sampled=bindparam("b_sampled"),
        sample_probability=bindparam("b_sample_probability"),
        review_rank=bindparam("b_review_rank"),
        lease_owner=None,
        lease_expires_at=None,
    )
)


def _final_state_params(row: OutcomeRow, now: float) -> dict[str, Any]:
    """Only an accepted item carries the model's label; others wait for a reviewer."""
    accepted = row.status is ItemStatus.ACCEPTED
    return {
        "b_id": row.item_id,
        "b_status": row.status.value,
        "b_reason": row.reason.value if row.reason else None,
        "b_value": row.value if accepted else None,
        "b_confidence": row.confidence if accepted else None,
        "b_source": LabelSource.MODEL.value if accepted else None,
        "b_labeled_at": now if accepted else None,
        "b_sampled": row.sampled,
        "b_sample_probability": row.sample_probability,
        "b_review_rank": row.review_rank,
    }


@dataclass(frozen=True)
class ExpiredItem:
    id: int
    lease_owner: str | None
    deliveries: int


def find_expired_leases(connection: Connection, *, now: float, limit: int) -> list[ExpiredItem]:
    rows = connection.execute(
        select(items.c.id, items.c.lease_owner, items.c.deliveries)
        .where(
            items.c.status == ItemStatus.PENDING.value,
            or_(items.c.lease_expires_at.is_(None), items.c.lease_expires_at < now),
        )
        .order_by(items.c.id)
        .limit(limit)
    )
    return [ExpiredItem(*row) for row in rows]


def _still_expired(item_ids: Sequence[int], now: float) -> Any:
    return and_(
        items.c.id.in_(list(item_ids)),
        items.c.status == ItemStatus.PENDING.value,
        or_(items.c.lease_expires_at.is_(None), items.c.lease_expires_at < now),
    )


def reassign_expired(
    connection: Connection, *, item_ids: Sequence[int], job_id: str, now: float, lease_until: float
) -> list[int]:
    """Hand expired items to a new job. Two reconcilers racing: only one wins each item."""
    if not item_ids:
        return []
    result = connection.execute(
        update(items)
        .where(_still_expired(item_ids, now))
        .values(lease_owner=job_id, lease_expires_at=lease_until)
        .returning(items.c.id)
    )
    return [row[0] for row in result]


def extend_expired(
    connection: Connection, *, item_ids: Sequence[int], now: float, lease_until: float
) -> None:
    """Items whose job is still waiting in the queue keep their owner and get more time."""
    if item_ids:
        connection.execute(
            update(items).where(_still_expired(item_ids, now)).values(lease_expires_at=lease_until)
        )


def send_to_review(
    connection: Connection, *, item_ids: Sequence[int], now: float, reason: ReviewReason
) -> int:
    """Items that no delivery could finish go to a human rather than loop forever."""
    if not item_ids:
        return 0
    return connection.execute(
        update(items)
        .where(_still_expired(item_ids, now))
        .values(
            status=ItemStatus.REVIEW.value,
            reason=reason.value,
            # No label to check: as likely wrong as any (see `scoring.routing.review_rank`).
            review_rank=0.0,
            lease_owner=None,
            lease_expires_at=None,
        )
    ).rowcount


def expire_delivery(connection: Connection, *, job_ids: Sequence[str]) -> None:
    """The enqueue after a commit failed: the reconciler picks these items up on its next pass."""
    if job_ids:
        connection.execute(
            update(items)
            .where(
                items.c.lease_owner.in_(list(job_ids)),
                items.c.status == ItemStatus.PENDING.value,
            )
            .values(lease_expires_at=0.0)
        )


def hand_back_items(
    connection: Connection,
    *,
    job_id: str,
    item_ids: Sequence[int],
    to_job: str,
    lease_until: float,
) -> list[int]:
    """A stopping worker passes the items it still owns to a new delivery. The delivery it
    gives up does not count against `max_deliveries`: nothing failed."""
    if not item_ids:
        return []
    result = connection.execute(
        update(items)
        .where(still_owned(item_ids, job_id))
        .values(
            lease_owner=to_job,
            lease_expires_at=lease_until,
            deliveries=items.c.deliveries - 1,
        )
        .returning(items.c.id)
    )
    return [row[0] for row in result]
