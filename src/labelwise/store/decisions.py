"""Reviewers' decisions in the database: the item held under a claim, the decisions recorded on
it, the final label they settle on, and `undo` while the claim lasts.

Which decisions make an item final is the reviewing policy's call (`labelwise.review.decisions`
asks `labelwise.review.verdict`); the queries here only read and write what it decided. Every
write is conditional on the claim, as in `labelwise.store.review_queue`: a reviewer whose lease
lapsed gets a conflict, never a second label.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from labelwise.domain import ItemStatus, LabelSource
from labelwise.errors import ConflictError, ReviewReason
from labelwise.store.keys import Principal
from labelwise.store.models import NO_LABEL, Item, ReviewDecision
from labelwise.store.review_queue import holding

items = Item.__table__
decisions = ReviewDecision.__table__
# `labeled_by` holds at most this many characters of the reviewers' names.
_LABELED_BY_CHARS = 200


@dataclass(frozen=True)
class ReviewerClaim:
    """A reviewer acting on an item under the claim token they were given, at time `now`."""

    item_id: int
    principal: Principal
    token: str
    now: float

    def holds(self) -> Any:
        """The condition under which the claim is still live and theirs."""
        return holding(self.item_id, self.principal, self.token, self.now)


@dataclass(frozen=True)
class HeldItem:
    """An item locked under a reviewer's live claim: what a decision on it records alongside."""

    project_id: int
    reason: str | None
    claim_expires_at: float | None
    claimed_at: float | None


@dataclass(frozen=True)
class DecisionRow:
    """One reviewer's recorded decision: a label, or that the item cannot be labeled."""

    reviewer: str
    value: Any
    unlabelable: bool


def _stale() -> ConflictError:
    return ConflictError(
        "the claim is stale or not yours: claim the item again", code="stale_claim"
    )


def lock_held_item(connection: Connection, claim: ReviewerClaim) -> HeldItem:
    """The item the claim is on, locked until the transaction ends; a conflict when the claim is
    stale or someone else's."""
    held = (
        select(items.c.project_id, items.c.reason, items.c.claim_expires_at, items.c.claimed_at)
        .where(claim.holds())
        .with_for_update()
    )
    row = connection.execute(held).one_or_none()
    if row is None:
        raise _stale()
    project_id, reason, expires, claimed_at = row
    return HeldItem(project_id, reason, expires, claimed_at)


def insert_decision(
    connection: Connection,
    claim: ReviewerClaim,
    held: HeldItem,
    *,
    value: Any,
    unlabelable: bool,
    adjudication: bool,
) -> None:
    """Record one decision; a reviewer decides an item once (a conflict the second time). It
    keeps the claim it was made under, so `undo_decision` can restore that claim."""
    try:
        connection.execute(
            insert(decisions).values(
                item_id=claim.item_id,
                project_id=held.project_id,
                reviewer_id=claim.principal.key_id,
                reviewer_name=claim.principal.name,
                value=None if unlabelable else value,
                unlabelable=unlabelable,
                adjudication=adjudication,
                reason_before=held.reason,
                claim_token=claim.token,
                undo_until=held.claim_expires_at,
                claimed_at=held.claimed_at,
                decided_at=claim.now,
            )
        )
    except IntegrityError:
        raise ConflictError("you have already decided this item", code="already_decided") from None


def reviewers_decisions(connection: Connection, item_id: int) -> list[DecisionRow]:
    """The reviewers' decisions on an item so far (not an adjudicator's), oldest first."""
    rows = connection.execute(
        select(decisions.c.reviewer_name, decisions.c.value, decisions.c.unlabelable)
        .where(decisions.c.item_id == item_id, decisions.c.adjudication.is_(False))
        .order_by(decisions.c.id)
    ).all()
    return [DecisionRow(name, value, bool(unlabelable)) for name, value, unlabelable in rows]


def write_final_label(
    connection: Connection,
    claim: ReviewerClaim,
    *,
    value: Any,
    unlabelable: bool,
    decided_by: Sequence[str],
) -> None:
    """Make the item final with the label the reviewers settled on: a reviewed label is gold
    from then on, an unlabelable item fails. The claim stays on the item, so its reviewer can
    still undo while it lasts."""
    status = ItemStatus.FAILED if unlabelable else ItemStatus.REVIEWED
    _update_held(
        connection,
        claim,
        {
            "status": status.value,
            "gold": True if status is ItemStatus.REVIEWED else items.c.gold,
            "label_value": value,
            "label_confidence": None,
            "label_source": LabelSource.HUMAN.value,
            "labeled_by": ", ".join(decided_by)[:_LABELED_BY_CHARS],
            "labeled_at": claim.now,
        },
    )


def pass_to_next_reviewer(
    connection: Connection, claim: ReviewerClaim, *, to_adjudicator: bool
) -> None:
    """Let go of the claim on an item not yet final, for the next reviewer; `to_adjudicator`:
    it now waits for an adjudicator (reason `disagreement`)."""
    values: dict[str, Any] = {"claim_token": None, "claim_expires_at": None}
    if to_adjudicator:
        values["reason"] = ReviewReason.DISAGREEMENT.value
    _update_held(connection, claim, values)


def _update_held(connection: Connection, claim: ReviewerClaim, values: dict[str, Any]) -> None:
    """Write `values` to the item only while the claim is still live and theirs."""
    updated = connection.execute(update(items).where(claim.holds()).values(**values)).rowcount
    if updated != 1:
        raise _stale()


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
