"""Ingesting a batch: its items written in one transaction as they stream in, each already owned
by the job that will deliver it."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from labelwise.domain import BatchGuarantee, ItemStatus
from labelwise.store.dialect import insert_ignoring_conflicts
from labelwise.store.models import Batch, Item
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

    def commit(
        self, guarantee_for: Callable[[int], BatchGuarantee | None] | None = None
    ) -> IngestResult:
        """Commit the batch; `guarantee_for` gives, from the number of items created, the batch's
        dataset-error guarantee (its sample's rate is known before any item is labeled)."""
        self._write()
        # Gold jobs first, in the order they filled; the rest after them.
        ordered = {job: self._chunks[job] for job in self._gold_jobs if job in self._chunks}
        ordered.update((job, ids) for job, ids in self._chunks.items() if job not in ordered)
        created = sum(len(ids) for ids in ordered.values())
        self.batch.received, self.batch.created = self.received, created
        guarantee = guarantee_for(created) if guarantee_for is not None else None
        if guarantee is not None:
            self.batch.guarantee, self.batch.awaiting_sample = guarantee.to_json(), True
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
