"""Reviewers' decisions: recorded one per reviewer and item, turned into the item's final label
when they agree (or an adjudicator decides), and taken back by `undo` while the claim lasts.

Every write is conditional on the claim, as in `labelwise.store.review`: a reviewer whose lease
lapsed gets a conflict, never a second label.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from labelwise.domain import ItemStatus, LabelSource
from labelwise.errors import ConflictError, ReviewReason
from labelwise.review.verdict import Decision, Verdict, verdict
from labelwise.spec import ReviewSpec
from labelwise.store.keys import Principal
from labelwise.store.models import NO_LABEL, Item, ReviewDecision
from labelwise.store.review import holding

items = Item.__table__
decisions = ReviewDecision.__table__


def _stale() -> ConflictError:
    return ConflictError(
        "the claim is stale or not yours: claim the item again", code="stale_claim"
    )


def record_decision(
    connection: Connection,
    *,
    item_id: int,
    principal: Principal,
    token: str,
    value: Any,
    unlabelable: bool,
    now: float,
    policy: ReviewSpec,
) -> Verdict:
    """Record this reviewer's decision and settle the item if the decisions now allow it.

    Final: the label is written (a reviewed label is gold from then on) and the claim stays on the
    item, so its reviewer can still undo while it lasts. Not final: the claim is let go for the
    next reviewer; once every reviewer asked for has decided without agreement, the item waits
    for an adjudicator (reason `disagreement`).
    """
    held = (
        select(items.c.project_id, items.c.reason, items.c.claim_expires_at, items.c.claimed_at)
        .where(holding(item_id, principal, token, now))
        .with_for_update()
    )
    row = connection.execute(held).one_or_none()
    if row is None:
        raise _stale()
    project_id, reason, expires, claimed_at = row
    adjudicating = principal.adjudicates and reason == ReviewReason.DISAGREEMENT.value
    try:
        connection.execute(
            insert(decisions).values(
                item_id=item_id,
                project_id=project_id,
                reviewer_id=principal.key_id,
                reviewer_name=principal.name,
                value=None if unlabelable else value,
                unlabelable=unlabelable,
                adjudication=adjudicating,
                reason_before=reason,
                claim_token=token,
                undo_until=expires,
                claimed_at=claimed_at,
                decided_at=now,
            )
        )
    except IntegrityError:
        raise ConflictError("you have already decided this item", code="already_decided") from None
    mine = Decision(principal.name, value, unlabelable)
    result = verdict(
        reviewers_decisions(connection, item_id),
        policy,
        adjudicator=mine if adjudicating else None,
    )
    if result.final:
        status = ItemStatus.FAILED if result.unlabelable else ItemStatus.REVIEWED
        values: dict[str, Any] = {
            "status": status.value,
            "gold": True if status is ItemStatus.REVIEWED else items.c.gold,
            "label_value": result.value,
            "label_confidence": None,
            "label_source": LabelSource.HUMAN.value,
            "labeled_by": ", ".join(result.decided_by)[:200],
            "labeled_at": now,
        }
    else:
        values = {"claim_token": None, "claim_expires_at": None}
        if result.to_adjudicator:
            values["reason"] = ReviewReason.DISAGREEMENT.value
    updated = connection.execute(
        update(items).where(holding(item_id, principal, token, now)).values(**values)
    ).rowcount
    if updated != 1:
        raise _stale()
    return result


def reviewers_decisions(connection: Connection, item_id: int) -> list[Decision]:
    """The reviewers' decisions on an item so far (not an adjudicator's), oldest first."""
    rows = connection.execute(
        select(decisions.c.reviewer_name, decisions.c.value, decisions.c.unlabelable)
        .where(decisions.c.item_id == item_id, decisions.c.adjudication.is_(False))
        .order_by(decisions.c.id)
    ).all()
    return [Decision(name, value, bool(unlabelable)) for name, value, unlabelable in rows]


def undo_decision(
    connection: Connection, *, item_id: int, principal: Principal, token: str, now: float
) -> None:
    """Take back this reviewer's decision while the claim it was made under lasts, and only while
    no other decision rests on it: it must be the item's latest decision, and a final item must
    have been made final by it (another reviewer's final label is never reverted). The item
    returns to review, claimed by them again with the same token, to decide anew."""
    item = connection.execute(
        select(items.c.status, items.c.claim_token, items.c.claim_expires_at)
        .where(items.c.id == item_id)
        .with_for_update()
    ).one()
    status, holder_token, holder_expires = item
    mine = connection.execute(
        select(decisions.c.id, decisions.c.undo_until, decisions.c.reason_before).where(
            decisions.c.item_id == item_id,
            decisions.c.reviewer_id == principal.key_id,
            decisions.c.claim_token == token,
            decisions.c.undo_until >= now,
        )
    ).one_or_none()
    if mine is None:
        raise ConflictError(
            "only your own decision can be undone, and only while its claim lasts",
            code="undo_expired",
        )
    decision_id, undo_until, reason_before = mine
    latest = connection.execute(
        select(func.max(decisions.c.id)).where(decisions.c.item_id == item_id)
    ).scalar_one()
    if latest != decision_id:
        raise ConflictError(
            "another reviewer has decided this item since: your decision can no longer be undone",
            code="undo_refused",
        )
    if status != ItemStatus.REVIEW.value and holder_token != token:
        raise ConflictError(
            "the item's final label was not made by your decision", code="undo_refused"
        )
    someone_else = (
        status == ItemStatus.REVIEW.value
        and holder_token not in (None, token)
        and (holder_expires or 0) >= now
    )
    if someone_else:
        raise ConflictError("another reviewer holds the item now", code="undo_expired")
    connection.execute(delete(decisions).where(decisions.c.id == decision_id))
    connection.execute(
        update(items)
        .where(items.c.id == item_id)
        .values(
            **NO_LABEL,
            status=ItemStatus.REVIEW.value,
            reason=reason_before if reason_before is not None else items.c.reason,
            gold=items.c.ground_truth.is_not(None),
            claim_token=token,
            claimed_by=principal.key_id,
            claim_expires_at=undo_until,
        )
    )
