"""Recording a reviewer's decision: the reviewing policy applied between the store's queries.

The store locks the held item and records the decision; the policy (`labelwise.review.verdict`)
says whether the decisions so far make the item final; the store then writes the final label or
passes the item on. All of it runs on the caller's connection, in the caller's transaction, so a
decision and its consequence land together or not at all.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from labelwise.errors import ReviewReason
from labelwise.review.verdict import Decision, Verdict, verdict
from labelwise.spec import ReviewSpec, TaskSpec
from labelwise.store import decisions as store
from labelwise.store.keys import Principal


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
    task: TaskSpec,
) -> Verdict:
    """Record this reviewer's decision and settle the item if the decisions now allow it.

    Final: the label is written (a reviewed label is gold from then on) and the claim stays on the
    item, so its reviewer can still undo while it lasts. Not final: the claim is let go for the
    next reviewer; once every reviewer asked for has decided without agreement, the item waits
    for an adjudicator (reason `disagreement`).
    """
    claim = store.ReviewerClaim(item_id, principal, token, now)
    held = store.lock_held_item(connection, claim)
    adjudicating = principal.adjudicates and held.reason == ReviewReason.DISAGREEMENT.value
    store.insert_decision(
        connection, claim, held, value=value, unlabelable=unlabelable, adjudication=adjudicating
    )
    mine = Decision(principal.name, value, unlabelable)
    result = verdict(
        reviewers_decisions(connection, item_id),
        policy,
        task,
        adjudicator=mine if adjudicating else None,
    )
    if result.final:
        store.write_final_label(
            connection,
            claim,
            value=result.value,
            unlabelable=result.unlabelable,
            decided_by=result.decided_by,
        )
    else:
        store.pass_to_next_reviewer(connection, claim, to_adjudicator=result.to_adjudicator)
    return result


def reviewers_decisions(connection: Connection, item_id: int) -> list[Decision]:
    """The reviewers' decisions on an item so far (not an adjudicator's), oldest first."""
    return [
        Decision(row.reviewer, row.value, row.unlabelable)
        for row in store.reviewers_decisions(connection, item_id)
    ]
