"""Routing: whether a labeled item is accepted as is or waits for a human, and why.

This module owns the decision only (a `RoutingDecision` from a confidence, the project's
`RoutingSpec` and, for a target precision, the calibration gold gave it); storing it is the
caller's business. Pure functions, no I/O.
"""

from __future__ import annotations

import hashlib
import math

from labelwise.domain import Calibration, ItemStatus, RoutingDecision
from labelwise.errors import ReviewReason
from labelwise.spec import RoutingSpec

_ACCEPTED = RoutingDecision(ItemStatus.ACCEPTED)
_AUDIT = RoutingDecision(ItemStatus.REVIEW, ReviewReason.AUDIT)


def effective_threshold(
    policy: RoutingSpec, calibration: Calibration | None = None
) -> float | None:
    """The confidence an item needs to be accepted under `policy`; None accepts nothing.

    A `target_precision` becomes a threshold only through calibration on gold. Until there is
    enough gold nothing is accepted: a model's own confidence says nothing reliable about its
    precision, and a label accepted on a guess cannot be taken back from a client who exported
    it. The same holds when gold shows that no threshold reaches the target.
    """
    if policy.accept_threshold is not None:
        return policy.accept_threshold
    if policy.target_precision is not None:
        return calibration.threshold if calibration is not None else None
    # RoutingSpec's validator forbids this; a spec built around it (model_construct) gets here.
    raise ValueError("routing policy has neither accept_threshold nor target_precision")


def route(
    confidence: float | None, policy: RoutingSpec, calibration: Calibration | None = None
) -> RoutingDecision:
    """Accept `confidence` at or above the policy's threshold; otherwise send it to review."""
    # Never accept without a usable score; infinities are as meaningless as NaN for a probability.
    if confidence is None or not math.isfinite(confidence):
        return RoutingDecision(ItemStatus.REVIEW, ReviewReason.NO_CONFIDENCE)
    threshold = effective_threshold(policy, calibration)
    if threshold is not None and confidence >= threshold:
        return _ACCEPTED
    # The reviewer should know when the bar itself is missing for want of gold.
    calibrated = policy.accept_threshold is not None or (
        calibration is not None and calibration.calibrated
    )
    reason = ReviewReason.LOW_CONFIDENCE if calibrated else ReviewReason.UNCALIBRATED
    return RoutingDecision(ItemStatus.REVIEW, reason)


def route_failure(reason: ReviewReason) -> RoutingDecision:
    """An item that could not be labeled goes to review with the failure's reason."""
    return RoutingDecision(ItemStatus.REVIEW, reason)


def audit_draw(item_id: int, version: int) -> float:
    """A number in [0, 1) fixed by the item and version: whether an item is audited must not
    change when it is routed again, or re-routing would draw until an audit is avoided."""
    digest = hashlib.blake2b(f"{item_id}:{version}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def with_audit(
    decision: RoutingDecision, *, item_id: int, version: int, audit_rate: float
) -> RoutingDecision:
    """Send an `audit_rate` share of accepted items to reviewers as spot checks: their verdicts
    measure the precision of what is accepted without a human, and are unbiased gold."""
    if decision.status is ItemStatus.ACCEPTED and audit_draw(item_id, version) < audit_rate:
        return _AUDIT
    return decision
