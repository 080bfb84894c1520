"""Batches: ingesting items in one transaction as they stream in, and reading progress, pages
and exports back."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from labelwise.domain import ItemStatus
from labelwise.errors import NotFoundError
from labelwise.scrub import scrub_secrets
from labelwise.store.dialect import insert_ignoring_conflicts
from labelwise.store.models import Batch, Item, Prediction
from labelwise.store.projects import ProjectRecord

# Rows sent to the database at once while a batch streams in.
_WRITE_ROWS = 2000


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


class BatchWriter:
    """Writes a batch's items as they are read, in one transaction, a few thousand rows at a time:
    a batch of any size costs the same memory, and a bad item anywhere leaves nothing behind.

    Each item is written already owned by the job that will deliver it, so the enqueue that
    follows the commit needs no second write, and an item whose enqueue never happens is found by
    the reconciler once `lease_until` passes. Gold items go to jobs of their own, delivered first:
    their scores calibrate the rest. An item whose external id the project already has (or that
    came earlier in the batch) is left untouched.
    """

    def __init__(
        self,
        session: Session,
        *,
        project: ProjectRecord,
        chunk_size: int,
        lease_until: float,
        mode: str = "online",
    ) -> None:
        self.session = session
        self.project = project
        self.chunk_size = chunk_size
        self.lease_until = lease_until
        self.received = 0
        self.batch = Batch(project_id=project.id, team=project.team, received=0, mode=mode)
        session.add(self.batch)
        session.flush()
        self._rows: list[dict[str, Any]] = []
        # (gold?) -> the job filling up, and how many items it has.
        self._open: dict[bool, tuple[str, int]] = {}
        self._chunks: dict[str, list[int]] = defaultdict(list)
        self._gold_jobs: list[str] = []
        self._statement: Any = None

    def add(self, item: NewItem) -> None:
        self.received += 1
        gold = item.ground_truth is not None
        self._rows.append(
            {
                "project_id": self.project.id,
                "batch_id": self.batch.id,
                "external_id": item.external_id,
                "data": item.data,
                "ground_truth": item.ground_truth,
                "content_hash": content_hash(item.data),
                "gold": gold,
                "status": ItemStatus.PENDING.value,
                "version": self.project.version,
                "lease_owner": self._job_for(gold),
                "lease_expires_at": self.lease_until,
                "deliveries": 0,
                "claim_fence": 0,
            }
        )
        if len(self._rows) >= _WRITE_ROWS:
            self._write()

    def flush(self) -> None:
        """Write the rows still buffered. Callers that lock the project row before committing
        flush first: an insert that waits on an item a worker is finishing, while this
        transaction holds the project row that worker's spend needs, would deadlock."""
        self._write()

    def commit(self) -> IngestResult:
        self._write()
        # Gold jobs first, in the order they filled; the rest after them.
        ordered = {job: self._chunks[job] for job in self._gold_jobs if job in self._chunks}
        ordered.update((job, ids) for job, ids in self._chunks.items() if job not in ordered)
        created = sum(len(ids) for ids in ordered.values())
        self.batch.received, self.batch.created = self.received, created
        self.session.commit()
        return IngestResult(self.batch.id, self.received, created, ordered)

    def _job_for(self, gold: bool) -> str:
        job_id, size = self._open.get(gold, ("", self.chunk_size))
        if size >= self.chunk_size:
            job_id, size = uuid.uuid4().hex, 0
            if gold:
                self._gold_jobs.append(job_id)
        self._open[gold] = (job_id, size + 1)
        return job_id

    def _write(self) -> None:
        if not self._rows:
            return
        rows, self._rows = self._rows, []
        connection = self.session.connection()
        if self._statement is None:
            self._statement = insert_ignoring_conflicts(
                connection, Item.__table__, index_elements=["project_id", "external_id"]
            ).returning(Item.id, Item.lease_owner)
        for item_id, job_id in connection.execute(self._statement, rows):
            self._chunks[job_id].append(item_id)


def ingest_batch(
    session: Session,
    *,
    project: ProjectRecord,
    items: Iterable[NewItem],
    chunk_size: int,
    lease_until: float,
) -> IngestResult:
    """Insert a batch and its items in one transaction (see `BatchWriter`)."""
    writer = BatchWriter(session, project=project, chunk_size=chunk_size, lease_until=lease_until)
    for item in items:
        writer.add(item)
    return writer.commit()


def content_hash(data: dict[str, Any]) -> str:
    """The same content gives the same hash, whatever the order of its keys."""
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class BatchSummary:
    id: int
    project_id: int
    received: int
    counts: dict[str, int]
    usage: dict[str, float]
    mode: str = "online"

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
    return BatchSummary(batch.id, batch.project_id, batch.received, counts, usage, batch.mode)


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
            # Scrubbed again on the way out: messages stored before scrubbing existed.
            "error": scrub_secrets(prediction.error_message),
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
