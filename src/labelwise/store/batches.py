"""Batches as the API reports them: found by team, with their progress and usage.

Writing a batch is `labelwise.store.batch_writer`; reading its items is
`labelwise.store.item_views`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from labelwise.domain import BatchGuarantee, ItemStatus
from labelwise.errors import NotFoundError
from labelwise.store.models import Batch, Item, Prediction


@dataclass(frozen=True)
class BatchSummary:
    id: int
    project_id: int
    received: int
    counts: dict[str, int]
    usage: dict[str, float]
    mode: str = "online"
    guarantee: BatchGuarantee | None = None

    @property
    def status(self) -> str:
        return "running" if self.counts[ItemStatus.PENDING.value] else "completed"


def get_batch(session: Session, *, team: str, batch_id: int) -> Batch:
    batch = session.get(Batch, batch_id)
    if batch is None or batch.team != team:
        raise NotFoundError(f"batch {batch_id} not found")
    return batch


def summarize_batch(session: Session, *, team: str, batch_id: int) -> BatchSummary:
    batch = get_batch(session, team=team, batch_id=batch_id)
    counts = {status.value: 0 for status in ItemStatus}
    for status, n in session.execute(
        select(Item.status, func.count()).where(Item.batch_id == batch_id).group_by(Item.status)
    ):
        counts[status] = n
    counts["total"] = sum(counts.values())
    usage_row = session.execute(
        select(
            func.coalesce(func.sum(Prediction.prompt_tokens), 0),
            func.coalesce(func.sum(Prediction.cached_tokens), 0),
            func.coalesce(func.sum(Prediction.completion_tokens), 0),
            func.coalesce(func.sum(Prediction.cost_usd), 0.0),
            func.count().filter(Prediction.cache_hit.is_(True)),
            func.count(),
        ).where(Prediction.batch_id == batch_id)
    ).one()
    labeled = int(usage_row[5])
    usage = {
        "prompt_tokens": int(usage_row[0]),
        "cached_tokens": int(usage_row[1]),
        "completion_tokens": int(usage_row[2]),
        "cache_hits": int(usage_row[4]),
        "cost_usd": round(float(usage_row[3]), 6),
        "cost_per_item_usd": round(float(usage_row[3]) / labeled, 8) if labeled else 0.0,
    }
    guarantee = BatchGuarantee.from_json(batch.guarantee) if batch.guarantee else None
    return BatchSummary(
        batch.id, batch.project_id, batch.received, counts, usage, batch.mode, guarantee
    )
