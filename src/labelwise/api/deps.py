"""Dependencies shared by the routers, as `Annotated` aliases."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, NoReturn

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from labelwise.api.metrics import CachedValue
from labelwise.api.throttle import Throttle, retry_after
from labelwise.errors import AuthError, ForbiddenError, TooManyRequestsError
from labelwise.labeling.labeler import Labeler
from labelwise.labeling.queue import Delivery
from labelwise.settings import Settings
from labelwise.store.browser_sessions import find_session_principal
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
    throttle: Throttle
    # Outstanding items by status, as `/metrics` shows them (cached between scrapes).
    outstanding: CachedValue[dict[str, int]]


# Dependencies that do no blocking I/O are async: FastAPI runs sync ones in its worker threads,
# which under load are the scarce resource (see SessionDep).
async def get_state(request: Request) -> AppState:
    return request.app.state.labelwise


StateDep = Annotated[AppState, Depends(get_state)]


async def get_settings(state: StateDep) -> Settings:
    return state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_session(state: StateDep) -> AsyncIterator[Session]:
    with state.sessions() as session:
        yield session


# The session (and its pooled connection) is given back as soon as the handler returns
# (scope="function"), not after the response is sent, and by the event loop itself (an async
# dependency): closing a sync dependency needs a free worker thread, and under load every thread
# is in a handler waiting for a connection that only a thread could give back.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


async def get_read_session(state: StateDep) -> AsyncIterator[Session]:
    with state.read_sessions() as session:
        yield session


ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]


# Pages read in a browser carry a session token in this cookie (HttpOnly, SameSite=Strict), never
# the API key itself; the JSON API only ever reads the Authorization header, so no other site can
# make a browser call it.
SESSION_COOKIE = "labelwise_session"


def lookup_key(state: AppState, secret: str) -> Principal | None:
    """The key's principal, read in a short session of its own: a connection held by
    authentication through the whole request, while the handler takes a second one, starves the
    pool under concurrency (every request holds one and waits for another)."""
    with state.read_sessions() as session:
        return find_principal(session, secret=secret)


def lookup_session(state: AppState, token: str) -> Principal | None:
    """A browser session's principal, in a short session of its own like `lookup_key`."""
    with state.read_sessions() as session:
        return find_session_principal(session, token=token)


def bearer_secret(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise AuthError("send an API key as 'Authorization: Bearer <key>'")
    return secret.strip()


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def refuse_wrong_key(state: AppState, request: Request) -> NoReturn:
    """Count a wrong key against its address: 401 at first, 429 once the address has sent too
    many. Right keys are never refused for their address (behind a proxy every client shares
    one, and one guesser must not lock everyone out)."""
    client = client_address(request)
    state.throttle.failed(client)
    locked = state.throttle.locked_out(client)
    if locked:
        raise TooManyRequestsError(
            "too many requests with wrong API keys from this address: wait and try again",
            retry_after=retry_after(locked),
        )
    raise AuthError("unknown, revoked or expired API key")


def get_principal(request: Request, state: StateDep) -> Principal:
    """The calling key, within its request rate."""
    principal = lookup_key(state, bearer_secret(request))
    if principal is None:
        refuse_wrong_key(state, request)
    wait = state.throttle.wait_for_key(principal.key_id)
    if wait:
        raise TooManyRequestsError(
            "this key is over its request rate: slow down", retry_after=retry_after(wait)
        )
    return principal


CurrentKey = Annotated[Principal, Depends(get_principal)]


def get_page_principal(request: Request, state: StateDep) -> Principal | None:
    """The key of a page request: the Authorization header, else the browser session its cookie
    names. None sends the browser to sign in."""
    if request.headers.get("authorization"):
        return get_principal(request, state)
    token = request.cookies.get(SESSION_COOKIE, "").strip()
    return lookup_session(state, token) if token else None


PageKey = Annotated[Principal | None, Depends(get_page_principal)]


def require_role(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    allowed = {Role.ADMIN, *roles}

    async def check(principal: CurrentKey) -> Principal:
        if principal.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise ForbiddenError(f"this call needs one of the roles: {names}")
        return principal

    return check


SubmitterKey = Annotated[Principal, Depends(require_role(Role.SUBMITTER))]
ReviewerKey = Annotated[Principal, Depends(require_role(Role.REVIEWER, Role.ADJUDICATOR))]
AdminKey = Annotated[Principal, Depends(require_role())]
