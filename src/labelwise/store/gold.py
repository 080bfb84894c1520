"""Gold: items whose true label is known, as a version's model labeled and scored them.

The truth is the item's `ground_truth` if the client sent one, else a reviewer's final label.
Gold is never shown to the model with its answer; it measures the model.

Calibration reads only a version's most recent gold (`limit`): it runs after every write that
brings gold, reading all of a large project's gold each time would grow without bound, and the
most recent gold says the most about how the model labels the items arriving now.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Select, or_, select

from labelwise.domain import GoldRecord
from labelwise.errors import ReviewReason
from labelwise.store.models import SAMPLED_GUARANTEE, Item, Prediction

items = Item.__table__
predictions = Prediction.__table__


# Gold a guarantee may be certified on: truth that came without regard to the model's confidence.
# The client's ground truth, a batch's uniform sample, and items reviewed while nothing could be
# accepted (every item went to review, served in arrival order). Items reviewed because their
# confidence was low, or audits of accepted items, are not a random sample of anything the
# threshold is tested on.
_RANDOM_GOLD = or_(
    items.c.ground_truth.is_not(None),
    items.c.sampled == SAMPLED_GUARANTEE,
    items.c.reason == ReviewReason.UNCALIBRATED.value,
)


def gold_by_version(
    connection: Connection, *, project_id: int, versions_wanted: list[int]
) -> dict[int, dict[int, GoldRecord]]:
    """Per version, its gold that is a random sample (`_RANDOM_GOLD`), with parts, keyed by item
    id, so versions can be compared on the items every one of them labeled."""
    rows = connection.execute(
        select(
            predictions.c.version,
            items.c.id,
            predictions.c.value,
            predictions.c.confidence,
            items.c.ground_truth,
            items.c.label_value,
            predictions.c.parts,
        )
        .join(items, items.c.id == predictions.c.item_id)
        .where(
            items.c.project_id == project_id,
            items.c.gold.is_(True),
            _RANDOM_GOLD,
            predictions.c.version.in_(versions_wanted),
            predictions.c.value.is_not(None),
        )
    ).all()
    found: dict[int, dict[int, GoldRecord]] = {v: {} for v in versions_wanted}
    for version, item_id, value, confidence, ground_truth, reviewed, parts in rows:
        truth = _truth(ground_truth, reviewed)
        if value is not None and truth is not None:
            found[version][item_id] = GoldRecord(value, confidence, truth, parts)
    return found


def recent_gold(
    connection: Connection, *, project_id: int, version: int, limit: int
) -> list[GoldRecord]:
    """The version's labels of its `limit` most recent gold items, with confidence and truth."""
    statement = _of_version(
        select(
            predictions.c.value, predictions.c.confidence, items.c.ground_truth, items.c.label_value
        ).where(predictions.c.value.is_not(None)),
        project_id=project_id,
        version=version,
        limit=limit,
    )
    found = []
    for value, confidence, ground_truth, reviewed in connection.execute(statement):
        truth = _truth(ground_truth, reviewed)
        if value is not None and truth is not None:
            found.append(GoldRecord(value, confidence, truth))
    return found


def gold_by_method(
    connection: Connection, *, project_id: int, version: int, limit: int | None = None
) -> dict[str, list[GoldRecord]]:
    """With consensus: the version's gold (its `limit` most recent items, or all) as each scoring
    method labeled and scored it."""
    statement = _of_version(
        select(predictions.c.scores, items.c.ground_truth, items.c.label_value).where(
            predictions.c.scores.is_not(None)
        ),
        project_id=project_id,
        version=version,
        limit=limit,
    )
    return _per_method(connection.execute(statement))


def recent_confidences(
    connection: Connection, *, project_id: int, version: int, limit: int
) -> list[float]:
    """The model's confidences on the version's `limit` most recent items, truth unseen: what
    fixes the candidate thresholds before any gold is read."""
    rows = connection.execute(
        select(predictions.c.confidence)
        .join(items, items.c.id == predictions.c.item_id)
        .where(
            items.c.project_id == project_id,
            predictions.c.version == version,
            predictions.c.confidence.is_not(None),
        )
        .order_by(items.c.id.desc())
        .limit(limit)
    ).scalars()
    return list(rows)


def _of_version(
    statement: Select[Any], *, project_id: int, version: int, limit: int | None
) -> Select[Any]:
    """`statement` over the version's gold that is a random sample, newest item first."""
    return (
        statement.join(items, items.c.id == predictions.c.item_id)
        .where(
            items.c.project_id == project_id,
            items.c.gold.is_(True),
            _RANDOM_GOLD,
            predictions.c.version == version,
        )
        .order_by(items.c.id.desc())
        .limit(limit)
    )


def _per_method(rows: Iterable[Any]) -> dict[str, list[GoldRecord]]:
    found: dict[str, list[GoldRecord]] = {}
    for scores, ground_truth, reviewed in rows:
        truth = _truth(ground_truth, reviewed)
        for method, stored in (scores or {}).items():
            if truth is not None and stored.get("value") is not None:
                found.setdefault(method, []).append(
                    GoldRecord(stored["value"], stored.get("confidence"), truth)
                )
    return found


def _truth(ground_truth: Any, reviewed: Any) -> Any:
    return ground_truth if ground_truth is not None else reviewed
