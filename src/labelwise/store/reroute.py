"""The rows a new calibration may route again, and writing what was decided for them.

Only items whose standing rests on the model's score are read: accepted by the model, or waiting
unclaimed in review for a low or uncalibrated score. Human decisions, audits, failures and claimed
items are never read, and a write changes an item only if it is still as it was read, so a
reviewer's claim taken meanwhile wins. Reads go by pages in id order: a version may hold millions
of items.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, bindparam, or_, select, true, update

from labelwise.domain import ItemStatus, LabelSource, RoutedItem, RoutingDecision, Scored
from labelwise.errors import ReviewReason
from labelwise.store.models import CURRENT_PREDICTION, Item, Prediction

items = Item.__table__
predictions = Prediction.__table__

PAGE_SIZE = 1000

# Review reasons a new threshold can overturn; an audit, a failure or a missing score it cannot.
_REROUTABLE = (ReviewReason.UNCALIBRATED.value, ReviewReason.LOW_CONFIDENCE.value)


@dataclass(frozen=True)
class RoutingChange:
    """A new decision for an item as it was read: the write applies only if it still is."""

    item: RoutedItem
    decision: RoutingDecision
    # Its place in the review queue, when the decision sends it there.
    review_rank: float | None = None


def _unclaimed(now: float) -> Any:
    return or_(items.c.claim_expires_at.is_(None), items.c.claim_expires_at < now)


def _model_decided(now: float) -> Any:
    """Accepted by the model, or waiting unclaimed in review for a low or uncalibrated score."""
    return or_(
        and_(
            items.c.status == ItemStatus.ACCEPTED.value,
            items.c.label_source == LabelSource.MODEL.value,
        ),
        and_(
            items.c.status == ItemStatus.REVIEW.value,
            items.c.reason.in_(_REROUTABLE),
            _unclaimed(now),
        ),
    )


def model_decided_page(
    connection: Connection,
    *,
    project_id: int,
    version: int,
    now: float,
    between: tuple[float, float] | None = None,
    after_id: int | None = None,
    limit: int = PAGE_SIZE,
) -> list[RoutedItem]:
    """Up to `limit` items of the version whose standing rests on the model's score, with ids
    above `after_id`, in id order. `between` (two thresholds, either order) keeps only the items
    whose confidence lies between them."""
    in_range = (
        predictions.c.confidence.between(min(between), max(between))
        if between is not None
        else true()
    )
    rows = connection.execute(
        select(
            items.c.id,
            items.c.status,
            items.c.reason,
            items.c.label_value,
            items.c.label_confidence,
            predictions.c.value,
            predictions.c.confidence,
        )
        .join(
            predictions,
            CURRENT_PREDICTION,
        )
        .where(
            items.c.project_id == project_id,
            items.c.version == version,
            items.c.id > after_id if after_id is not None else true(),
            in_range,
            _model_decided(now),
        )
        .order_by(items.c.id)
        .limit(limit)
    ).all()
    return [_routed_item(*row) for row in rows]


def _routed_item(
    item_id: int,
    status: str,
    reason: str | None,
    label_value: Any,
    label_confidence: float | None,
    value: Any,
    confidence: float | None,
) -> RoutedItem:
    return RoutedItem(
        item_id=item_id,
        status=ItemStatus(status),
        reason=ReviewReason(reason) if reason is not None else None,
        label_value=label_value,
        label_confidence=label_confidence,
        value=value,
        confidence=confidence,
    )


def apply_routing(
    connection: Connection, *, version: int, changes: Sequence[RoutingChange], now: float
) -> int:
    """Write each change, if its item still has the status it was read with (and, unless it is
    accepted, no live claim). An accepted decision carries the prediction as the item's label.
    Returns how many changes were asked."""
    if not changes:
        return 0
    statement = (
        update(items)
        .where(
            items.c.id == bindparam("b_id"),
            items.c.status == bindparam("b_was"),
            items.c.version == version,
            or_(items.c.status == ItemStatus.ACCEPTED.value, _unclaimed(now)),
        )
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
        )
    )
    connection.execute(statement, [_change_params(change, now) for change in changes])
    return len(changes)


def _change_params(change: RoutingChange, now: float) -> dict[str, Any]:
    accepted = change.decision.status is ItemStatus.ACCEPTED
    reason = change.decision.reason
    return {
        "b_id": change.item.item_id,
        "b_was": change.item.status.value,
        "b_status": change.decision.status.value,
        "b_reason": reason.value if reason else None,
        "b_value": change.item.value if accepted else None,
        "b_confidence": change.item.confidence if accepted else None,
        "b_source": LabelSource.MODEL.value if accepted else None,
        "b_labeled_at": now if accepted else None,
        "b_sampled": change.decision.sampled,
        "b_sample_probability": change.decision.sample_probability,
        "b_review_rank": change.review_rank,
    }


def apply_method(
    connection: Connection,
    *,
    project_id: int,
    version: int,
    method: str,
    page_size: int = PAGE_SIZE,
) -> int:
    """Make `method`'s value and confidence the version's predictions, from their stored scores
    (predictions that lack that method keep theirs), a page at a time. Returns how many changed."""
    changed = 0
    after_id: int | None = None
    while True:
        rows = connection.execute(
            select(predictions.c.id, predictions.c.scores, predictions.c.method)
            .join(items, items.c.id == predictions.c.item_id)
            .where(
                items.c.project_id == project_id,
                predictions.c.version == version,
                predictions.c.scores.is_not(None),
                predictions.c.id > after_id if after_id is not None else true(),
            )
            .order_by(predictions.c.id)
            .limit(page_size)
        ).all()
        changed += _write_method(connection, rows, method)
        if len(rows) < page_size:
            return changed
        after_id = rows[-1][0]


def _write_method(connection: Connection, rows: Sequence[Any], method: str) -> int:
    params = []
    for prediction_id, scores, current in rows:
        stored = (scores or {}).get(method)
        if stored is None or current == method:
            continue
        chosen = Scored.from_json(method, stored)
        params.append(
            {
                "b_id": prediction_id,
                "b_value": chosen.value,
                "b_confidence": chosen.confidence.score,
                "b_method": method,
                "b_per_label": chosen.confidence.per_label,
            }
        )
    if params:
        connection.execute(
            update(predictions)
            .where(predictions.c.id == bindparam("b_id"))
            .values(
                value=bindparam("b_value"),
                confidence=bindparam("b_confidence"),
                method=bindparam("b_method"),
                per_label=bindparam("b_per_label"),
            ),
            params,
        )
    return len(params)
