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


def _claimable(project_id: int, now: float, principal: Principal) -> Any:
    """Items in review, not held by anyone, that this reviewer has not decided already (a
    reviewer never sees an item twice); items reviewers disagree on only for adjudicators."""
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
    if not principal.adjudicates:
        condition &= or_(
            items.c.reason.is_(None), items.c.reason != ReviewReason.DISAGREEMENT.value
        )
    return condition


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
    claimable = _claimable(project_id, now, principal)
    candidate = select(items.c.id).where(claimable).order_by(items.c.id).limit(1)
    if connection.dialect.name == "postgresql":
        candidate = candidate.with_for_update(skip_locked=True)
    token = secrets.token_urlsafe(24)
    row = connection.execute(
        update(items)
        .where(items.c.id == candidate.scalar_subquery(), claimable)
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
    connection: Connection, *, project_id: int, now: float, principal: Principal
) -> int:
    """How many items this reviewer could claim now."""
    return connection.execute(
        select(func.count()).select_from(items).where(_claimable(project_id, now, principal))
    ).scalar_one()
