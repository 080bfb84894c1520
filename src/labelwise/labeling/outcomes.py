"""Turning a labeling outcome into a stored row: routing, cost and the error reason together.

An outcome whose task type asks for a human (`LabelOutcome.review_reason`) goes to review with
that reason whatever its confidence; its value and parts stay on the prediction for the reviewer.

Both the workers and the synchronous API finish items through here, so an item is routed the same
way whichever path labeled it.
"""

from __future__ import annotations

from labelwise.cost.pricing import outcome_cost_usd
from labelwise.domain import (
    BatchGuarantee,
    Calibration,
    LabelOutcome,
    OutcomeRow,
    RoutingDecision,
)
from labelwise.scoring.consensus import choose_method
from labelwise.scoring.routing import review_rank, route_failure, route_item
from labelwise.spec import Price, ProjectSpec


def outcome_row(
    outcome: LabelOutcome,
    *,
    batch_id: int,
    version: int,
    spec: ProjectSpec,
    price: Price | None,
    calibration: Calibration | None = None,
    batch_guarantee: BatchGuarantee | None = None,
    batch_price_factor: float = 1.0,
) -> OutcomeRow:
    """`calibration` is what gold says of the version (its threshold and, with consensus, the
    scoring method to route by), once there is gold; `batch_guarantee` the item's batch's
    dataset-error guarantee, under a target error."""
    value, scored = outcome.value, outcome.confidence
    if outcome.alternatives:
        method = choose_method(
            spec.consensus.method,
            list(outcome.alternatives),
            calibration.confidence_method if calibration else None,
        )
        value, scored = outcome.alternatives[method].value, outcome.alternatives[method].confidence
    decision = _decision(
        outcome,
        scored.score,
        spec,
        batch_id=batch_id,
        version=version,
        calibration=calibration,
        batch_guarantee=batch_guarantee,
    )
    usage = outcome.usage
    return OutcomeRow(
        item_id=outcome.item_id,
        batch_id=batch_id,
        version=version,
        status=decision.status,
        reason=decision.reason,
        value=value,
        confidence=scored.score,
        method=scored.method.value,
        per_label=scored.per_label,
        model=outcome.model or spec.model.name,
        prompt_tokens=usage.prompt_tokens,
        cached_tokens=usage.cached_tokens,
        completion_tokens=usage.completion_tokens,
        cost_usd=outcome.prior_cost_usd
        + outcome_cost_usd(usage, outcome.batch_usage, price, batch_price_factor),
        latency_ms=outcome.latency_ms,
        attempts=outcome.attempts,
        error_message=outcome.error_message,
        rationale=outcome.rationale,
        scores={method: s.to_json() for method, s in outcome.alternatives.items()} or None,
        cache_hit=outcome.cache_hit,
        parts=outcome.parts,
        review_reason=outcome.review_reason,
        sampled=decision.sampled,
        sample_probability=decision.sample_probability,
        review_rank=review_rank(decision, scored.score, item_id=outcome.item_id),
    )


def _decision(
    outcome: LabelOutcome,
    score: float | None,
    spec: ProjectSpec,
    *,
    batch_id: int,
    version: int,
    calibration: Calibration | None,
    batch_guarantee: BatchGuarantee | None,
) -> RoutingDecision:
    if outcome.error_reason is not None:
        return route_failure(outcome.error_reason)
    if outcome.review_reason is not None:
        # A usable answer the task type wants a human to check: kept, but never accepted alone.
        return route_failure(outcome.review_reason)
    return route_item(
        score,
        spec.routing,
        item_id=outcome.item_id,
        batch_id=batch_id,
        version=version,
        calibration=calibration,
        batch=batch_guarantee,
    )
