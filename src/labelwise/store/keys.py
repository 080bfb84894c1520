"""API keys: created by the CLI, stored hashed, looked up on every request."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import Enum

from sqlalchemy import select
from sqlalchemy.orm import Session

from labelwise.store.models import ApiKey

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


def create_key(session: Session, *, name: str, role: Role, team: str) -> str:
    """Store a new key and return its secret; the secret itself is never stored."""
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiKey(
            name=name, role=role.value, team=team, key_hash=hash_secret(secret), prefix=secret[:8]
        )
    )
    session.commit()
    return secret


def find_principal(session: Session, *, secret: str) -> Principal | None:
    row = session.execute(
        select(ApiKey).where(ApiKey.key_hash == hash_secret(secret), ApiKey.revoked_at.is_(None))
    ).scalar_one_or_none()
    if row is None:
        return None
    return Principal(key_id=row.id, name=row.name, role=Role(row.role), team=row.team)
