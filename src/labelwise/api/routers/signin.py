"""Signing in to the pages: an API key, kept in an HttpOnly session cookie, never in a URL."""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from labelwise.api.deps import SESSION_COOKIE, ReadSessionDep
from labelwise.store.keys import find_principal
from labelwise.web.pages import html_page, signin_page

router = APIRouter(include_in_schema=False)


def _safe_next(path: str) -> str:
    """Only a path on this site: an open redirect would lend our name to someone else's page."""
    if path.startswith("/") and not path.startswith("//") and "\\" not in path:
        return path
    return "/"


@router.get("/signin", response_class=HTMLResponse)
def signin_form(next: str = "/") -> HTMLResponse:
    return html_page(signin_page(next_path=_safe_next(next)))


@router.post("/signin")
async def signin(request: Request, session: ReadSessionDep) -> Response:
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    secret = (form.get("key") or [""])[0].strip()
    next_path = _safe_next((form.get("next") or ["/"])[0])
    if not secret or find_principal(session, secret=secret) is None:
        return html_page(signin_page(next_path=next_path, error="unknown or revoked API key"), 401)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/signout")
def signout() -> Response:
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
