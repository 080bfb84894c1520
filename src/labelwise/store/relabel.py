"""Relabeling a batch with the project's current version.

Only labels that rest on a model are redone: items accepted by the model, and items waiting in
review that no reviewer holds. Human decisions stay. The earlier version's prediction is kept
(predictions are unique per item and version), so versions can be compared on the same gold.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from labelwise.domain import ItemStatus, LabelSource
from labelwise.store.batches import get_batch
from labelwise.store.models import Item, Project

items = Item.__table__


@dataclass(frozen=True)
class RelabelResult:
    batch_id: int
    version: int
    relabeled: int
    # RQ job id -> the ids of the items that job delivers.
    chunks: dict[str, list[int]]


def _model_labeled(batch_id: int, version: int, now: float) -> object:
    unclaimed = or_(items.c.claim_expires_at.is_(None), items.c.claim_expires_at < now)
    return and_(
        items.c.batch_id == batch_id,
        items.c.version < version,
        or_(items.c.label_source.is_(None), items.c.label_source == LabelSource.MODEL.value),
        or_(
            items.c.status == ItemStatus.ACCEPTED.value,
            and_(items.c.status == ItemStatus.REVIEW.value, unclaimed),
        ),
    )


def relabel_batch(
    session: Session,
    *,
    team: str,
    batch_id: int,
    chunk_size: int,
    now: float,
    lease_until: float,
) -> RelabelResult:
    """Put the batch's model-labeled items of older versions back to `pending` under the current
    version, each leased to the job that will deliver it (as at ingest), in one transaction."""
    batch = get_batch(session, team=team, batch_id=batch_id)
    version = session.execute(
        select(Project.current_version).where(Project.id == batch.project_id)
    ).scalar_one()
    condition = _model_labeled(batch_id, version, now)
    candidates = list(
        session.execute(select(items.c.id).where(condition).order_by(items.c.id)).scalars()
    )
    connection = session.connection()
    chunks: dict[str, list[int]] = {}
    for start in range(0, len(candidates), chunk_size):
        job_id = uuid.uuid4().hex
        taken = connection.execute(
            update(items)
            .where(items.c.id.in_(candidates[start : start + chunk_size]), condition)
            .values(
                status=ItemStatus.PENDING.value,
                reason=None,
                version=version,
                label_value=None,
                label_confidence=None,
                label_source=None,
                labeled_by=None,
                labeled_at=None,
                claim_token=None,
                claim_expires_at=None,
                lease_owner=job_id,
                lease_expires_at=lease_until,
                deliveries=0,
            )
            .returning(items.c.id)
        ).scalars()
        ids = sorted(taken)
        if ids:
            chunks[job_id] = ids
    session.commit()
    return RelabelResult(batch_id, version, sum(len(ids) for ids in chunks.values()), chunks)
