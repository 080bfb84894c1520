"""Which items a new calibration routes again, and what becomes of each: tables of cases."""

from __future__ import annotations

from typing import Any

import pytest

from labelwise.domain import Calibration, ItemStatus, RoutedItem, RoutingDecision
from labelwise.errors import ReviewReason
from labelwise.scoring.rerouting import (
    RerouteScope,
    method_changed,
    moved_between,
    new_routing,
    reroute_scope,
    routes_differently,
)
from labelwise.scoring.routing import audit_draw
from labelwise.spec import RoutingSpec


def at(threshold: float | None, *, method: str | None = None) -> Calibration:
    return Calibration(threshold, None, None, None, gold=50, confidence_method=method)


TOO_LITTLE_GOLD = Calibration(None, None, None, None, gold=5, calibrated=False)
NO_THRESHOLD_REACHES = Calibration(None, None, None, 0.0, gold=50)


@pytest.mark.parametrize(
    ("before", "method", "changed"),
    [
        (None, None, False),  # no consensus: there is no method to change
        (None, "logprob", True),  # the first calibration sets one
        (at(0.8), "logprob", True),  # stored without a method
        (at(0.8, method="combined"), "logprob", True),
        (at(0.8, method="logprob"), "logprob", False),
        (at(0.8, method="logprob"), None, False),
    ],
)
def test_method_changed(before: Calibration | None, method: str | None, changed: bool) -> None:
    assert method_changed(before, method) is changed


@pytest.mark.parametrize(
    ("before", "after", "differs"),
    [
        (None, at(0.8), True),
        (None, TOO_LITTLE_GOLD, True),
        (at(0.8), at(0.8), False),
        (at(0.8), at(0.9), True),
        (at(0.8), NO_THRESHOLD_REACHES, True),
        (TOO_LITTLE_GOLD, NO_THRESHOLD_REACHES, True),  # same threshold, now calibrated
        (TOO_LITTLE_GOLD, TOO_LITTLE_GOLD, False),
        # What the calibration expects of the threshold is not a reason to route again.
        (at(0.8), Calibration(0.8, 0.97, (0.9, 1.0), 0.5, gold=80), False),
    ],
)
def test_routes_differently(before: Calibration | None, after: Calibration, differs: bool) -> None:
    assert routes_differently(before, after) is differs


@pytest.mark.parametrize(
    ("before", "after", "between"),
    [
        (at(0.8), at(0.9), (0.8, 0.9)),
        (at(0.9), at(0.5), (0.9, 0.5)),
        (None, at(0.9), None),
        (at(0.8), NO_THRESHOLD_REACHES, None),
        (NO_THRESHOLD_REACHES, at(0.8), None),
        (Calibration(0.8, None, None, None, gold=5, calibrated=False), at(0.9), None),
    ],
)
def test_moved_between(
    before: Calibration | None, after: Calibration, between: tuple[float, float] | None
) -> None:
    assert moved_between(before, after) == between


@pytest.mark.parametrize(
    ("before", "after", "new_method", "scope"),
    [
        (at(0.8), at(0.8), False, None),  # nothing changed: nothing to route again
        (at(0.8), at(0.9), False, RerouteScope(between=(0.8, 0.9))),
        (None, at(0.9), False, RerouteScope(between=None)),
        (at(0.8), TOO_LITTLE_GOLD, False, RerouteScope(between=None)),
        # A new scoring method changes the predictions: every item, whatever the threshold did.
        (at(0.8), at(0.8), True, RerouteScope(between=None)),
        (at(0.8), at(0.9), True, RerouteScope(between=None)),
    ],
)
def test_reroute_scope(
    before: Calibration | None, after: Calibration, new_method: bool, scope: RerouteScope | None
) -> None:
    assert reroute_scope(before, after, new_method=new_method) == scope


ACCEPTED = RoutingDecision(ItemStatus.ACCEPTED)
LOW = RoutingDecision(ItemStatus.REVIEW, ReviewReason.LOW_CONFIDENCE)
UNCALIBRATED = RoutingDecision(ItemStatus.REVIEW, ReviewReason.UNCALIBRATED)


def item(
    status: RoutingDecision, confidence: float | None, *, label: Any = "unset", item_id: int = 1
) -> RoutedItem:
    """An item in `status` whose prediction is `positive` at `confidence`; accepted items carry
    that prediction as their label unless `label` says otherwise."""
    accepted = status.status is ItemStatus.ACCEPTED
    label_value = ("positive" if accepted else None) if label == "unset" else label
    return RoutedItem(
        item_id=item_id,
        status=status.status,
        reason=status.reason,
        label_value=label_value,
        label_confidence=confidence if accepted else None,
        value="positive",
        confidence=confidence,
    )


TARGET = RoutingSpec(target_precision=0.9)


@pytest.mark.parametrize(
    ("before", "calibration", "after"),
    [
        (item(LOW, 0.7), at(0.5), ACCEPTED),
        (item(ACCEPTED, 0.7), at(0.8), LOW),
        (item(UNCALIBRATED, 0.7), at(0.8), LOW),
        (item(ACCEPTED, 0.7), TOO_LITTLE_GOLD, UNCALIBRATED),
        (item(ACCEPTED, 0.7), at(0.5), None),  # stays accepted, same label
        (item(LOW, 0.7), at(0.8), None),  # stays in review for the same reason
        # Still accepted, but the prediction under its label changed: written again.
        (item(ACCEPTED, 0.7, label="negative"), at(0.5), ACCEPTED),
    ],
)
def test_new_routing(
    before: RoutedItem, calibration: Calibration, after: RoutingDecision | None
) -> None:
    assert new_routing(before, version=1, routing=TARGET, calibration=calibration) == after


def test_new_routing_keeps_the_audit_draw() -> None:
    audited = next(i for i in range(1, 1000) if audit_draw(i, 1) < 0.5)
    routing = RoutingSpec(target_precision=0.9, audit_rate=0.5)
    decision = new_routing(
        item(LOW, 0.7, item_id=audited), version=1, routing=routing, calibration=at(0.5)
    )
    assert decision == RoutingDecision(ItemStatus.REVIEW, ReviewReason.AUDIT, "audit", 0.5)
