"""Browser sessions: what the pages' cookie stands for.

Signing in with an API key makes a random token; the browser keeps the token and the table keeps
only its sha256. A session ends when it expires, when the browser signs out, or when its key is
revoked or expires, whichever comes first; each is checked on every page request.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from labelwise.store.keys import Principal, as_utc, hash_secret, is_live, principal_of
from labelwise.store.models import ApiKey, BrowserSession


@dataclass(frozen=True)
class StartedSession:
    """The cookie's token (shown to the browser once, never stored) and when it runs out."""

    token: str
    expires_at: float
    principal: Principal


def start_session(
    session: Session, *, secret: str, ttl_seconds: float, now: float | None = None
) -> StartedSession | None:
    """Sign in with an API key: a new session for it, or None for an unknown, revoked or expired
    key. The session never outlives its key's expiry. The key's sessions that have already ended
    are dropped here, so the table holds at most the live ones plus the ones since ended."""
    now = time.time() if now is None else now
    key = session.execute(
        select(ApiKey).where(ApiKey.key_hash == hash_secret(secret), ApiKey.revoked_at.is_(None))
    ).scalar_one_or_none()
    if key is None or not is_live(key, datetime.fromtimestamp(now, UTC)):
        session.rollback()
        return None
    expires_at = now + ttl_seconds
    key_expiry = as_utc(key.expires_at)
    if key_expiry is not None:
        expires_at = min(expires_at, key_expiry.timestamp())
    session.execute(
        delete(BrowserSession).where(
            BrowserSession.key_id == key.id,
            or_(BrowserSession.revoked_at.is_not(None), BrowserSession.expires_at <= now),
        )
    )
    token = secrets.token_urlsafe(32)
    session.add(
        BrowserSession(
            token_hash=hash_secret(token), key_id=key.id, created_at=now, expires_at=expires_at
        )
    )
    principal = principal_of(key)
    session.commit()
    return StartedSession(token=token, expires_at=expires_at, principal=principal)


def find_session_principal(
    session: Session, *, token: str, now: float | None = None
) -> Principal | None:
    """The principal of a live session: the session neither revoked nor expired, nor its key."""
    now = time.time() if now is None else now
    key = session.execute(
        select(ApiKey)
        .join(BrowserSession, BrowserSession.key_id == ApiKey.id)
        .where(
            BrowserSession.token_hash == hash_secret(token),
            BrowserSession.revoked_at.is_(None),
            BrowserSession.expires_at > now,
            ApiKey.revoked_at.is_(None),
        )
    ).scalar_one_or_none()
    if key is None or not is_live(key, datetime.fromtimestamp(now, UTC)):
        return None
    return principal_of(key)


def end_session(session: Session, *, token: str, now: float | None = None) -> bool:
    """Sign out: the session is revoked server-side, so a copy of the cookie is worth nothing.
    False if there was no live session with this token."""
    now = time.time() if now is None else now
    ended = session.execute(
        update(BrowserSession)
        .where(BrowserSession.token_hash == hash_secret(token), BrowserSession.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount
    session.commit()
    return bool(ended)
