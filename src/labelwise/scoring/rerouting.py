"""Routing again what the model decided, when the calibration behind the decision changes: which
items a new calibration concerns, and what becomes of each. Pure functions, no I/O.

A threshold that moves changes only the items whose confidence lies between the old and the new
one; a new scoring method (consensus) or a change of what the gold supports can change any of
them. An item keeps its audit draw: routing again never redraws who is spot-checked.
"""

from __future__ import annotations

from dataclasses import dataclass

from labelwise.domain import Calibration, ItemStatus, RoutedItem, RoutingDecision
from labelwise.scoring.routing import route, with_audit
from labelwise.spec import RoutingSpec


@dataclass(frozen=True)
class RerouteScope:
    """The items a new calibration routes again: all of them (`between` None), or only those
    whose confidence lies between the old and the new threshold."""

    between: tuple[float, float] | None = None


def method_changed(before: Calibration | None, method: str | None) -> bool:
    """Whether consensus now routes by another scoring method than the stored calibration did."""
    return method is not None and (before is None or before.confidence_method != method)


def routes_differently(before: Calibration | None, after: Calibration) -> bool:
    """Whether `after` can decide an item otherwise than `before`: a first calibration, another
    threshold, or gold that became (or stopped being) enough to judge."""
    if before is None:
        return True
    return (before.threshold, before.calibrated) != (after.threshold, after.calibrated)


def moved_between(before: Calibration | None, after: Calibration) -> tuple[float, float] | None:
    """The old and new threshold when only the threshold moved; None when more changed (every
    decision may differ then)."""
    if before is None or before.threshold is None or after.threshold is None:
        return None
    if not (before.calibrated and after.calibrated):
        return None
    return before.threshold, after.threshold


def reroute_scope(
    before: Calibration | None, after: Calibration, *, new_method: bool
) -> RerouteScope | None:
    """Which model-decided items to route again after recalibrating; None when no decision can
    change. A new scoring method changes the predictions themselves, so it concerns every item."""
    if new_method:
        return RerouteScope(between=None)
    if not routes_differently(before, after):
        return None
    return RerouteScope(between=moved_between(before, after))


def new_routing(
    item: RoutedItem, *, version: int, routing: RoutingSpec, calibration: Calibration
) -> RoutingDecision | None:
    """The item's decision under `calibration`, or None when it stays as it is: neither moved
    (another status or reason) nor relabeled (still accepted, but the prediction under its label
    changed with a new scoring method)."""
    decision = with_audit(
        route(item.confidence, routing, calibration),
        item_id=item.item_id,
        version=version,
        audit_rate=routing.audit_rate,
    )
    moved = (decision.status, decision.reason) != (item.status, item.reason)
    relabeled = decision.status is ItemStatus.ACCEPTED and (
        item.label_value != item.value or item.label_confidence != item.confidence
    )
    return decision if moved or relabeled else None
