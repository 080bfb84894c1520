"""Dependencies shared by the routers, as `Annotated` aliases."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from labelwise.errors import AuthError, ForbiddenError
from labelwise.labeler import Labeler
from labelwise.queue import Delivery
from labelwise.settings import Settings
from labelwise.store.keys import Principal, Role, find_principal


@dataclass
class AppState:
    """Built once when the app is created; every request reaches it through `request.app`."""

    settings: Settings
    engine: Engine
    read_engine: Engine
    sessions: sessionmaker[Session]
    # Sessions that only read: on SQLite they never wait for a writer.
    read_sessions: sessionmaker[Session]
    delivery: Delivery
    labeler: Labeler


def get_state(request: Request) -> AppState:
    return request.app.state.labelwise


StateDep = Annotated[AppState, Depends(get_state)]


def get_settings(state: StateDep) -> Settings:
    return state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_session(state: StateDep) -> Iterator[Session]:
    with state.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_read_session(state: StateDep) -> Iterator[Session]:
    with state.read_sessions() as session:
        yield session


ReadSessionDep = Annotated[Session, Depends(get_read_session)]


# Pages read in a browser carry the key in this cookie (HttpOnly, SameSite=Strict); the JSON API
# only ever reads the Authorization header, so no other site can make a browser call it.
SESSION_COOKIE = "labelwise_key"


def get_principal(request: Request, session: ReadSessionDep) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise AuthError("send an API key as 'Authorization: Bearer <key>'")
    principal = find_principal(session, secret=secret.strip())
    if principal is None:
        raise AuthError("unknown or revoked API key")
    return principal


CurrentKey = Annotated[Principal, Depends(get_principal)]


def get_page_principal(request: Request, session: ReadSessionDep) -> Principal | None:
    """The key of a page request: the Authorization header, else the session cookie. None sends
    the browser to sign in."""
    if request.headers.get("authorization"):
        return get_principal(request, session)
    secret = request.cookies.get(SESSION_COOKIE, "").strip()
    return find_principal(session, secret=secret) if secret else None


PageKey = Annotated[Principal | None, Depends(get_page_principal)]


def require_role(*roles: Role) -> Callable[[Principal], Principal]:
    allowed = {Role.ADMIN, *roles}

    def check(principal: CurrentKey) -> Principal:
        if principal.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise ForbiddenError(f"this call needs one of the roles: {names}")
        return principal

    return check


SubmitterKey = Annotated[Principal, Depends(require_role(Role.SUBMITTER))]
ReviewerKey = Annotated[Principal, Depends(require_role(Role.REVIEWER, Role.ADJUDICATOR))]
