"""Batches: ingesting items in one transaction, and reading progress, pages and exports back."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from labelwise.domain import ItemStatus
from labelwise.errors import NotFoundError
from labelwise.store.dialect import insert_ignoring_conflicts
from labelwise.store.models import Batch, Item, Prediction
from labelwise.store.projects import ProjectRecord


@dataclass(frozen=True)
class NewItem:
    data: dict[str, Any]
    external_id: str | None = None
    ground_truth: Any = None


@dataclass(frozen=True)
class IngestResult:
    batch_id: int
    received: int
    created: int
    # RQ job id -> the ids of the items that job delivers.
    chunks: dict[str, list[int]] = field(default_factory=dict)


def ingest_batch(
    session: Session,
    *,
    project: ProjectRecord,
    items: Sequence[NewItem],
    chunk_size: int,
    lease_until: float,
) -> IngestResult:
    """Insert a batch and its items in one transaction; items already known are left untouched.

    Each item is written already owned by the job that will deliver it, so the enqueue that follows
    the commit needs no second write, and an item whose enqueue never happens is found by the
    reconciler once `lease_until` passes.
    """
    batch = Batch(project_id=project.id, team=project.team, received=len(items))
    session.add(batch)
    session.flush()
    # Gold first: its scores calibrate the rest, so it should be labeled before them.
    unique = sorted(_first_per_external_id(items), key=lambda item: item.ground_truth is None)
    rows = []
    for start in range(0, len(unique), chunk_size):
        job_id = uuid.uuid4().hex
        rows.extend(
            {
                "project_id": project.id,
                "batch_id": batch.id,
                "external_id": item.external_id,
                "data": item.data,
                "ground_truth": item.ground_truth,
                "content_hash": content_hash(item.data),
                "gold": item.ground_truth is not None,
                "status": ItemStatus.PENDING.value,
                "version": project.version,
                "lease_owner": job_id,
                "lease_expires_at": lease_until,
                "deliveries": 0,
                "claim_fence": 0,
            }
            for item in unique[start : start + chunk_size]
        )
    chunks: dict[str, list[int]] = defaultdict(list)
    if rows:
        connection = session.connection()
        statement = insert_ignoring_conflicts(
            connection, Item.__table__, index_elements=["project_id", "external_id"]
        ).returning(Item.id, Item.lease_owner)
        for item_id, job_id in connection.execute(statement, rows):
            chunks[job_id].append(item_id)
    created = sum(len(ids) for ids in chunks.values())
    batch.created = created
    session.commit()
    return IngestResult(batch.id, len(items), created, dict(chunks))


def content_hash(data: dict[str, Any]) -> str:
    """The same content gives the same hash, whatever the order of its keys."""
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _first_per_external_id(items: Sequence[NewItem]) -> list[NewItem]:
    seen: set[str] = set()
    unique = []
    for item in items:
        if item.external_id is not None:
            if item.external_id in seen:
                continue
            seen.add(item.external_id)
        unique.append(item)
    return unique


@dataclass(frozen=True)
class BatchSummary:
    id: int
    project_id: int
    received: int
    counts: dict[str, int]
    usage: dict[str, float]

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
        ).where(Prediction.batch_id == batch_id)
    ).one()
    usage = {
        "prompt_tokens": int(usage_row[0]),
        "cached_tokens": int(usage_row[1]),
        "completion_tokens": int(usage_row[2]),
        "cache_hits": int(usage_row[4]),
        "cost_usd": round(float(usage_row[3]), 6),
    }
    return BatchSummary(batch.id, batch.project_id, batch.received, counts, usage)


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
    return select(Item, Prediction).outerjoin(
        Prediction, (Prediction.item_id == Item.id) & (Prediction.version == Item.version)
    )


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
            "error": prediction.error_message,
            "rationale": prediction.rationale,
            "cache_hit": prediction.cache_hit,
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
