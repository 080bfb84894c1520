"""What a project has spent and has waiting: the store's side of estimates and spend limits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from labelwise.domain import ItemStatus
from labelwise.store.models import Batch, Item, Prediction


def spent_usd(session: Session, *, project_id: int) -> float:
    """Every prediction the project's items have cost, in every version."""
    total = session.execute(
        select(func.coalesce(func.sum(Prediction.cost_usd), 0.0))
        .join(Batch, Batch.id == Prediction.batch_id)
        .where(Batch.project_id == project_id)
    ).scalar_one()
    return float(total)


def waiting_items(session: Session, *, project_id: int) -> int:
    """Items still to be labeled: money already committed, if not yet spent."""
    return int(
        session.execute(
            select(func.count())
            .select_from(Item)
            .where(Item.project_id == project_id, Item.status == ItemStatus.PENDING.value)
        ).scalar_one()
    )


def recent_item_data(session: Session, *, project_id: int, limit: int) -> list[dict[str, Any]]:
    """The data of the project's latest items: a sample when an estimate is given a count."""
    rows = session.execute(
        select(Item.data).where(Item.project_id == project_id).order_by(Item.id.desc()).limit(limit)
    )
    return [data for (data,) in rows]
