"""Routing: whether a labeled item is accepted as is or waits for a human, and why.

This module owns the decision only (a `RoutingDecision` from a confidence and the project's
`RoutingSpec`); storing it is the caller's business. Pure functions, no I/O.
"""

from __future__ import annotations

import math

from labelwise.domain import ItemStatus, RoutingDecision
from labelwise.errors import ReviewReason
from labelwise.spec import RoutingSpec

_ACCEPTED = RoutingDecision(ItemStatus.ACCEPTED)


def effective_threshold(policy: RoutingSpec, calibrated: float | None = None) -> float:
    """The confidence an item needs to be accepted under `policy`.

    A `target_precision` becomes a threshold through calibration on gold (`calibrated`). Until
    there is one the target itself stands in: a calibrated score of p is right about p of the
    time, so asking for at least the target precision is the conservative reading.
    """
    if policy.accept_threshold is not None:
        return policy.accept_threshold
    if policy.target_precision is not None:
        return calibrated if calibrated is not None else policy.target_precision
    # RoutingSpec's validator forbids this; a spec built around it (model_construct) gets here.
    raise ValueError("routing policy has neither accept_threshold nor target_precision")


def route(
    confidence: float | None, policy: RoutingSpec, calibrated: float | None = None
) -> RoutingDecision:
    """Accept `confidence` at or above the policy's threshold; otherwise send it to review."""
    threshold = effective_threshold(policy, calibrated)
    # Never accept without a usable score; infinities are as meaningless as NaN for a probability.
    if confidence is None or not math.isfinite(confidence):
        return RoutingDecision(ItemStatus.REVIEW, ReviewReason.NO_CONFIDENCE)
    if confidence >= threshold:
        return _ACCEPTED
    # Below a provisional threshold the reviewer should know the bar itself is not calibrated.
    provisional = policy.accept_threshold is None and calibrated is None
    reason = ReviewReason.UNCALIBRATED if provisional else ReviewReason.LOW_CONFIDENCE
    return RoutingDecision(ItemStatus.REVIEW, reason)


def route_failure(reason: ReviewReason) -> RoutingDecision:
    """An item that could not be labeled goes to review with the failure's reason."""
    return RoutingDecision(ItemStatus.REVIEW, reason)
