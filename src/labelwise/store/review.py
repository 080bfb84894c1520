"""The review queue: claims are leases with a fencing token, taken in one atomic statement.

A claim hands the oldest unclaimed (or lapsed) `review` item of a project to one reviewer. A submit
only lands when the token is the item's current one, held by the same key, and not yet expired: a
reviewer whose lease lapsed and was claimed by someone else gets a conflict, never a second label.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, or_, select, update
from sqlalchemy.orm import Session

from labelwise.domain import ItemStatus, LabelSource
from labelwise.errors import ConflictError, NotFoundError
from labelwise.store.keys import Principal
from labelwise.store.models import Item, Prediction, Project

items = Item.__table__


@dataclass(frozen=True)
class Claim:
    item_id: int
    claim_token: str
    fence: int
    lease_expires_at: float


def _claimable(project_id: int, now: float) -> Any:
    return (
        (items.c.project_id == project_id)
        & (items.c.status == ItemStatus.REVIEW.value)
        & or_(items.c.claim_expires_at.is_(None), items.c.claim_expires_at < now)
    )


def claim_next_item(
    connection: Connection,
    *,
    project_id: int,
    principal: Principal,
    now: float,
    lease_seconds: float,
) -> Claim | None:
    """One conditional UPDATE ... RETURNING; on PostgreSQL the candidate row is taken with
    SKIP LOCKED so concurrent reviewers each get a different item instead of queueing up."""
    candidate = select(items.c.id).where(_claimable(project_id, now)).order_by(items.c.id).limit(1)
    if connection.dialect.name == "postgresql":
        candidate = candidate.with_for_update(skip_locked=True)
    token = secrets.token_urlsafe(24)
    row = connection.execute(
        update(items)
        .where(items.c.id == candidate.scalar_subquery(), _claimable(project_id, now))
        .values(
            claim_token=token,
            claimed_by=principal.key_id,
            claim_expires_at=now + lease_seconds,
            claim_fence=items.c.claim_fence + 1,
        )
        .returning(items.c.id, items.c.claim_fence, items.c.claim_expires_at)
    ).one_or_none()
    if row is None:
        return None
    return Claim(item_id=row[0], claim_token=token, fence=row[1], lease_expires_at=row[2])


def _holding(item_id: int, principal: Principal, token: str, now: float) -> Any:
    return (
        (items.c.id == item_id)
        & (items.c.status == ItemStatus.REVIEW.value)
        & (items.c.claim_token == token)
        & (items.c.claimed_by == principal.key_id)
        & (items.c.claim_expires_at >= now)
    )


def load_item_for_team(session: Session, *, item_id: int, team: str) -> Item:
    row = session.execute(
        select(Item)
        .join(Project, Project.id == Item.project_id)
        .where(Item.id == item_id, Project.team == team)
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"item {item_id} not found")
    return row[0]


def current_prediction(session: Session, item: Item) -> Prediction | None:
    row = session.execute(
        select(Prediction).where(Prediction.item_id == item.id, Prediction.version == item.version)
    ).one_or_none()
    return None if row is None else row[0]


def submit_label(
    connection: Connection,
    *,
    item_id: int,
    principal: Principal,
    token: str,
    status: ItemStatus,
    value: Any,
    now: float,
) -> None:
    """Write the human's final label if, and only if, the claim is still this reviewer's.

    A reviewed label is gold from then on: it calibrates the version that predicted it.
    """
    updated = connection.execute(
        update(items)
        .where(_holding(item_id, principal, token, now))
        .values(
            status=status.value,
            gold=True if status is ItemStatus.REVIEWED else items.c.gold,
            label_value=value,
            label_confidence=None,
            label_source=LabelSource.HUMAN.value,
            labeled_by=principal.name,
            labeled_at=now,
            # The claim stays on the item until it lapses: while it lasts, `undo_label` lets the
            # same reviewer take the decision back.
        )
    ).rowcount
    if updated != 1:
        raise ConflictError(
            "the claim is stale or not yours: claim the item again", code="stale_claim"
        )


def undo_label(
    connection: Connection, *, item_id: int, principal: Principal, token: str, now: float
) -> None:
    """Take back this reviewer's decision on an item while the claim it was made under lasts:
    the item is back in review, still claimed by them with the same token."""
    updated = connection.execute(
        update(items)
        .where(
            (items.c.id == item_id)
            & items.c.status.in_([ItemStatus.REVIEWED.value, ItemStatus.FAILED.value])
            & (items.c.label_source == LabelSource.HUMAN.value)
            & (items.c.claim_token == token)
            & (items.c.claimed_by == principal.key_id)
            & (items.c.claim_expires_at >= now)
        )
        .values(
            status=ItemStatus.REVIEW.value,
            label_value=None,
            label_confidence=None,
            label_source=None,
            labeled_by=None,
            labeled_at=None,
            gold=items.c.ground_truth.is_not(None),
        )
    ).rowcount
    if updated != 1:
        raise ConflictError(
            "only your own decision can be undone, and only while its claim lasts",
            code="undo_expired",
        )


def renew_claim(
    connection: Connection,
    *,
    item_id: int,
    principal: Principal,
    token: str,
    now: float,
    lease_seconds: float,
) -> float:
    """Extend a claim still held; returns when it now expires."""
    until = now + lease_seconds
    updated = connection.execute(
        update(items).where(_holding(item_id, principal, token, now)).values(claim_expires_at=until)
    ).rowcount
    if updated != 1:
        raise ConflictError("the claim is stale or not yours", code="stale_claim")
    return until


def release_claim(
    connection: Connection, *, item_id: int, principal: Principal, token: str, now: float
) -> None:
    """Give an item back to the queue (a skip) before its lease runs out."""
    updated = connection.execute(
        update(items)
        .where(_holding(item_id, principal, token, now))
        .values(claim_token=None, claim_expires_at=None)
    ).rowcount
    if updated != 1:
        raise ConflictError("the claim is stale or not yours", code="stale_claim")


def count_waiting(connection: Connection, *, project_id: int, now: float) -> int:
    return connection.execute(
        select(func.count()).select_from(items).where(_claimable(project_id, now))
    ).scalar_one()
