"""Browser sessions: the cookie is a session token (never the key), stored only hashed, ended by
expiry, sign-out and key revocation, and the sign-in and sign-out forms refuse cross-site posts."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session

from labelwise.api.app import create_app
from labelwise.api.csrf import CSRF_COOKIE
from labelwise.api.deps import SESSION_COOKIE
from labelwise.settings import Settings
from labelwise.store.models import ApiKey, BrowserSession
from tests.conftest import Keys, make_settings, sign_in

ORIGIN = "http://testserver"


def set_cookie(response: Any, name: str) -> Any:
    """The morsel of `name` among the response's Set-Cookie headers."""
    for header in response.headers.get_list("set-cookie"):
        cookie = SimpleCookie()
        cookie.load(header)
        if name in cookie:
            return cookie[name]
    raise AssertionError(f"no {name} cookie set: {response.headers.get_list('set-cookie')}")


def form_token(client: TestClient, path: str = "/signin") -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert match is not None
    return match.group(1)


def page(client: TestClient, project: dict[str, Any]) -> Any:
    """A page behind sign-in: 200 when the browser's session is live, else 303 to /signin."""
    return client.get(f"/projects/{project['id']}/quality", follow_redirects=False)


def stored_sessions(engine: Engine) -> list[BrowserSession]:
    with Session(engine) as session:
        return list(session.scalars(select(BrowserSession).order_by(BrowserSession.id)))


def test_the_cookie_is_a_session_token_stored_only_hashed(
    client: TestClient, keys: Keys, engine: Engine, project: dict[str, Any], settings: Settings
) -> None:
    response = sign_in(client, keys.admin)
    assert response.status_code == 303
    cookie = set_cookie(response, SESSION_COOKIE)
    token = cookie.value
    assert token and token != keys.admin and keys.admin not in response.headers["set-cookie"]
    assert cookie["httponly"] and cookie["samesite"].lower() == "strict"
    assert not cookie["secure"]  # plain http, and the setting left unset
    assert int(cookie["max-age"]) == pytest.approx(settings.session_ttl_seconds, abs=5)

    [row] = stored_sessions(engine)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.expires_at == pytest.approx(time.time() + settings.session_ttl_seconds, abs=5)
    assert row.revoked_at is None
    assert page(client, project).status_code == 200

    # The raw key in the cookie, as the old scheme kept it, signs nobody in.
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, keys.admin)
    assert page(client, project).status_code == 303


@pytest.fixture
def https_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        yield client


def test_the_cookie_is_secure_over_https_or_when_told(
    https_client: TestClient, keys: Keys, database_url: str, queue_name: str
) -> None:
    assert set_cookie(sign_in(https_client, keys.admin), SESSION_COOKIE)["secure"]
    # The setting wins over the scheme: true behind a proxy that ends TLS, false to opt out.
    told = make_settings(database_url, queue_name, cookie_secure=True)
    with TestClient(create_app(told)) as client:
        assert set_cookie(client.get("/signin"), CSRF_COOKIE)["secure"]
    opted_out = make_settings(database_url, queue_name, cookie_secure=False)
    with TestClient(create_app(opted_out), base_url="https://testserver") as client:
        assert not set_cookie(sign_in(client, keys.admin), SESSION_COOKIE)["secure"]


def test_an_expired_session_signs_nobody_in(
    client: TestClient, keys: Keys, engine: Engine, project: dict[str, Any]
) -> None:
    sign_in(client, keys.admin)
    assert page(client, project).status_code == 200
    with engine.begin() as connection:
        connection.execute(update(BrowserSession).values(expires_at=time.time() - 1))
    expired = page(client, project)
    assert expired.status_code == 303 and expired.headers["location"].startswith("/signin")


def test_a_session_ends_when_its_key_expires(
    client: TestClient, keys: Keys, engine: Engine, project: dict[str, Any]
) -> None:
    sign_in(client, keys.admin)
    assert page(client, project).status_code == 200
    with engine.begin() as connection:
        connection.execute(
            update(ApiKey).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert page(client, project).status_code == 303


def test_a_session_never_outlives_its_key(
    keys: Keys, engine: Engine, database_url: str, queue_name: str
) -> None:
    week = make_settings(database_url, queue_name, session_ttl_seconds=7 * 86400.0)
    with TestClient(create_app(week)) as browser:
        key = browser.post(
            "/v1/keys",
            json={"name": "brief", "role": "reviewer", "expires_in_days": 1},
            headers=keys.auth("admin"),
        ).json()
        response = sign_in(browser, key["key"])
    assert response.status_code == 303
    assert int(set_cookie(response, SESSION_COOKIE)["max-age"]) <= 86400
    [row] = stored_sessions(engine)
    assert row.expires_at <= time.time() + 86400


def test_signout_revokes_the_session_server_side(
    client: TestClient, keys: Keys, engine: Engine, project: dict[str, Any]
) -> None:
    sign_in(client, keys.admin)
    token = client.cookies[SESSION_COOKIE]
    html = page(client, project).text
    match = re.search(r'action="/signout"><input type="hidden" name="csrf" value="([^"]+)"', html)
    assert match is not None, "the page's sign-out form carries its token"

    out = client.post(
        "/signout",
        data={"csrf": match.group(1)},
        headers={"Origin": ORIGIN},
        follow_redirects=False,
    )
    assert out.status_code == 303 and out.headers["location"] == "/signin"
    assert set_cookie(out, SESSION_COOKIE)["max-age"] == "0"
    [row] = stored_sessions(engine)
    assert row.revoked_at is not None

    # A copy of the old cookie, replayed, is worth nothing.
    client.cookies.set(SESSION_COOKIE, token)
    assert page(client, project).status_code == 303


def test_revoking_a_key_ends_its_sessions(
    client: TestClient, keys: Keys, engine: Engine, project: dict[str, Any]
) -> None:
    key = client.post(
        "/v1/keys", json={"name": "desk", "role": "reviewer"}, headers=keys.auth("admin")
    ).json()
    sign_in(client, key["key"])
    assert page(client, project).status_code == 200
    assert client.delete(f"/v1/keys/{key['id']}", headers=keys.auth("admin")).status_code == 204
    assert page(client, project).status_code == 303
    [row] = stored_sessions(engine)
    assert row.revoked_at is not None
    # Nor can the revoked key sign in again.
    assert sign_in(client, key["key"]).status_code == 401


def test_deleting_a_key_deletes_its_sessions(
    client: TestClient, keys: Keys, engine: Engine
) -> None:
    key = client.post(
        "/v1/keys", json={"name": "gone", "role": "reviewer"}, headers=keys.auth("admin")
    ).json()
    sign_in(client, key["key"])
    assert len(stored_sessions(engine)) == 1
    with engine.begin() as connection:
        connection.execute(delete(ApiKey).where(ApiKey.id == key["id"]))
    assert stored_sessions(engine) == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "http://testserver.evil.example"},
        {"Origin": "null"},
        {"Referer": "https://evil.example/page"},
        {"Origin": "https://testserver"},  # another scheme is another origin
        {"Origin": "http://testserver:8080"},
    ],
)
def test_a_cross_site_signin_is_refused(
    client: TestClient, keys: Keys, engine: Engine, headers: dict[str, str]
) -> None:
    # Even with a token: the attacker's page cannot have ours, but refuse on the origin alone.
    token = form_token(client)
    response = client.post(
        "/signin",
        data={"key": keys.admin, "csrf": token, "next": "/"},
        headers=headers,
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    assert stored_sessions(engine) == []


def test_a_signin_without_our_token_is_refused(client: TestClient, keys: Keys) -> None:
    # What a cross-site form post looks like once SameSite=Strict kept our cookie back.
    bare = TestClient(client.app)
    response = bare.post("/signin", data={"key": keys.admin, "csrf": "x" * 43})
    assert response.status_code == 403
    assert "another site" in response.text or "token" in response.text
    # Our cookie but a forged form field, and our form field without the cookie.
    token = form_token(client)
    forged = client.post("/signin", data={"key": keys.admin, "csrf": "y" * 43})
    assert forged.status_code == 403
    client.cookies.delete(CSRF_COOKIE)
    assert client.post("/signin", data={"key": keys.admin, "csrf": token}).status_code == 403


def test_our_own_form_signs_in_with_or_without_the_headers(client: TestClient, keys: Keys) -> None:
    token = form_token(client)
    for headers in [
        {},
        {"Origin": ORIGIN},
        {"Origin": "HTTP://TestServer:80"},
        {"Referer": f"{ORIGIN}/signin?next=/"},
    ]:
        response = client.post(
            "/signin",
            data={"key": keys.admin, "csrf": token, "next": "/x"},
            headers=headers,
            follow_redirects=False,
        )
        assert response.status_code == 303, (headers, response.text)
        assert response.headers["location"] == "/x"


def test_a_cross_site_signout_is_refused(
    client: TestClient, keys: Keys, engine: Engine, project: dict[str, Any]
) -> None:
    sign_in(client, keys.admin)
    token = client.cookies[CSRF_COOKIE]
    refused = client.post(
        "/signout",
        data={"csrf": token},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "cross_site"
    no_token = client.post("/signout", follow_redirects=False)
    assert no_token.status_code == 403
    assert page(client, project).status_code == 200
    assert stored_sessions(engine)[0].revoked_at is None
