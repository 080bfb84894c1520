"""Provider batches in the store: recorded when submitted, their items leased to them until the
provider's answers are in, and closed with what came back."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy.orm import Session

from labelwise.store.labeling import CLAIMED_COLUMNS, ClaimedItem, items, still_owned
from labelwise.store.models import ProviderBatch


def record_submission(
    session: Session,
    *,
    job_id: str,
    project_id: int,
    batch_id: int,
    version: int,
    base_url: str,
    provider_batch_id: str,
    input_file_id: str,
    requests: dict[str, list[int]],
    copies: dict[str, list[int]],
    lease_until: float,
) -> ProviderBatch:
    """Record a submitted batch and hand its items (and their identical copies), still owned by
    the submitting job, to it."""
    row = ProviderBatch(
        project_id=project_id,
        batch_id=batch_id,
        version=version,
        base_url=base_url,
        provider_batch_id=provider_batch_id,
        input_file_id=input_file_id,
        status="submitted",
        requests=requests,
        copies=copies,
        submitted_at=time.time(),
    )
    session.add(row)
    session.flush()
    item_ids = item_ids_of(row)
    session.execute(
        update(items)
        .where(still_owned(item_ids, job_id))
        .values(lease_owner=row.owner, lease_expires_at=lease_until)
    )
    session.commit()
    return row


def batches_of(session: Session, *, batch_id: int) -> list[ProviderBatch]:
    return list(
        session.execute(
            select(ProviderBatch)
            .where(ProviderBatch.batch_id == batch_id)
            .order_by(ProviderBatch.id)
        ).scalars()
    )


def item_ids_of(row: ProviderBatch) -> list[int]:
    """Every item a provider batch holds: those its requests carry, and their copies."""
    carried = [item_id for ids in row.requests.values() for item_id in ids]
    return carried + [item_id for ids in row.copies.values() for item_id in ids]


def open_batches(session: Session) -> list[ProviderBatch]:
    return list(
        session.execute(
            select(ProviderBatch)
            .where(ProviderBatch.finished_at.is_(None))
            .order_by(ProviderBatch.id)
        ).scalars()
    )


def count_open_batches(connection: Connection) -> int:
    return int(
        connection.execute(
            select(func.count())
            .select_from(ProviderBatch)
            .where(ProviderBatch.finished_at.is_(None))
        ).scalar_one()
    )


def owned_items(
    connection: Connection, *, owner: str, item_ids: Sequence[int]
) -> list[ClaimedItem]:
    """The batch's items still waiting for it: not finished meanwhile, not handed on."""
    rows = connection.execute(select(*CLAIMED_COLUMNS).where(still_owned(item_ids, owner)))
    return [ClaimedItem(*row) for row in rows]


def release_items(connection: Connection, *, owner: str, item_ids: Sequence[int]) -> None:
    """Items the provider did not answer: their lease ends now, so the reconciler delivers them
    again, online."""
    if item_ids:
        connection.execute(
            update(items).where(still_owned(item_ids, owner)).values(lease_expires_at=0.0)
        )


def set_status(session: Session, row_id: int, status: str, counts: dict[str, Any] | None) -> None:
    row = session.get(ProviderBatch, row_id)
    if row is None:
        return
    row.status = status
    if counts is not None:
        row.counts = counts
        row.finished_at = time.time()
    session.commit()
