"""Labeling items again with the project's current version.

Only labels that rest on a model are redone: items accepted by the model, and items waiting in
review that no reviewer holds. Human decisions stay.

- A batch (`relabel_batch`): its items labeled under an older version. The earlier prediction is
  kept (predictions are unique per item and version), so versions compare on the same gold.
- The review queue (`relabel_queue`): items waiting for a low, uncalibrated or missing score,
  whatever their version, for a prompt that has learned from reviews since. Their prediction of
  the current version, if any, is replaced: it is exactly what is being redone. What it cost
  stays in the project's spend ledger (`labelwise.store.spend`).

Both take a `reserve` step once the items are requeued, before the commit: it refuses (raises)
when the project's budget has no room for them, and the caller's rollback changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session

from labelwise.domain import ItemStatus, LabelSource
from labelwise.errors import ReviewReason
from labelwise.store.batches import get_batch
from labelwise.store.models import NO_LABEL, Batch, Item, Prediction, Project
from labelwise.store.projects import get_project

items = Item.__table__
predictions = Prediction.__table__

# What a better prompt (or a raised spend limit) can change; failures and audits wait for
# their human.
_SCORE_REASONS = (
    ReviewReason.LOW_CONFIDENCE.value,
    ReviewReason.UNCALIBRATED.value,
    ReviewReason.NO_CONFIDENCE.value,
    ReviewReason.SPEND_LIMIT.value,
    # A usable answer the task type wanted checked rests on the model too: a better prompt may
    # find the span, or answer the same in both orders.
    ReviewReason.SPAN_NOT_FOUND.value,
    ReviewReason.ORDER_DISAGREEMENT.value,
)


# Called with a project's id, the ids of its items just put back to pending, and the jobs that
# will deliver them; raises (and the caller rolls back) when the budget has no room.
Reserve = Callable[[int, list[int], list[str]], None]


@dataclass(frozen=True)
class RelabelResult:
    version: int
    relabeled: int
    # RQ job id -> the ids of the items that job delivers.
    chunks: dict[str, list[int]]


def _unclaimed(now: float) -> Any:
    return or_(items.c.claim_expires_at.is_(None), items.c.claim_expires_at < now)


def _model_decided(now: float) -> Any:
    return and_(
        or_(items.c.label_source.is_(None), items.c.label_source == LabelSource.MODEL.value),
        or_(
            items.c.status == ItemStatus.ACCEPTED.value,
            and_(items.c.status == ItemStatus.REVIEW.value, _unclaimed(now)),
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
    reserve: Reserve,
) -> RelabelResult:
    """Put the batch's model-labeled items of older versions back to `pending` under the current
    version, each leased to the job that will deliver it (as at ingest), in one transaction."""
    batch = get_batch(session, team=team, batch_id=batch_id)
    version = session.execute(
        select(Project.current_version).where(Project.id == batch.project_id)
    ).scalar_one()
    condition = and_(items.c.batch_id == batch_id, items.c.version < version, _model_decided(now))
    return _requeue(
        session,
        condition,
        version,
        chunk_size,
        lease_until,
        lambda ids, jobs: reserve(batch.project_id, ids, jobs),
    )


def relabel_queue(
    session: Session,
    *,
    team: str,
    project_id: int,
    chunk_size: int,
    now: float,
    lease_until: float,
    reserve: Reserve,
) -> RelabelResult:
    """Put the project's unclaimed items waiting in review for their score back to `pending`
    under the current version, in one transaction. Items of a batch under a dataset-error
    guarantee stay: its cut was certified on the model that labeled them."""
    project = get_project(session, team=team, project_id=project_id)
    guaranteed = select(Batch.id).where(
        Batch.project_id == project.id, Batch.guarantee.is_not(None)
    )
    condition = and_(
        items.c.project_id == project.id,
        items.c.status == ItemStatus.REVIEW.value,
        items.c.reason.in_(_SCORE_REASONS),
        items.c.label_source.is_(None),
        items.c.batch_id.not_in(guaranteed),
        _unclaimed(now),
    )
    return _requeue(
        session,
        condition,
        project.version,
        chunk_size,
        lease_until,
        lambda ids, jobs: reserve(project.id, ids, jobs),
    )


def _requeue(
    session: Session,
    condition: Any,
    version: int,
    chunk_size: int,
    lease_until: float,
    reserve: Callable[[list[int], list[str]], None],
) -> RelabelResult:
    candidates = list(
        session.execute(select(items.c.id).where(condition).order_by(items.c.id)).scalars()
    )
    connection = session.connection()
    chunks: dict[str, list[int]] = {}
    for start in range(0, len(candidates), chunk_size):
        job_id = uuid.uuid4().hex
        taken = sorted(
            connection.execute(
                update(items)
                .where(items.c.id.in_(candidates[start : start + chunk_size]), condition)
                .values(
                    **NO_LABEL,
                    status=ItemStatus.PENDING.value,
                    reason=None,
                    version=version,
                    claim_token=None,
                    claim_expires_at=None,
                    lease_owner=job_id,
                    lease_expires_at=lease_until,
                    deliveries=0,
                )
                .returning(items.c.id)
            ).scalars()
        )
        if taken:
            _forget_predictions(connection, taken, version)
            chunks[job_id] = taken
    if chunks:
        reserve([i for ids in chunks.values() for i in ids], list(chunks))
    session.commit()
    return RelabelResult(version, sum(len(ids) for ids in chunks.values()), chunks)


def _forget_predictions(connection: Any, item_ids: Sequence[int], version: int) -> None:
    """The prediction being redone goes, so the new one can take its (item, version) key."""
    connection.execute(
        delete(predictions).where(
            predictions.c.item_id.in_(list(item_ids)), predictions.c.version == version
        )
    )
