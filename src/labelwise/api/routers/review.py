"""The review queue over HTTP: claim the next item, then accept, correct or mark it unlabelable."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from labelwise.api.bounds import ResourceId
from labelwise.api.deps import AppState, ReviewerKey, StateDep
from labelwise.api.guarded_route import GuardedRoute
from labelwise.api.schemas import (
    ClaimRequest,
    ClaimResponse,
    DecisionRequest,
    ReleaseRequest,
    RenewRequest,
    RenewResponse,
    ReviewerVote,
)
from labelwise.api.views import item_public, prediction_public
from labelwise.domain import ItemStatus
from labelwise.errors import NotFoundError, ReviewReason, ValidationFailedError
from labelwise.review.decisions import record_decision
from labelwise.spec import TaskSpec
from labelwise.store import review_queue as store
from labelwise.store.batches import get_batch
from labelwise.store.calibrations import mark_stale
from labelwise.store.decisions import reviewers_decisions, undo_decision
from labelwise.store.item_views import item_view
from labelwise.store.keys import Principal
from labelwise.store.models import Item
from labelwise.store.projects import get_project
from labelwise.task_values import normalized_value
from labelwise.tasks import TASK_TYPES

router = APIRouter(route_class=GuardedRoute, prefix="/v1/review", tags=["review"])


@router.post(
    "/claim", response_model=ClaimResponse, responses={204: {"description": "queue empty"}}
)
def claim(body: ClaimRequest, key: ReviewerKey, state: StateDep) -> Any:
    """The next item whose review helps most (of `batch_id` only, when given); 204 when none."""
    with state.sessions() as session:
        get_project(session, team=key.team, project_id=body.project_id)
        if body.batch_id is not None:
            _check_batch(session, team=key.team, project_id=body.project_id, batch_id=body.batch_id)
        session.commit()
    now = time.time()
    with state.engine.begin() as connection:
        taken = store.claim_next_item(
            connection,
            project_id=body.project_id,
            principal=key,
            now=now,
            lease_seconds=_lease(state, body.lease_seconds),
            batch_id=body.batch_id,
        )
        if taken is None:
            return Response(status_code=204)
        return _claim_response(
            state,
            connection,
            taken,
            project_id=body.project_id,
            now=now,
            principal=key,
            batch_id=body.batch_id,
        )


def _check_batch(session: Session, *, team: str, project_id: int, batch_id: int) -> None:
    """A batch of another project answers 404 as one of another team does: the filter must not
    tell a reviewer which ids exist elsewhere."""
    if get_batch(session, team=team, batch_id=batch_id).project_id != project_id:
        raise NotFoundError(f"batch {batch_id} not found")


def _lease(state: AppState, asked: float | None) -> float:
    """A page may ask for a shorter lease that it renews; never a longer one than configured."""
    configured = state.settings.review_lease_seconds
    return min(asked, configured) if asked is not None else configured


def _claim_response(
    state: AppState,
    connection: Connection,
    taken: store.Claim,
    *,
    project_id: int,
    now: float,
    principal: Principal,
    batch_id: int | None = None,
) -> ClaimResponse:
    with state.sessions(bind=connection) as session:
        view = item_view(session, taken.item_id)
    votes = []
    if view.reason == ReviewReason.DISAGREEMENT.value and principal.adjudicates:
        votes = [
            ReviewerVote(reviewer=d.reviewer, value=d.value, unlabelable=d.unlabelable)
            for d in reviewers_decisions(connection, taken.item_id)
        ]
    return ClaimResponse(
        item=item_public(view),
        prediction=prediction_public(view),
        votes=votes,
        claim_token=taken.claim_token,
        fence=taken.fence,
        lease_expires_at=datetime.fromtimestamp(taken.lease_expires_at, UTC).isoformat(),
        remaining=store.count_waiting(
            connection, project_id=project_id, now=now, principal=principal, batch_id=batch_id
        ),
    )


def validated_value(task: TaskSpec, value: Any, data: Mapping[str, Any] | None = None) -> Any:
    """A reviewer's correction must be a value of the project's current version, as gold must,
    and fit the item (`data`: spans must point at its text). A type this deployment cannot label
    is still reviewable: its definition says what its values are."""
    try:
        return _checked(task, value, data)
    except ValueError as exc:
        raise ValidationFailedError(f"value: {exc}") from None


def _checked(task: TaskSpec, value: Any, data: Mapping[str, Any] | None) -> Any:
    task_type = TASK_TYPES.get(task.type)
    if task_type is None:
        return normalized_value(task, value, data)
    return task_type.checked_value(task, value, data)


@router.post("/{item_id}")
def submit(
    item_id: ResourceId, body: DecisionRequest, key: ReviewerKey, state: StateDep
) -> dict[str, Any]:
    """Record your decision. With several reviewers per item, the item is final once enough of
    them agree (or an adjudicator decides); until then `status` stays `review`."""
    now = time.time()
    with state.sessions() as session, session.begin():
        item = store.load_item_for_team(session, item_id=item_id, team=key.team)
        spec = get_project(session, team=key.team, project_id=item.project_id).spec
        value = _decided_value(session, item, body, spec.task)
        connection = session.connection()
        result = record_decision(
            connection,
            item_id=item_id,
            principal=key,
            token=body.claim_token,
            value=value,
            unlabelable=body.decision == "unlabelable",
            now=now,
            policy=spec.review,
            task=spec.task,
        )
        if result.final and not result.unlabelable and item.version is not None:
            mark_stale(connection, project_id=item.project_id, version=item.version)
    if not result.final:
        return {"id": item_id, "status": ItemStatus.REVIEW.value, "label": None, "final": False}
    status = ItemStatus.FAILED if result.unlabelable else ItemStatus.REVIEWED
    label = {"value": result.value, "source": "human", "labeled_by": ", ".join(result.decided_by)}
    return {"id": item_id, "status": status.value, "label": label, "final": True}


def _decided_value(session: Session, item: Item, body: DecisionRequest, task: TaskSpec) -> Any:
    if body.decision == "unlabelable":
        return None
    if body.decision == "correct":
        if body.value is None:
            raise ValidationFailedError("value: required when the decision is 'correct'")
        return validated_value(task, body.value, item.data)
    prediction = store.current_prediction(session, item)
    if prediction is None or prediction.value is None:
        raise ValidationFailedError(
            "decision: there is no model label to accept; send 'correct' with a value"
        )
    # The prediction may come from an older version whose labels the project has since changed.
    try:
        return _checked(task, prediction.value, item.data)
    except ValueError as exc:
        raise ValidationFailedError(
            f"decision: the model's label does not fit the project's current version ({exc}); "
            "send 'correct' with a value"
        ) from None


@router.post("/{item_id}/undo", response_model=ClaimResponse)
def undo(
    item_id: ResourceId, body: ReleaseRequest, key: ReviewerKey, state: StateDep
) -> ClaimResponse:
    """Take back your decision on an item while the claim it was made under lasts: the item is
    back in review, claimed by you again with the same token."""
    now = time.time()
    with state.sessions() as session, session.begin():
        item = store.load_item_for_team(session, item_id=item_id, team=key.team)
        connection = session.connection()
        undo_decision(connection, item_id=item_id, principal=key, token=body.claim_token, now=now)
        if item.version is not None:
            mark_stale(connection, project_id=item.project_id, version=item.version)
        session.refresh(item)
        taken = store.Claim(
            item_id=item_id,
            claim_token=body.claim_token,
            fence=item.claim_fence,
            lease_expires_at=item.claim_expires_at or now,
        )
        return _claim_response(
            state, connection, taken, project_id=item.project_id, now=now, principal=key
        )


@router.post("/{item_id}/renew", response_model=RenewResponse)
def renew(
    item_id: ResourceId, body: RenewRequest, key: ReviewerKey, state: StateDep
) -> RenewResponse:
    """Keep a claim while the reviewer is still on it (the review page renews its claims)."""
    with state.sessions() as session, session.begin():
        store.load_item_for_team(session, item_id=item_id, team=key.team)
        until = store.renew_claim(
            session.connection(),
            item_id=item_id,
            principal=key,
            token=body.claim_token,
            now=time.time(),
            lease_seconds=_lease(state, body.lease_seconds),
        )
    return RenewResponse(lease_expires_at=datetime.fromtimestamp(until, UTC).isoformat())


@router.post("/{item_id}/release", status_code=204)
def release(
    item_id: ResourceId, body: ReleaseRequest, key: ReviewerKey, state: StateDep
) -> Response:
    with state.sessions() as session, session.begin():
        store.load_item_for_team(session, item_id=item_id, team=key.team)
        store.release_claim(
            session.connection(),
            item_id=item_id,
            principal=key,
            token=body.claim_token,
            now=time.time(),
        )
    return Response(status_code=204)
