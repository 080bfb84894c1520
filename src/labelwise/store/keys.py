"""API keys: stored hashed, looked up on every request, managed by team admins (HTTP) and
operators (CLI).

There is no cache in front of the lookup on purpose: a key that is revoked or past its expiry is
refused on its very next request, and so are the browser sessions it signed in.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from labelwise.errors import ConflictError, NotFoundError
from labelwise.store.models import ApiKey, BrowserSession, utcnow

KEY_PREFIX = "lw_"


class Role(str, Enum):
    ADMIN = "admin"
    SUBMITTER = "submitter"
    REVIEWER = "reviewer"
    # A reviewer who also settles items reviewers disagree on.
    ADJUDICATOR = "adjudicator"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id, name, role and team."""

    key_id: int
    name: str
    role: Role
    team: str

    @property
    def adjudicates(self) -> bool:
        return self.role in (Role.ADMIN, Role.ADJUDICATOR)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class KeyRecord:
    """A key as it may be shown: everything but its secret and hash."""

    id: int
    name: str
    role: Role
    team: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class IssuedKey:
    """A key just made, with the secret: the only moment anyone sees it."""

    record: KeyRecord
    secret: str


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands timestamps back without a zone; they were written in UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def is_live(row: ApiKey, now: datetime) -> bool:
    expires_at = as_utc(row.expires_at)
    return row.revoked_at is None and (expires_at is None or expires_at > now)


def principal_of(row: ApiKey) -> Principal:
    return Principal(key_id=row.id, name=row.name, role=Role(row.role), team=row.team)


def _record(row: ApiKey) -> KeyRecord:
    return KeyRecord(
        id=row.id,
        name=row.name,
        role=Role(row.role),
        team=row.team,
        prefix=row.prefix,
        created_at=as_utc(row.created_at) or utcnow(),
        expires_at=as_utc(row.expires_at),
        revoked_at=as_utc(row.revoked_at),
    )


def _new_row(
    *, name: str, role: Role, team: str, expires_at: datetime | None
) -> tuple[ApiKey, str]:
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    expires_at = as_utc(expires_at)
    row = ApiKey(
        name=name,
        role=role.value,
        team=team,
        key_hash=hash_secret(secret),
        prefix=secret[:8],
        created_at=utcnow(),
        expires_at=expires_at.astimezone(UTC) if expires_at is not None else None,
    )
    return row, secret


def issue_key(
    session: Session, *, name: str, role: Role, team: str, expires_at: datetime | None = None
) -> IssuedKey:
    """Store a new key; the secret itself is never stored, only its hash."""
    row, secret = _new_row(name=name, role=role, team=team, expires_at=expires_at)
    session.add(row)
    session.flush()
    record = _record(row)
    session.commit()
    return IssuedKey(record=record, secret=secret)


def create_key(
    session: Session, *, name: str, role: Role, team: str, expires_at: datetime | None = None
) -> str:
    """Store a new key and return its secret."""
    return issue_key(session, name=name, role=role, team=team, expires_at=expires_at).secret


def find_principal(
    session: Session, *, secret: str, now: datetime | None = None
) -> Principal | None:
    """The key's principal; None for an unknown, revoked or expired key."""
    row = session.execute(
        select(ApiKey).where(ApiKey.key_hash == hash_secret(secret), ApiKey.revoked_at.is_(None))
    ).scalar_one_or_none()
    if row is None or not is_live(row, now or utcnow()):
        return None
    return principal_of(row)


def list_keys(session: Session, *, team: str | None = None) -> list[KeyRecord]:
    """A team's keys (every team's when `team` is None), revoked and expired ones included."""
    query = select(ApiKey).order_by(ApiKey.id)
    if team is not None:
        query = query.where(ApiKey.team == team)
    return [_record(row) for row in session.scalars(query)]


def _get(session: Session, *, key_id: int, team: str | None) -> ApiKey:
    query = select(ApiKey).where(ApiKey.id == key_id)
    if team is not None:
        query = query.where(ApiKey.team == team)
    row = session.execute(query).scalar_one_or_none()
    if row is None:
        raise NotFoundError(f"key {key_id} not found")
    return row


def _revoke(session: Session, *, key_id: int, now: datetime) -> bool:
    """Revoke the key and end its browser sessions; False if it was revoked already. One
    conditional UPDATE, so two callers racing cannot both be the one that revoked it."""
    revoked = session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount
    session.execute(
        update(BrowserSession)
        .where(BrowserSession.key_id == key_id, BrowserSession.revoked_at.is_(None))
        .values(revoked_at=now.timestamp())
    )
    return bool(revoked)


def revoke_key(
    session: Session, *, key_id: int, team: str | None = None, now: datetime | None = None
) -> KeyRecord:
    """Revoke a key (of `team`, when given: another team's key is not found). Revoking a revoked
    key changes nothing."""
    row = _get(session, key_id=key_id, team=team)
    _revoke(session, key_id=key_id, now=now or utcnow())
    record = _record(row)
    session.commit()
    return record


def rotate_key(
    session: Session, *, key_id: int, team: str | None = None, now: datetime | None = None
) -> IssuedKey:
    """A new key with the old one's name, role, team and expiry; the old one is revoked in the
    same transaction, so there is never a moment with both or neither."""
    now = now or utcnow()
    old = _get(session, key_id=key_id, team=team)
    if not is_live(old, now) or not _revoke(session, key_id=key_id, now=now):
        session.rollback()
        raise ConflictError(f"key {key_id} is revoked or expired: create a new one instead")
    row, secret = _new_row(
        name=old.name, role=Role(old.role), team=old.team, expires_at=as_utc(old.expires_at)
    )
    session.add(row)
    session.flush()
    record = _record(row)
    session.commit()
    return IssuedKey(record=record, secret=secret)
