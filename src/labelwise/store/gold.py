"""Gold: items whose true label is known, as a version's model labeled and scored them.

The truth is the item's `ground_truth` if the client sent one, else a reviewer's final label.
Gold is never shown to the model with its answer; it measures the model.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from labelwise.domain import GoldRecord
from labelwise.store.models import Item, Prediction

items = Item.__table__
predictions = Prediction.__table__


def gold_by_version(
    connection: Connection, *, project_id: int, versions_wanted: list[int]
) -> dict[int, dict[int, GoldRecord]]:
    """Per version, its gold records keyed by item id, so versions can be compared on the items
    every one of them labeled."""
    rows = connection.execute(
        select(
            predictions.c.version,
            items.c.id,
            predictions.c.value,
            predictions.c.confidence,
            items.c.ground_truth,
            items.c.label_value,
        )
        .join(items, items.c.id == predictions.c.item_id)
        .where(
            items.c.project_id == project_id,
            items.c.gold.is_(True),
            predictions.c.version.in_(versions_wanted),
            predictions.c.value.is_not(None),
        )
    ).all()
    found: dict[int, dict[int, GoldRecord]] = {v: {} for v in versions_wanted}
    for version, item_id, value, confidence, ground_truth, reviewed in rows:
        truth = ground_truth if ground_truth is not None else reviewed
        if value is not None and truth is not None:
            found[version][item_id] = GoldRecord(value, confidence, truth)
    return found


def gold_records(connection: Connection, *, project_id: int, version: int) -> list[GoldRecord]:
    """Every gold item the version's model gave a label, with its confidence and the truth."""
    found = gold_by_version(connection, project_id=project_id, versions_wanted=[version])
    return list(found[version].values())


def gold_by_method(
    connection: Connection, *, project_id: int, version: int
) -> dict[str, list[GoldRecord]]:
    """With consensus: the version's gold as each scoring method labeled and scored it."""
    rows = connection.execute(
        select(predictions.c.scores, items.c.ground_truth, items.c.label_value)
        .join(items, items.c.id == predictions.c.item_id)
        .where(
            items.c.project_id == project_id,
            items.c.gold.is_(True),
            predictions.c.version == version,
            predictions.c.scores.is_not(None),
        )
    ).all()
    found: dict[str, list[GoldRecord]] = {}
    for scores, ground_truth, reviewed in rows:
        truth = ground_truth if ground_truth is not None else reviewed
        for method, stored in (scores or {}).items():
            if truth is not None and stored.get("value") is not None:
                found.setdefault(method, []).append(
                    GoldRecord(stored["value"], stored.get("confidence"), truth)
                )
    return found
