"""Routing: whether a labeled item is accepted as is, waits for a human, or (under a
dataset-error target) is held until its batch's sample is reviewed; and why.

This module owns the decision only (a `RoutingDecision` from a confidence, the project's
`RoutingSpec` and, for a target precision, the calibration gold gave it, or for a target error,
the batch's guarantee); storing it is the caller's business. Pure functions, no I/O.
"""

from __future__ import annotations

import hashlib
import math
from typing import TypeGuard

from labelwise.domain import BatchGuarantee, Calibration, ItemStatus, RoutingDecision
from labelwise.errors import ReviewReason
from labelwise.scoring.dataset_error import in_sample
from labelwise.spec import RoutingSpec

_ACCEPTED = RoutingDecision(ItemStatus.ACCEPTED)
_HELD = RoutingDecision(ItemStatus.HELD)
_NO_CONFIDENCE = RoutingDecision(ItemStatus.REVIEW, ReviewReason.NO_CONFIDENCE)

# Reviews of random samples come first in the queue (ranks in [-2, -1)): they certify and
# measure the guarantees.
SAMPLE_RANK = -1.0
_SAMPLE_REASONS = (ReviewReason.AUDIT, ReviewReason.GUARANTEE_SAMPLE, ReviewReason.UNCALIBRATED)


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
    if policy.target_error is not None:
        # Each batch certifies its own cut (`route_by_error_cut`); there is no project-wide one.
        return None
    # RoutingSpec's validator forbids this; a spec built around it (model_construct) gets here.
    raise ValueError("routing policy has no accept_threshold, target_precision or target_error")


def route(
    confidence: float | None, policy: RoutingSpec, calibration: Calibration | None = None
) -> RoutingDecision:
    """Accept `confidence` at or above the policy's threshold; otherwise send it to review."""
    # Never accept without a usable score; infinities are as meaningless as NaN for a probability.
    if not _usable(confidence):
        return _NO_CONFIDENCE
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
    estimate the precision of what is accepted without a human, weighted by `audit_rate`, the
    probability recorded with each (`labelwise.quality.estimates`)."""
    if decision.status is ItemStatus.ACCEPTED and audit_draw(item_id, version) < audit_rate:
        return RoutingDecision(ItemStatus.REVIEW, ReviewReason.AUDIT, "audit", audit_rate)
    return decision


def route_by_error_cut(
    confidence: float | None, *, item_id: int, batch_id: int, batch: BatchGuarantee
) -> RoutingDecision:
    """Under a dataset-error target: an item drawn into the batch's sample goes to reviewers
    first; the others wait (held) until the sample certifies a cut, then keep the model's label
    at or above it and go to review below it."""
    if in_sample(item_id, batch_id, batch.rate):
        return RoutingDecision(
            ItemStatus.REVIEW, ReviewReason.GUARANTEE_SAMPLE, "guarantee", batch.rate
        )
    if not _usable(confidence):
        return _NO_CONFIDENCE
    if not batch.settled:
        return _HELD
    if batch.cut is not None and confidence >= batch.cut:
        return _ACCEPTED
    return RoutingDecision(ItemStatus.REVIEW, ReviewReason.LOW_CONFIDENCE)


def route_item(
    confidence: float | None,
    policy: RoutingSpec,
    *,
    item_id: int,
    batch_id: int,
    version: int,
    calibration: Calibration | None = None,
    batch: BatchGuarantee | None = None,
) -> RoutingDecision:
    """The decision for a labeled item under any policy, audits drawn."""
    if policy.target_error is not None and batch is not None:
        decision = route_by_error_cut(confidence, item_id=item_id, batch_id=batch_id, batch=batch)
    elif policy.target_error is not None:
        # A batch posted before its project asked for a dataset-error target has no sample.
        decision = RoutingDecision(ItemStatus.REVIEW, ReviewReason.UNCALIBRATED)
    else:
        decision = route(confidence, policy, calibration)
    return with_audit(decision, item_id=item_id, version=version, audit_rate=policy.audit_rate)


def review_rank(
    decision: RoutingDecision, confidence: float | None, *, item_id: int
) -> float | None:
    """Where an item waits in the review queue, lowest served first; None: not in review.

    Random samples come first (their reviews certify and measure the guarantees), in an order
    drawn at random, so that the reviews made so far are themselves a uniform sample whenever
    reviewers stop. Then the highest chance of being wrong: the lowest confidence, no usable
    label counting as 0."""
    if decision.status is not ItemStatus.REVIEW:
        return None
    if decision.reason in _SAMPLE_REASONS:
        return SAMPLE_RANK - 1.0 + _queue_draw(item_id)
    return confidence if _usable(confidence) else 0.0


def _queue_draw(item_id: int) -> float:
    digest = hashlib.blake2b(f"queue:{item_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _usable(confidence: float | None) -> TypeGuard[float]:
    # Infinities are as meaningless as NaN for a probability.
    return confidence is not None and math.isfinite(confidence)
