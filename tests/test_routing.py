"""Routing decisions for each policy: accept at or above the bar, otherwise review with a reason."""

from __future__ import annotations

import math

import pytest

from labelwise.domain import ItemStatus, RoutingDecision
from labelwise.errors import ReviewReason
from labelwise.routing import effective_threshold, route, route_failure
from labelwise.spec import RoutingSpec

FIXED = RoutingSpec(accept_threshold=0.8)
TARGET = RoutingSpec(target_precision=0.95)
ACCEPT_ALL = RoutingSpec(accept_threshold=0.0)

ACCEPTED = RoutingDecision(ItemStatus.ACCEPTED, None)


def review(reason: ReviewReason) -> RoutingDecision:
    return RoutingDecision(ItemStatus.REVIEW, reason)


@pytest.mark.parametrize(
    ("confidence", "policy", "expected"),
    [
        (0.9, FIXED, ACCEPTED),
        (0.8, FIXED, ACCEPTED),  # the threshold itself is accepted
        (0.7999, FIXED, review(ReviewReason.LOW_CONFIDENCE)),
        (0.0, FIXED, review(ReviewReason.LOW_CONFIDENCE)),
        (None, FIXED, review(ReviewReason.NO_CONFIDENCE)),
        (math.nan, FIXED, review(ReviewReason.NO_CONFIDENCE)),
        (math.inf, FIXED, review(ReviewReason.NO_CONFIDENCE)),
        (0.0, ACCEPT_ALL, ACCEPTED),
        (None, ACCEPT_ALL, review(ReviewReason.NO_CONFIDENCE)),
        (math.nan, ACCEPT_ALL, review(ReviewReason.NO_CONFIDENCE)),
        # target_precision without calibration: the target is the provisional bar.
        (0.96, TARGET, ACCEPTED),
        (0.95, TARGET, ACCEPTED),
        (0.9, TARGET, review(ReviewReason.UNCALIBRATED)),
        (None, TARGET, review(ReviewReason.NO_CONFIDENCE)),
        (math.nan, TARGET, review(ReviewReason.NO_CONFIDENCE)),
    ],
)
def test_route(confidence: float | None, policy: RoutingSpec, expected: RoutingDecision) -> None:
    assert route(confidence, policy) == expected


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (FIXED, 0.8),
        (ACCEPT_ALL, 0.0),
        (TARGET, 0.95),
        (RoutingSpec(target_precision=1.0), 1.0),
    ],
)
def test_effective_threshold(policy: RoutingSpec, expected: float) -> None:
    assert effective_threshold(policy) == expected


@pytest.mark.parametrize(
    ("confidence", "policy", "calibrated", "expected"),
    [
        # Calibrated on gold: the chosen threshold replaces the target, and a miss is low
        # confidence, not an uncalibrated bar.
        (0.72, TARGET, 0.7, ACCEPTED),
        (0.69, TARGET, 0.7, review(ReviewReason.LOW_CONFIDENCE)),
        (0.97, TARGET, 0.99, review(ReviewReason.LOW_CONFIDENCE)),
        (None, TARGET, 0.7, review(ReviewReason.NO_CONFIDENCE)),
        # A fixed threshold is the user's choice: calibration does not override it.
        (0.75, FIXED, 0.7, review(ReviewReason.LOW_CONFIDENCE)),
    ],
)
def test_route_with_calibration(
    confidence: float | None, policy: RoutingSpec, calibrated: float, expected: RoutingDecision
) -> None:
    assert route(confidence, policy, calibrated) == expected


@pytest.mark.parametrize("reason", list(ReviewReason))
def test_route_failure(reason: ReviewReason) -> None:
    assert route_failure(reason) == RoutingDecision(ItemStatus.REVIEW, reason)
