"""Gold for a project version: items whose true label is known, scored by that version's model.

The truth is the item's `ground_truth` if the client sent one, else a reviewer's final label.
Only predictions with both a value and a confidence count: a calibration is about scores.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from labelwise.calibration import Calibration, choose_threshold
from labelwise.domain import ItemStatus
from labelwise.spec import RoutingSpec
from labelwise.store.models import Item, Prediction


def _same_label(value: Any, truth: Any) -> bool:
    """Multi-label values are sets; their order (and a lone label given as a string) is moot."""
    if isinstance(value, list):
        truths = truth if isinstance(truth, list) else [truth]
        return sorted(value) == sorted(truths)
    return value == truth


def gold_scores(session: Session, *, project_id: int, version: int) -> list[tuple[float, bool]]:
    rows = session.execute(
        select(Prediction.confidence, Prediction.value, Item.ground_truth, Item.label_value)
        .join(Item, Item.id == Prediction.item_id)
        .where(
            Item.project_id == project_id,
            Prediction.version == version,
            Prediction.confidence.is_not(None),
            Prediction.value.is_not(None),
            or_(Item.ground_truth.is_not(None), Item.status == ItemStatus.REVIEWED.value),
        )
    ).all()
    scores = []
    for confidence, value, ground_truth, reviewed in rows:
        truth = ground_truth if ground_truth is not None else reviewed
        if value is not None and truth is not None:
            scores.append((float(confidence), _same_label(value, truth)))
    return scores


def calibrate(
    session: Session, *, project_id: int, version: int, routing: RoutingSpec
) -> Calibration | None:
    """The calibration a `target_precision` policy routes by; None for a fixed threshold."""
    if routing.target_precision is None:
        return None
    scores = gold_scores(session, project_id=project_id, version=version)
    return choose_threshold(scores, routing.target_precision)
