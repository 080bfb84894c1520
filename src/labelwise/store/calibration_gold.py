"""The gold a version is calibrated on: its most recent gold items, at most a given number.

Recalibration runs after every write that brings gold; reading all of a large project's gold each
time would grow without bound, and the most recent gold says the most about how the model labels
the items arriving now. The truth is the item's `ground_truth` if the client sent one, else a
reviewer's final label.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Select, select

from labelwise.domain import GoldRecord
from labelwise.store.models import Item, Prediction

items = Item.__table__
predictions = Prediction.__table__


def _recent(statement: Select[Any], *, project_id: int, version: int, limit: int) -> Select[Any]:
    return (
        statement.join(items, items.c.id == predictions.c.item_id)
        .where(
            items.c.project_id == project_id,
            items.c.gold.is_(True),
            predictions.c.version == version,
        )
        .order_by(items.c.id.desc())
        .limit(limit)
    )


def recent_gold(
    connection: Connection, *, project_id: int, version: int, limit: int
) -> list[GoldRecord]:
    """The version's labels of its `limit` most recent gold items, with confidence and truth."""
    statement = _recent(
        select(
            predictions.c.value, predictions.c.confidence, items.c.ground_truth, items.c.label_value
        ).where(predictions.c.value.is_not(None)),
        project_id=project_id,
        version=version,
        limit=limit,
    )
    found = []
    for value, confidence, ground_truth, reviewed in connection.execute(statement):
        truth = ground_truth if ground_truth is not None else reviewed
        if value is not None and truth is not None:
            found.append(GoldRecord(value, confidence, truth))
    return found


def recent_gold_by_method(
    connection: Connection, *, project_id: int, version: int, limit: int
) -> dict[str, list[GoldRecord]]:
    """With consensus: the `limit` most recent gold items as each scoring method labeled and
    scored them."""
    statement = _recent(
        select(predictions.c.scores, items.c.ground_truth, items.c.label_value).where(
            predictions.c.scores.is_not(None)
        ),
        project_id=project_id,
        version=version,
        limit=limit,
    )
    found: dict[str, list[GoldRecord]] = {}
    for scores, ground_truth, reviewed in connection.execute(statement):
        truth = ground_truth if ground_truth is not None else reviewed
        for method, stored in (scores or {}).items():
            if truth is not None and stored.get("value") is not None:
                found.setdefault(method, []).append(
                    GoldRecord(stored["value"], stored.get("confidence"), truth)
                )
    return found
