"""Items as the API and exports show them: with their final label and current prediction, read
by page, by batch, by id or by external id."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from labelwise.scrub import scrub_secrets
from labelwise.store.batches import get_batch
from labelwise.store.models import CURRENT_PREDICTION, Item, Prediction


@dataclass(frozen=True)
class ItemView:
    """An item with its final label and current prediction, as the API and exports show it."""

    id: int
    external_id: str | None
    data: dict[str, Any]
    status: str
    reason: str | None
    ground_truth: Any
    label_value: Any
    label_confidence: float | None
    label_source: str | None
    labeled_by: str | None
    prediction: dict[str, Any] | None


def _views() -> Any:
    """Items joined to the prediction of their current version."""
    return select(Item, Prediction).outerjoin(Prediction, CURRENT_PREDICTION)


def _page(batch_id: int, after_id: int, limit: int) -> Any:
    return (
        _views().where(Item.batch_id == batch_id, Item.id > after_id).order_by(Item.id).limit(limit)
    )


def _to_view(item: Item, prediction: Prediction | None) -> ItemView:
    return ItemView(
        id=item.id,
        external_id=item.external_id,
        data=item.data,
        status=item.status,
        reason=item.reason,
        ground_truth=item.ground_truth,
        label_value=item.label_value,
        label_confidence=item.label_confidence,
        label_source=item.label_source,
        labeled_by=item.labeled_by,
        prediction=None
        if prediction is None
        else {
            "value": prediction.value,
            "confidence": prediction.confidence,
            "method": prediction.method,
            "model": prediction.model,
            "version": prediction.version,
            # Scrubbed again on the way out: messages stored before scrubbing existed.
            "error": scrub_secrets(prediction.error_message),
            "rationale": prediction.rationale,
            "cache_hit": prediction.cache_hit,
            "parts": prediction.parts,
        },
    )


def list_batch_items(
    session: Session, *, team: str, batch_id: int, after_id: int, limit: int
) -> tuple[list[ItemView], int | None]:
    """One page by keyset on the item id; the cursor is the last id of the page."""
    get_batch(session, team=team, batch_id=batch_id)
    rows = session.execute(_page(batch_id, after_id, limit + 1)).all()
    views = [_to_view(item, prediction) for item, prediction in rows[:limit]]
    next_cursor = views[-1].id if len(rows) > limit else None
    return views, next_cursor


def iter_batch_items(engine: Engine, *, batch_id: int, page_size: int = 1000) -> Iterator[ItemView]:
    """Every item of a batch, page by page, each page in its own short transaction.

    An export of millions of items must neither hold a lock nor buffer the batch in memory.
    """
    after_id = 0
    while True:
        with Session(engine) as session:
            rows = session.execute(_page(batch_id, after_id, page_size)).all()
            views = [_to_view(item, prediction) for item, prediction in rows]
        yield from views
        if len(views) < page_size:
            return
        after_id = views[-1].id


def item_view(session: Session, item_id: int) -> ItemView:
    item, prediction = session.execute(_views().where(Item.id == item_id)).one()
    return _to_view(item, prediction)


def item_views_by_external_id(
    session: Session, *, project_id: int, external_ids: list[str]
) -> dict[str, ItemView]:
    rows = session.execute(
        _views().where(Item.project_id == project_id, Item.external_id.in_(external_ids))
    ).all()
    return {item.external_id: _to_view(item, prediction) for item, prediction in rows}
