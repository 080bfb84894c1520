"""Signing in to the pages: an API key buys a browser session, whose random token (never the key,
never in a URL) the browser keeps in an HttpOnly cookie. Both forms refuse cross-site posts
(`labelwise.api.csrf`)."""

from __future__ import annotations

import time
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from labelwise.api.csrf import (
    CSRF_FIELD,
    check_same_site,
    csrf_token,
    keep_csrf_cookie,
    secure_cookies,
)
from labelwise.api.deps import SESSION_COOKIE, AppState, SettingsDep, StateDep, refuse_wrong_key
from labelwise.api.guarded_route import GuardedRoute
from labelwise.errors import ForbiddenError, RequestError
from labelwise.store.browser_sessions import StartedSession, end_session, start_session
from labelwise.web.pages import html_page, signin_page

router = APIRouter(route_class=GuardedRoute, include_in_schema=False)


def _safe_next(path: str) -> str:
    """Only a path on this site: an open redirect would lend our name to someone else's page."""
    if path.startswith("/") and not path.startswith("//") and "\\" not in path:
        return path
    return "/"


def _form(body: bytes) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(body.decode("utf-8", "replace")).items()}


def _signin_form(
    request: Request, *, next_path: str, secure: bool, error: str | None = None, status: int = 200
) -> HTMLResponse:
    token = csrf_token(request)
    response = html_page(signin_page(next_path=next_path, csrf=token, error=error), status)
    keep_csrf_cookie(response, request, token, secure=secure)
    return response


@router.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request, settings: SettingsDep, next: str = "/") -> HTMLResponse:
    return _signin_form(
        request, next_path=_safe_next(next), secure=secure_cookies(settings, request)
    )


def _start(state: AppState, secret: str) -> StartedSession | None:
    """In a short session of its own, like every key lookup."""
    with state.sessions() as session:
        return start_session(session, secret=secret, ttl_seconds=state.settings.session_ttl_seconds)


def _end(state: AppState, token: str) -> None:
    with state.sessions() as session:
        end_session(session, token=token)


@router.post("/signin")
async def signin(request: Request, state: StateDep) -> Response:
    form = _form(await request.body())
    secret = form.get("key", "").strip()
    next_path = _safe_next(form.get("next", "/"))
    secure = secure_cookies(state.settings, request)
    try:
        check_same_site(request, form.get(CSRF_FIELD, ""))
    except ForbiddenError as exc:
        return _signin_form(
            request, next_path=next_path, secure=secure, error=exc.message, status=403
        )
    started = await run_in_threadpool(_start, state, secret) if secret else None
    if started is None:
        # Guesses here count like wrong keys anywhere (a 429 page once there are too many).
        try:
            await run_in_threadpool(refuse_wrong_key, state, request)
        except RequestError as exc:
            return _signin_form(
                request, next_path=next_path, secure=secure, error=exc.message, status=exc.status
            )
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        started.token,
        max_age=max(1, int(started.expires_at - time.time())),
        httponly=True,
        samesite="strict",
        secure=secure,
        path="/",
    )
    return response


@router.post("/signout")
async def signout(request: Request, state: StateDep) -> Response:
    """Ends the session server-side, so a copy of the cookie kept anywhere is worth nothing."""
    check_same_site(request, _form(await request.body()).get(CSRF_FIELD, ""))
    token = request.cookies.get(SESSION_COOKIE, "").strip()
    if token:
        await run_in_threadpool(_end, state, token)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="strict",
        secure=secure_cookies(state.settings, request),
    )
    return response
