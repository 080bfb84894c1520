"""The result cache: an earlier prediction for the same content, under the same project
version, labels an item again without an LLM call."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, select

from labelwise.domain import Confidence, ConfidenceMethod, LabelOutcome, Scored
from labelwise.errors import ReviewReason
from labelwise.store.models import Item, Prediction

items = Item.__table__
predictions = Prediction.__table__


def cached_outcomes(
    connection: Connection,
    *,
    project_id: int,
    version: int,
    hashes: Iterable[str],
    batch_id: int | None = None,
) -> dict[str, LabelOutcome]:
    """By content hash, a successful prediction to copy (item id 0: the caller sets its own).
    With `batch_id`, only predictions made for that batch count."""
    wanted = sorted(set(hashes))
    if not wanted:
        return {}
    statement = (
        select(
            items.c.content_hash,
            predictions.c.value,
            predictions.c.confidence,
            predictions.c.method,
            predictions.c.per_label,
            predictions.c.scores,
            predictions.c.model,
            predictions.c.rationale,
            predictions.c.parts,
            predictions.c.review_reason,
        )
        .join(items, items.c.id == predictions.c.item_id)
        .where(
            items.c.project_id == project_id,
            items.c.content_hash.in_(wanted),
            predictions.c.version == version,
            predictions.c.error_kind.is_(None),
            predictions.c.value.is_not(None),
        )
        .order_by(predictions.c.id)
    )
    if batch_id is not None:
        statement = statement.where(predictions.c.batch_id == batch_id)
    found: dict[str, LabelOutcome] = {}
    for row in connection.execute(statement):
        # A JSON null passes `IS NOT NULL`: there is no value to copy.
        if row[0] not in found and row[1] is not None:
            found[row[0]] = _cached(*row[1:])
    return found


def _cached(
    value: Any,
    confidence: float | None,
    method: str,
    per_label: dict[str, float] | None,
    scores: dict[str, Any] | None,
    model: str,
    rationale: str | None,
    parts: Any,
    review_reason: str | None,
) -> LabelOutcome:
    """A stored prediction as an outcome to copy, with the parts and the reason to review that
    made its item wait for a human: a copy is routed the same way."""
    return LabelOutcome(
        item_id=0,
        value=value,
        confidence=Confidence(confidence, ConfidenceMethod(method), per_label),
        model=model,
        rationale=rationale,
        alternatives={m: Scored.from_json(m, s) for m, s in (scores or {}).items()},
        cache_hit=True,
        parts=parts,
        review_reason=ReviewReason(review_reason) if review_reason else None,
    )
