"""Routing again what the model decided, when the calibration behind the decision changes.

Only items whose standing rests on the model's score are touched: accepted by the model, or
waiting unclaimed in review for a low or uncalibrated score. Human decisions, audits, failures and
claimed items stay as they are.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, bindparam, or_, select, true, update

from labelwise.domain import ItemStatus, LabelSource, RoutingDecision, Scored
from labelwise.errors import ReviewReason
from labelwise.scoring.calibration import Calibration
from labelwise.scoring.routing import route, with_audit
from labelwise.spec import RoutingSpec
from labelwise.store.models import Item, Prediction

items = Item.__table__
predictions = Prediction.__table__

# Review reasons a new threshold can overturn; an audit, a failure or a missing score it cannot.
_REROUTABLE = (ReviewReason.UNCALIBRATED.value, ReviewReason.LOW_CONFIDENCE.value)


@dataclass(frozen=True)
class _Rerouted:
    item_id: int
    was: str
    decision: RoutingDecision
    value: Any
    confidence: float | None


def reroute(
    connection: Connection,
    *,
    project_id: int,
    version: int,
    routing: RoutingSpec,
    calibration: Calibration,
    between: tuple[float, float] | None = None,
    now: float | None = None,
) -> int:
    """Route again every item whose standing rests on the model's score alone: accepted by the
    model, or waiting in review for a low or uncalibrated score and not claimed by anyone.

    Human decisions, audits, failures and claimed items are left as they are. When only a
    threshold moved, `between` (the old and new thresholds) narrows the work to the items whose
    confidence lies between them: no other item can change. Returns how many items changed state.
    """
    now = time.time() if now is None else now
    unclaimed = or_(items.c.claim_expires_at.is_(None), items.c.claim_expires_at < now)
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
            (predictions.c.item_id == items.c.id) & (predictions.c.version == items.c.version),
        )
        .where(
            items.c.project_id == project_id,
            items.c.version == version,
            in_range,
            or_(
                and_(
                    items.c.status == ItemStatus.ACCEPTED.value,
                    items.c.label_source == LabelSource.MODEL.value,
                ),
                and_(
                    items.c.status == ItemStatus.REVIEW.value,
                    items.c.reason.in_(_REROUTABLE),
                    unclaimed,
                ),
            ),
        )
        .order_by(items.c.id)
    ).all()
    changes = []
    for item_id, status, reason, label_value, label_confidence, value, confidence in rows:
        decision = with_audit(
            route(confidence, routing, calibration),
            item_id=item_id,
            version=version,
            audit_rate=routing.audit_rate,
        )
        moved = (decision.status.value, decision.reason and decision.reason.value) != (
            status,
            reason,
        )
        # Still accepted, but the prediction under it changed (a new consensus method).
        relabeled = decision.status is ItemStatus.ACCEPTED and (
            label_value != value or label_confidence != confidence
        )
        if moved or relabeled:
            changes.append(_Rerouted(item_id, status, decision, value, confidence))
    if not changes:
        return 0
    statement = (
        update(items)
        .where(
            items.c.id == bindparam("b_id"),
            items.c.status == bindparam("b_was"),
            items.c.version == version,
            or_(items.c.status == ItemStatus.ACCEPTED.value, unclaimed),
        )
        .values(
            status=bindparam("b_status"),
            reason=bindparam("b_reason"),
            label_value=bindparam("b_value"),
            label_confidence=bindparam("b_confidence"),
            label_source=bindparam("b_source"),
            labeled_at=bindparam("b_labeled_at"),
        )
    )
    params = []
    for change in changes:
        accepted = change.decision.status is ItemStatus.ACCEPTED
        reason = change.decision.reason
        params.append(
            {
                "b_id": change.item_id,
                "b_was": change.was,
                "b_status": change.decision.status.value,
                "b_reason": reason.value if reason else None,
                "b_value": change.value if accepted else None,
                "b_confidence": change.confidence if accepted else None,
                "b_source": LabelSource.MODEL.value if accepted else None,
                "b_labeled_at": now if accepted else None,
            }
        )
    connection.execute(statement, params)
    return len(changes)


def apply_method(connection: Connection, *, project_id: int, version: int, method: str) -> int:
    """Make `method`'s value and confidence the version's predictions, from their stored scores
    (predictions that lack that method keep theirs). Returns how many changed."""
    rows = connection.execute(
        select(predictions.c.id, predictions.c.scores, predictions.c.method)
        .join(items, items.c.id == predictions.c.item_id)
        .where(
            items.c.project_id == project_id,
            predictions.c.version == version,
            predictions.c.scores.is_not(None),
        )
    ).all()
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
