"""Signing in to the pages in a real browser: our own forms work (Chromium sends `Origin` on a form
post, so the pages' referrer policy must not turn it into "null"), and a page on another site
cannot sign the browser in to someone else's team."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import Route, expect
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from labelwise.api.deps import SESSION_COOKIE
from labelwise.store.models import BrowserSession
from tests.browser.conftest import LiveServer
from tests.conftest import PROJECT, Keys

ATTACKER = "http://attacker.test"


def sessions(engine: Engine) -> list[BrowserSession]:
    with Session(engine) as session:
        return list(session.scalars(select(BrowserSession)))


def new_project(server: LiveServer, keys: Keys) -> int:
    response = httpx.post(f"{server.url}/v1/projects", json=PROJECT, headers=keys.auth("admin"))
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_sign_in_and_out_of_the_quality_page(
    browser: Any, live_server: LiveServer, keys: Keys, engine: Engine
) -> None:
    quality = f"{live_server.url}/projects/{new_project(live_server, keys)}/quality"
    context = browser.new_context()
    page = context.new_page()
    page.goto(quality)
    expect(page.locator("h1")).to_have_text("Sign in")
    page.locator("#key").fill(keys.admin)
    page.locator("form.signin button").click()
    page.wait_for_url(quality)
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    [cookie] = [c for c in context.cookies() if c["name"] == SESSION_COOKIE]
    assert cookie["value"] != keys.admin and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert keys.admin not in page.url

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{live_server.url}/signin")
    assert [s.revoked_at is not None for s in sessions(engine)] == [True]
    assert not [c for c in context.cookies() if c["name"] == SESSION_COOKIE]

    # The old cookie, put back, opens nothing: the session ended on the server.
    context.add_cookies([cookie])
    page.goto(quality)
    expect(page.locator("h1")).to_have_text("Sign in")
    context.close()


def test_a_page_on_another_site_cannot_sign_the_browser_in(
    browser: Any, live_server: LiveServer, keys: Keys, engine: Engine
) -> None:
    context = browser.new_context()
    page = context.new_page()
    # The victim has our sign-in form open already, so our anti-forgery cookie exists.
    page.goto(f"{live_server.url}/signin")
    attack = f"""<!doctype html><html><body>
      <form id="f" method="post" action="{live_server.url}/signin">
        <input name="key" value="{keys.other_team}"><input name="next" value="/">
        <input name="csrf" value="{"x" * 43}">
      </form>
      <script>document.getElementById("f").submit()</script>
    </body></html>"""

    def serve(route: Route) -> None:
        route.fulfill(status=200, content_type="text/html", body=attack)

    context.route(f"{ATTACKER}/**", serve)
    with page.expect_response(f"{live_server.url}/signin") as posted:
        page.goto(f"{ATTACKER}/prize")
    assert posted.value.status == 403
    assert not [c for c in context.cookies() if c["name"] == SESSION_COOKIE]
    assert sessions(engine) == []
    context.close()


def test_the_review_desks_sign_out_button(
    browser: Any, live_server: LiveServer, keys: Keys
) -> None:
    new_project(live_server, keys)
    page = browser.new_page()
    page.goto(f"{live_server.url}/review")
    page.locator("#key").fill(keys.reviewer)
    page.keyboard.press("Enter")
    expect(page.locator("#projects")).to_be_visible()
    page.locator("#signout").click()
    expect(page.locator("#signin")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('labelwise.key')") is None
    page.close()
