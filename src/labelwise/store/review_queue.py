"""The review queue: claims are leases with a fencing token, taken in one atomic statement.

A claim hands one unclaimed (or lapsed) `review` item of a project (or of one of its batches) to
one reviewer: the one whose review helps most, the lowest `review_rank` first (routing sets it:
items of a random sample first, then the least confident), items without a rank last, ties by id
(arrival order). The order is the index `ix_items_review_order`'s, so a claim reads the queue's
head instead of sorting the queue.

A submit only lands when the token is the item's current one, held by the same key, and not yet
expired: a reviewer whose lease lapsed and was claimed by someone else gets a conflict, never a
second label.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, or_, select, update
from sqlalchemy.orm import Session

from labelwise.domain import ItemStatus
from labelwise.errors import ConflictError, NotFoundError, ReviewReason
from labelwise.store.keys import Principal
from labelwise.store.models import Item, Prediction, Project, ReviewDecision

items = Item.__table__
decisions = ReviewDecision.__table__


@dataclass(frozen=True)
class Claim:
    item_id: int
    claim_token: str
    fence: int
    lease_expires_at: float


def _claimable(
    project_id: int, now: float, principal: Principal, batch_id: int | None = None
) -> Any:
    """Items in review (of one batch, when asked), not held by anyone, that this reviewer has not
    decided already (a reviewer never sees an item twice); items reviewers disagree on only for
    adjudicators."""
    decided = (
        select(decisions.c.id)
        .where(decisions.c.item_id == items.c.id, decisions.c.reviewer_id == principal.key_id)
        .exists()
    )
    condition = (
        (items.c.project_id == project_id)
        & (items.c.status == ItemStatus.REVIEW.value)
        & or_(items.c.claim_expires_at.is_(None), items.c.claim_expires_at < now)
        & ~decided
    )
    if batch_id is not None:
        condition &= items.c.batch_id == batch_id
    if not principal.adjudicates:
        condition &= or_(
            items.c.reason.is_(None), items.c.reason != ReviewReason.DISAGREEMENT.value
        )
    return condition


def _next_in_order(connection: Connection, claimable: Any) -> Any:
    """The id of the first claimable item in review order, as a scalar the claim's UPDATE
    compares with. `review_rank ASC NULLS LAST, id` is `ix_items_review_order`'s own order on
    PostgreSQL (its B-tree keeps NULLs last) and on SQLite (which reads the index past its NULLs,
    then the NULLs): both stop at the first row instead of sorting the queue. On PostgreSQL the
    row is taken with SKIP LOCKED, so concurrent reviewers each get a different item instead of
    queueing up."""
    candidate = (
        select(items.c.id)
        .where(claimable)
        .order_by(items.c.review_rank.asc().nulls_last(), items.c.id)
        .limit(1)
    )
    if connection.dialect.name == "postgresql":
        candidate = candidate.with_for_update(skip_locked=True)
    return candidate.scalar_subquery()


def claim_next_item(
    connection: Connection,
    *,
    project_id: int,
    principal: Principal,
    now: float,
    lease_seconds: float,
    batch_id: int | None = None,
) -> Claim | None:
    """One conditional UPDATE ... RETURNING of the first claimable item in review order (of
    `batch_id` only, when given); the condition is repeated in the UPDATE so a row another
    claim took in between is not taken twice."""
    claimable = _claimable(project_id, now, principal, batch_id)
    token = secrets.token_urlsafe(24)
    row = connection.execute(
        update(items)
        .where(items.c.id == _next_in_order(connection, claimable), claimable)
        .values(
            claim_token=token,
            claimed_by=principal.key_id,
            claim_expires_at=now + lease_seconds,
            claimed_at=now,
            claim_fence=items.c.claim_fence + 1,
        )
        .returning(items.c.id, items.c.claim_fence, items.c.claim_expires_at)
    ).one_or_none()
    if row is None:
        return None
    return Claim(item_id=row[0], claim_token=token, fence=row[1], lease_expires_at=row[2])


def holding(item_id: int, principal: Principal, token: str, now: float) -> Any:
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
        update(items).where(holding(item_id, principal, token, now)).values(claim_expires_at=until)
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
        .where(holding(item_id, principal, token, now))
        .values(claim_token=None, claim_expires_at=None)
    ).rowcount
    if updated != 1:
        raise ConflictError("the claim is stale or not yours", code="stale_claim")


def count_waiting(
    connection: Connection,
    *,
    project_id: int,
    now: float,
    principal: Principal,
    batch_id: int | None = None,
) -> int:
    """How many items this reviewer could claim now (of `batch_id` only, when given)."""
    claimable = _claimable(project_id, now, principal, batch_id)
    return connection.execute(select(func.count()).select_from(items).where(claimable)).scalar_one()
