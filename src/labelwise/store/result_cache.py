"""The result cache: an earlier prediction for the same content, under the same project
version, labels an item again without an LLM call."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select

from labelwise.domain import Confidence, ConfidenceMethod, LabelOutcome, Scored
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
    for (
        content,
        value,
        confidence,
        method,
        per_label,
        scores,
        model,
        rationale,
    ) in connection.execute(statement):
        if content in found or value is None:
            continue
        found[content] = LabelOutcome(
            item_id=0,
            value=value,
            confidence=Confidence(confidence, ConfidenceMethod(method), per_label),
            model=model,
            rationale=rationale,
            alternatives={m: Scored.from_json(m, s) for m, s in (scores or {}).items()},
            cache_hit=True,
        )
    return found
