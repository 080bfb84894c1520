"""The review desk in a real browser, used as a reviewer would: keyboard only, hostile text,
two reviewers at once, a tab closed mid-item."""

from __future__ import annotations

import time
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from labelwise.store.models import Item
from tests.browser.conftest import LiveServer, items_in_review, labels, on_item, sign_in
from tests.conftest import PROJECT, Keys

HOSTILE = '<img src=x onerror=alert(1)><script>alert(2)</script>"><b>bold</b>'


def test_a_reviewer_clears_the_queue_with_the_keyboard(
    browser: Any, live_server: LiveServer, keys: Keys, engine: Engine
) -> None:
    _project_id, ids = items_in_review(
        live_server, keys, engine, ["Broke in a day", "Love it", "Fine, I guess"], PROJECT
    )
    page = browser.new_page()
    sign_in(page, live_server, keys.reviewer)
    assert keys.reviewer not in page.url

    on_item(page, ids[0])
    expect(page.locator("#model-label")).to_have_text("Model: positive")
    expect(page.locator("#left")).to_have_text("3 left")
    page.keyboard.press("2")  # negative
    expect(page.locator("#labels li.selected")).to_have_text("2negative")
    page.keyboard.press("Enter")

    on_item(page, ids[1])
    page.keyboard.press("Enter")  # keep the model's label
    on_item(page, ids[2])
    page.keyboard.press("u")  # take the last decision back
    on_item(page, ids[1])
    expect(page.locator("#status")).to_have_text("Undone: decide again.")
    page.keyboard.press("2")
    page.keyboard.press("Enter")

    on_item(page, ids[2])
    page.keyboard.press("Enter")
    expect(page.locator("#empty")).to_be_visible()
    expect(page.locator("#left")).to_have_text("0 left")

    assert labels(engine, ids) == {
        ids[0]: ("reviewed", "negative", "human"),
        ids[1]: ("reviewed", "negative", "human"),
        ids[2]: ("reviewed", "positive", "human"),
    }
    page.close()


def test_multi_label_items_are_toggled_with_number_keys(
    browser: Any, live_server: LiveServer, keys: Keys, engine: Engine
) -> None:
    definition = {
        **PROJECT,
        "task": {"labels": ["positive", "negative", "funny"], "multi_label": True},
    }
    _project_id, ids = items_in_review(
        live_server, keys, engine, ["Great and hilarious"], definition
    )
    page = browser.new_page()
    sign_in(page, live_server, keys.reviewer)
    on_item(page, ids[0])
    # The model said "positive"; add "funny", then save.
    page.keyboard.press("3")
    expect(page.locator("#labels li.selected")).to_have_count(2)
    page.keyboard.press("Enter")
    expect(page.locator("#empty")).to_be_visible()
    assert labels(engine, ids)[ids[0]] == ("reviewed", ["funny", "positive"], "human")
    page.close()


def test_hostile_item_text_is_shown_as_text_and_runs_nothing(
    browser: Any, live_server: LiveServer, keys: Keys, engine: Engine
) -> None:
    _project_id, ids = items_in_review(live_server, keys, engine, [HOSTILE], PROJECT)
    page = browser.new_page()
    dialogs: list[str] = []
    requests: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("request", lambda request: requests.append(request.url))
    sign_in(page, live_server, keys.reviewer)
    on_item(page, ids[0])
    expect(page.locator("#text")).to_have_text(HOSTILE)
    assert page.locator("#item img, #item script, #item b").count() == 0
    page.wait_for_timeout(300)
    assert dialogs == []
    assert all(url.startswith(live_server.url) for url in requests), requests
    policy = page.request.get(f"{live_server.url}/review").headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    page.close()


def test_two_reviewers_never_hold_the_same_item_and_a_closed_tab_gives_its_items_back(
    browser: Any, live_server: LiveServer, keys: Keys, engine: Engine
) -> None:
    _project_id, ids = items_in_review(
        live_server, keys, engine, [f"review {i}" for i in range(4)], PROJECT
    )
    first = browser.new_context().new_page()
    second = browser.new_context().new_page()
    sign_in(first, live_server, keys.reviewer)
    sign_in(second, live_server, keys.reviewer2)
    for page in (first, second):
        page.wait_for_selector("#item[data-item-id]")
    shown = [int(page.locator("#item").get_attribute("data-item-id")) for page in (first, second)]
    assert shown[0] != shown[1]

    def holders() -> dict[int, int | None]:
        now = time.time()
        with Session(engine) as session:
            rows = session.execute(
                select(Item.id, Item.claimed_by, Item.claim_expires_at).where(Item.id.in_(ids))
            ).all()
        return {i: by if expires and expires > now else None for i, by, expires in rows}

    # Each holds the item on screen and the next one: four claims, no item held twice.
    deadline = time.monotonic() + 5
    while sum(h is not None for h in holders().values()) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    held = holders()
    assert sorted(held) == sorted(ids) and all(h is not None for h in held.values())
    assert len({h for h in held.values()}) == 2

    # The first reviewer closes the tab mid-item: both of its claims go back to the queue.
    first_key = held[shown[0]]
    first.close()
    deadline = time.monotonic() + 5
    while first_key in holders().values() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert first_key not in holders().values()
    second.close()


def test_an_adjudicator_sees_the_reviewers_votes_as_text(
    browser: Any, live_server: LiveServer, keys: Keys, engine: Engine
) -> None:
    definition = {**PROJECT, "review": {"reviewers_per_item": 2}}
    _project_id, ids = items_in_review(live_server, keys, engine, ["Meh"], definition)
    for key, label in ((keys.reviewer, "1"), (keys.reviewer2, "2")):
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
        sign_in(page, live_server, key)
        on_item(page, ids[0])
        page.keyboard.press(label)
        page.keyboard.press("Enter")
        expect(page.locator("#empty")).to_be_visible()
        expect(page.locator("#status")).to_have_text(
            "Saved: the item waits for another reviewer's decision."
        )
        assert errors == []
        page.close()
    page = browser.new_page()
    sign_in(page, live_server, keys.adjudicator)
    on_item(page, ids[0])
    expect(page.locator("#reason")).to_have_text("reviewers disagree: adjudicate")
    expect(page.locator("#votes")).to_have_text("Reviewers said: rita: positive; rob: negative")
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    expect(page.locator("#empty")).to_be_visible()
    assert labels(engine, ids)[ids[0]] == ("reviewed", "negative", "human")
    page.close()
