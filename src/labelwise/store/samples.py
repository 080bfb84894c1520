"""The store's side of estimates from random samples: items drawn with a known probability
(an audit of accepted items, a batch's guarantee sample) once reviewers have settled them, and
the populations they were drawn from. Rows only: `labelwise.quality.estimates` weighs them.

Items reviewed because the model was unsure are not here: they were not drawn at random, so
they speak only for themselves.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from labelwise.domain import BatchGuarantee, ItemStatus
from labelwise.store.models import (
    CURRENT_PREDICTION,
    SAMPLED_AUDIT,
    SAMPLED_GUARANTEE,
    Batch,
    Item,
    Prediction,
)

batches = Batch.__table__
items = Item.__table__
predictions = Prediction.__table__

AUDIT, GUARANTEE = SAMPLED_AUDIT, SAMPLED_GUARANTEE
FINAL = (ItemStatus.REVIEWED.value, ItemStatus.FAILED.value)


def _with_prediction() -> Any:
    """Items joined to the prediction of their own version."""
    return items.join(
        predictions,
        CURRENT_PREDICTION,
    )


@dataclass(frozen=True)
class SampledItem:
    """A sampled item reviewers have settled: how it was drawn, the model's prediction, and
    the final state (`reviewed` with the reviewers' label, or `failed`: unlabelable)."""

    item_id: int
    batch_id: int
    sampled: str
    probability: float
    status: str
    label: Any
    value: Any
    confidence: float | None


def sampled_items(
    connection: Connection, *, project_id: int, version: int, sampled: str
) -> list[SampledItem]:
    """The version's items drawn into `sampled` ("audit" or "guarantee") that are final."""
    rows = connection.execute(
        select(
            items.c.id,
            items.c.batch_id,
            items.c.sampled,
            items.c.sample_probability,
            items.c.status,
            items.c.label_value,
            predictions.c.value,
            predictions.c.confidence,
        )
        .select_from(_with_prediction())
        .where(
            items.c.project_id == project_id,
            items.c.version == version,
            items.c.sampled == sampled,
            items.c.sample_probability.is_not(None),
            items.c.status.in_(FINAL),
        )
        .order_by(items.c.id)
    ).all()
    return [SampledItem(*row) for row in rows]


def sampled_count(
    connection: Connection,
    *,
    project_id: int,
    version: int,
    sampled: str,
    batch_ids: Collection[int] | None = None,
) -> int:
    """How many of the version's items (in `batch_ids`, if given) were drawn into `sampled`,
    settled or not."""
    statement = select(func.count()).where(
        items.c.project_id == project_id,
        items.c.version == version,
        items.c.sampled == sampled,
    )
    if batch_ids is not None:
        statement = statement.where(items.c.batch_id.in_(list(batch_ids)))
    return int(connection.execute(statement).scalar_one())


def audit_population(connection: Connection, *, project_id: int, version: int) -> list[float]:
    """The confidences of what audits are drawn from: the version's accepted items and its
    audited ones (accepted, then sent to reviewers)."""
    rows = connection.execute(
        select(predictions.c.confidence)
        .select_from(_with_prediction())
        .where(
            items.c.project_id == project_id,
            items.c.version == version,
            (items.c.status == ItemStatus.ACCEPTED.value) | (items.c.sampled == AUDIT),
            predictions.c.confidence.is_not(None),
        )
    ).all()
    return [row[0] for row in rows]


@dataclass(frozen=True)
class GuaranteeBatch:
    """A batch with a dataset-error guarantee, and the confidence of each of its items the
    version labeled (None: no usable label)."""

    batch_id: int
    guarantee: BatchGuarantee
    confidences: list[float | None]


def guarantee_batches(
    connection: Connection, *, project_id: int, version: int
) -> list[GuaranteeBatch]:
    """The project's batches with a guarantee whose items this version labeled."""
    rows = connection.execute(
        select(items.c.batch_id, predictions.c.confidence, batches.c.guarantee)
        .select_from(_with_prediction().join(batches, batches.c.id == items.c.batch_id))
        .where(
            items.c.project_id == project_id,
            items.c.version == version,
            batches.c.guarantee.is_not(None),
        )
        .order_by(items.c.batch_id, items.c.id)
    ).all()
    confidences: dict[int, list[float | None]] = defaultdict(list)
    stored: dict[int, dict[str, Any]] = {}
    for batch_id, confidence, guarantee in rows:
        confidences[batch_id].append(confidence)
        stored[batch_id] = guarantee
    return [
        GuaranteeBatch(batch_id, BatchGuarantee.from_json(stored[batch_id]), found)
        for batch_id, found in confidences.items()
    ]


@dataclass(frozen=True)
class ClientGold:
    """An item the client sent with its true label, as the version labeled it."""

    value: Any
    confidence: float | None
    truth: Any


def client_gold(connection: Connection, *, project_id: int, version: int) -> list[ClientGold]:
    """The version's items that came with a `ground_truth` (not those reviewers decided)."""
    rows = connection.execute(
        select(predictions.c.value, predictions.c.confidence, items.c.ground_truth)
        .select_from(_with_prediction())
        .where(
            items.c.project_id == project_id,
            items.c.version == version,
            items.c.ground_truth.is_not(None),
            predictions.c.value.is_not(None),
        )
    ).all()
    # A value stored as JSON null passes `IS NOT NULL` on some stores: dropped here.
    return [ClientGold(*row) for row in rows if row[0] is not None]
