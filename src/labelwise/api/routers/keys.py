"""API keys, managed by a team's admins: create, list, revoke, rotate.

A key's secret appears once, in the answer that makes it. Revoking takes effect on the key's very
next request (keys are looked up on every request, never cached) and ends its browser sessions.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Response, status

from labelwise.api.bounds import ResourceId
from labelwise.api.deps import AdminKey, ReadSessionDep, SessionDep
from labelwise.api.guarded_route import GuardedRoute
from labelwise.api.schemas import KeyCreate, KeyCreated, KeyPublic
from labelwise.store import keys as store
from labelwise.store.models import utcnow

router = APIRouter(route_class=GuardedRoute, prefix="/v1/keys", tags=["keys"])


def _created(issued: store.IssuedKey, response: Response) -> KeyCreated:
    # The secret must not linger in a cache between here and the caller.
    response.headers["Cache-Control"] = "no-store"
    record = issued.record
    return KeyCreated(
        id=record.id,
        key=issued.secret,
        name=record.name,
        role=record.role,
        prefix=record.prefix,
        created_at=record.created_at,
        expires_at=record.expires_at,
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=KeyCreated)
def create_key(
    body: KeyCreate, key: AdminKey, session: SessionDep, response: Response
) -> KeyCreated:
    """A new key for the caller's team; its secret is in this answer and nowhere else."""
    expires_at = body.expires_at
    if body.expires_in_days is not None:
        expires_at = utcnow() + timedelta(days=body.expires_in_days)
    issued = store.issue_key(
        session, name=body.name, role=body.role, team=key.team, expires_at=expires_at
    )
    return _created(issued, response)


@router.get("", response_model=list[KeyPublic])
def list_keys(key: AdminKey, session: ReadSessionDep) -> list[KeyPublic]:
    """The team's keys, revoked and expired ones included; never a secret or a hash."""
    return [
        KeyPublic(
            id=record.id,
            name=record.name,
            role=record.role,
            prefix=record.prefix,
            created_at=record.created_at,
            expires_at=record.expires_at,
            revoked_at=record.revoked_at,
        )
        for record in store.list_keys(session, team=key.team)
    ]


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_key(key_id: ResourceId, key: AdminKey, session: SessionDep) -> Response:
    """Revoke a key of the team (again: no change); another team's key is not found."""
    store.revoke_key(session, key_id=key_id, team=key.team)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{key_id}/rotate", status_code=status.HTTP_201_CREATED, response_model=KeyCreated)
def rotate_key(
    key_id: ResourceId, key: AdminKey, session: SessionDep, response: Response
) -> KeyCreated:
    """A new key with the same name, role and expiry; the old one is revoked at the same
    moment. A revoked or expired key cannot be rotated (409)."""
    return _created(store.rotate_key(session, key_id=key_id, team=key.team), response)
