"""Refusing cross-site posts of the pages' forms (`/signin`, `/signout`).

Two checks, both required. When the browser says where a post comes from (`Origin`, else
`Referer`), that must be this site's own origin. And the form must carry the token this site put
into it, equal to the one in this site's cookie (a double-submit token): another site can make a
browser post a form here, but it cannot read our cookie to copy the token into its form, and with
SameSite=Strict the browser does not even send the cookie along with a cross-site post. The token
alone lets our own form work from a browser that sends neither header.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from fastapi import Request
from starlette.responses import Response

from labelwise.errors import ForbiddenError
from labelwise.settings import Settings

CSRF_COOKIE = "labelwise_csrf"
CSRF_FIELD = "csrf"
_DEFAULT_PORTS = {"http": 80, "https": 443}
# What an origin that cannot be ours compares as (an opaque "null", or one that does not parse).
FOREIGN = "null"


def secure_cookies(settings: Settings, request: Request) -> bool:
    """The cookies' Secure flag: the setting when given, else whether this request came over
    https (behind a proxy: as the proxy's forwarded headers tell uvicorn)."""
    if settings.cookie_secure is not None:
        return settings.cookie_secure
    return request.url.scheme == "https"


def _origin(scheme: str, netloc: str) -> str:
    """scheme://host[:port], lower case, the scheme's default port left out (as browsers send
    `Origin`)."""
    try:
        parts = urlsplit(f"{scheme.lower()}://{netloc.strip()}")
        host, port = parts.hostname, parts.port
    except ValueError:
        return FOREIGN
    if not parts.scheme or not host:
        return FOREIGN
    if ":" in host:
        host = f"[{host}]"
    shown_port = "" if port is None or port == _DEFAULT_PORTS.get(parts.scheme) else f":{port}"
    return f"{parts.scheme}://{host}{shown_port}"


def own_origin(request: Request) -> str:
    """scheme://host[:port] of this request, from its Host header."""
    return _origin(request.url.scheme, request.headers.get("host") or request.url.netloc)


def claimed_origin(request: Request) -> str | None:
    """Where the browser says the request comes from: `Origin`, else the origin of `Referer`;
    None when it says neither. An opaque origin ("null") is never ours."""
    claim = request.headers.get("origin")
    if claim is None:
        claim = request.headers.get("referer")
        if not claim:
            return None
    try:
        parts = urlsplit(claim.strip())
    except ValueError:  # e.g. "http://[::1": not a URL, so not ours
        return FOREIGN
    if not parts.scheme or not parts.netloc:
        return FOREIGN
    return _origin(parts.scheme, parts.netloc)


def csrf_token(request: Request) -> str:
    """The token a form of ours carries: the browser's current one, else a new one (which
    `keep_csrf_cookie` then hands to the browser)."""
    current = request.cookies.get(CSRF_COOKIE, "")
    return current if 32 <= len(current) <= 128 else secrets.token_urlsafe(32)


def keep_csrf_cookie(response: Response, request: Request, token: str, *, secure: bool) -> None:
    if request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(
            CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure, path="/"
        )


def check_same_site(request: Request, form_token: str) -> None:
    """Raise `ForbiddenError` unless the post comes from one of this site's own forms."""
    origin = claimed_origin(request)
    if origin is not None and (origin == FOREIGN or origin != own_origin(request)):
        raise ForbiddenError("a form posted from another site is refused", code="cross_site")
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not (cookie and form_token and secrets.compare_digest(cookie, form_token)):
        raise ForbiddenError(
            "the form's token is missing or stale: reload the page and try again",
            code="csrf_token",
        )
