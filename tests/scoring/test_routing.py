"""Routing decisions for each policy: accept at or above the bar, otherwise review with a reason."""

from __future__ import annotations

import math

import pytest

from labelwise.domain import BatchGuarantee, Calibration, ItemStatus, RoutingDecision
from labelwise.errors import ReviewReason
from labelwise.scoring.routing import (
    audit_draw,
    effective_threshold,
    review_rank,
    route,
    route_by_error_cut,
    route_failure,
    route_item,
    with_audit,
)
from labelwise.spec import RoutingSpec

FIXED = RoutingSpec(accept_threshold=0.8)
TARGET = RoutingSpec(target_precision=0.95)
ACCEPT_ALL = RoutingSpec(accept_threshold=0.0)

ACCEPTED = RoutingDecision(ItemStatus.ACCEPTED, None)


def calibrated(threshold: float | None) -> Calibration:
    return Calibration(threshold, None, None, None, gold=100)


TOO_LITTLE_GOLD = Calibration(None, None, None, None, gold=5, calibrated=False)


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
        # target_precision without calibration: nothing is accepted, however confident.
        (1.0, TARGET, review(ReviewReason.UNCALIBRATED)),
        (0.95, TARGET, review(ReviewReason.UNCALIBRATED)),
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
        (TARGET, None),
        (RoutingSpec(target_precision=1.0), None),
    ],
)
def test_effective_threshold(policy: RoutingSpec, expected: float | None) -> None:
    assert effective_threshold(policy) == expected


@pytest.mark.parametrize(
    ("confidence", "policy", "calibration", "expected"),
    [
        # Calibrated on gold: the chosen threshold replaces the target, and a miss is low
        # confidence, not an uncalibrated bar.
        (0.72, TARGET, calibrated(0.7), ACCEPTED),
        (0.7, TARGET, calibrated(0.7), ACCEPTED),
        (0.69, TARGET, calibrated(0.7), review(ReviewReason.LOW_CONFIDENCE)),
        (0.97, TARGET, calibrated(0.99), review(ReviewReason.LOW_CONFIDENCE)),
        (None, TARGET, calibrated(0.7), review(ReviewReason.NO_CONFIDENCE)),
        # Enough gold, and it shows no threshold reaches the target: nothing is accepted.
        (1.0, TARGET, calibrated(None), review(ReviewReason.LOW_CONFIDENCE)),
        # Too little gold: still uncalibrated.
        (0.99, TARGET, TOO_LITTLE_GOLD, review(ReviewReason.UNCALIBRATED)),
        # A fixed threshold is the user's choice: calibration does not override it.
        (0.75, FIXED, calibrated(0.7), review(ReviewReason.LOW_CONFIDENCE)),
        (0.85, FIXED, calibrated(0.9), ACCEPTED),
    ],
)
def test_route_with_calibration(
    confidence: float | None,
    policy: RoutingSpec,
    calibration: Calibration,
    expected: RoutingDecision,
) -> None:
    assert route(confidence, policy, calibration) == expected


@pytest.mark.parametrize("reason", list(ReviewReason))
def test_route_failure(reason: ReviewReason) -> None:
    assert route_failure(reason) == RoutingDecision(ItemStatus.REVIEW, reason)


@pytest.mark.parametrize(
    ("decision", "rate", "expected_status"),
    [
        (ACCEPTED, 0.0, ItemStatus.ACCEPTED),
        (ACCEPTED, 1.0, ItemStatus.REVIEW),
        # Only accepted items are audited: the rest reach a reviewer anyway, for their reason.
        (review(ReviewReason.LOW_CONFIDENCE), 1.0, ItemStatus.REVIEW),
    ],
)
def test_with_audit_at_the_extremes(
    decision: RoutingDecision, rate: float, expected_status: ItemStatus
) -> None:
    for item_id in range(50):
        audited = with_audit(decision, item_id=item_id, version=1, audit_rate=rate)
        assert audited.status is expected_status
        if decision is ACCEPTED and rate == 1.0:
            assert audited.reason is ReviewReason.AUDIT
        if decision is not ACCEPTED:
            assert audited == decision


def test_audit_draw_is_stable_and_takes_about_the_rate() -> None:
    assert audit_draw(7, 1) == audit_draw(7, 1)
    assert audit_draw(7, 1) != audit_draw(7, 2)
    audited = sum(
        with_audit(ACCEPTED, item_id=i, version=1, audit_rate=0.1) != ACCEPTED
        for i in range(10_000)
    )
    assert 900 <= audited <= 1100


def test_an_audit_records_its_known_probability() -> None:
    audited = with_audit(ACCEPTED, item_id=1, version=1, audit_rate=1.0)
    assert (audited.sampled, audited.sample_probability) == ("audit", 1.0)


def guarantee(
    state: str = "sampling", cut: float | None = None, rate: float = 0.0
) -> BatchGuarantee:
    return BatchGuarantee(0.05, 0.95, population=1000, rate=rate, state=state, cut=cut)


SAMPLE = RoutingDecision(ItemStatus.REVIEW, ReviewReason.GUARANTEE_SAMPLE, "guarantee", 1.0)


@pytest.mark.parametrize(
    ("confidence", "batch", "expected"),
    [
        # Drawn into the sample: to reviewers first, whatever the confidence.
        (0.99, guarantee(rate=1.0), SAMPLE),
        (None, guarantee(rate=1.0), SAMPLE),
        # Not drawn: held until the sample is reviewed...
        (0.99, guarantee(), RoutingDecision(ItemStatus.HELD)),
        (None, guarantee(), review(ReviewReason.NO_CONFIDENCE)),
        # ...then kept at or above the cut, reviewed below it.
        (0.9, guarantee("certified", 0.9), ACCEPTED),
        (0.89, guarantee("certified", 0.9), review(ReviewReason.LOW_CONFIDENCE)),
        (math.nan, guarantee("certified", 0.0), review(ReviewReason.NO_CONFIDENCE)),
        # No cut certified: everything goes to review.
        (0.999, guarantee("uncertified"), review(ReviewReason.LOW_CONFIDENCE)),
    ],
)
def test_route_by_error_cut(
    confidence: float | None, batch: BatchGuarantee, expected: RoutingDecision
) -> None:
    assert route_by_error_cut(confidence, item_id=3, batch_id=1, batch=batch) == expected


def test_route_item_under_each_policy() -> None:
    error_target = RoutingSpec(target_error=0.05)
    settled = guarantee("certified", 0.5)
    assert route_item(0.7, error_target, item_id=1, batch_id=1, version=1, batch=settled) == (
        ACCEPTED
    )
    # A batch posted before the project asked for a dataset-error target has no sample.
    assert route_item(0.7, error_target, item_id=1, batch_id=1, version=1) == review(
        ReviewReason.UNCALIBRATED
    )
    assert route_item(0.9, FIXED, item_id=1, batch_id=1, version=1) == ACCEPTED
    audited = RoutingSpec(target_error=0.05, audit_rate=1.0)
    decision = route_item(0.7, audited, item_id=1, batch_id=1, version=1, batch=settled)
    assert decision.reason is ReviewReason.AUDIT and decision.sample_probability == 1.0


@pytest.mark.parametrize(
    ("decision", "confidence", "low", "high"),
    [
        (ACCEPTED, 0.9, None, None),
        (RoutingDecision(ItemStatus.HELD), 0.9, None, None),
        # Random samples first, in a drawn order within [-2, -1).
        (SAMPLE, 0.99, -2.0, -1.0),
        (review(ReviewReason.AUDIT), 0.99, -2.0, -1.0),
        (review(ReviewReason.UNCALIBRATED), 0.99, -2.0, -1.0),
        # Then the lowest confidence; no usable label counts as 0.
        (review(ReviewReason.LOW_CONFIDENCE), 0.42, 0.42, 0.42),
        (review(ReviewReason.LLM_ERROR), None, 0.0, 0.0),
        (review(ReviewReason.NO_CONFIDENCE), math.inf, 0.0, 0.0),
    ],
)
def test_review_rank(
    decision: RoutingDecision, confidence: float | None, low: float | None, high: float | None
) -> None:
    ranks = {review_rank(decision, confidence, item_id=i) for i in range(20)}
    if low is None:
        assert ranks == {None}
    elif low == high:
        assert ranks == {low}
    else:
        assert all(low <= r < high for r in ranks) and len(ranks) == 20
