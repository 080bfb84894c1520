"""The review desk's batch filter in a real browser: claims keep to the batch typed in, what
was held goes back to the queue, and a bad or foreign id is refused in words."""

from __future__ import annotations

import time
from typing import Any

import httpx
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from labelwise.domain import ItemStatus
from labelwise.store.labeling import record_outcomes
from labelwise.store.models import Item
from tests.browser.conftest import LiveServer, errors_of, labels, on_item, sign_in
from tests.conftest import PROJECT, Keys, outcome


def batches_in_review(
    server: LiveServer, keys: Keys, engine: Engine, sizes: list[int]
) -> tuple[list[int], list[list[int]]]:
    """One project with a batch of each size, every item waiting in review."""
    headers = keys.auth("admin")
    project = httpx.post(f"{server.url}/v1/projects", json=PROJECT, headers=headers).json()
    batch_ids, item_ids = [], []
    for n, size in enumerate(sizes):
        items = [
            {"external_id": f"b{n}-{i}", "data": {"text": f"batch {n} item {i}"}}
            for i in range(size)
        ]
        batch = httpx.post(
            f"{server.url}/v1/projects/{project['id']}/batches",
            json={"items": items},
            headers=headers,
        ).json()
        with Session(engine) as session:
            ids = list(
                session.scalars(
                    select(Item.id).where(Item.batch_id == batch["id"]).order_by(Item.id)
                )
            )
        rows = [outcome(i, batch["id"], ItemStatus.REVIEW, confidence=0.55) for i in ids]
        with engine.begin() as connection:
            record_outcomes(connection, rows, now=0.0)
        batch_ids.append(batch["id"])
        item_ids.append(ids)
    return batch_ids, item_ids


def held(engine: Engine, ids: list[int]) -> list[int]:
    now = time.time()
    with Session(engine) as session:
        return list(
            session.scalars(select(Item.id).where(Item.id.in_(ids), Item.claim_expires_at > now))
        )


def filter_to(page: Page, text: str) -> None:
    page.locator("#batch").fill(text)
    page.locator("#batch").press("Enter")


def test_the_desk_keeps_to_the_batch_typed_in(
    browser: Any, live_server: LiveServer, keys: Keys, engine: Engine
) -> None:
    (_first_batch, second_batch), (first, second) = batches_in_review(
        live_server, keys, engine, [2, 2]
    )
    page = browser.new_page()
    errors = errors_of(page)
    sign_in(page, live_server, keys.reviewer)
    on_item(page, first[0])
    expect(page.locator("#left")).to_have_text("4 left")

    filter_to(page, str(second_batch))
    on_item(page, second[0])
    expect(page.locator("#status")).to_have_text(f"Only batch {second_batch}.")
    expect(page.locator("#left")).to_have_text("2 left")
    # What the desk held of the other batch went back to the queue.
    deadline = time.monotonic() + 5
    while held(engine, first) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert held(engine, first) == []

    page.keyboard.press("Enter")  # keep the model's label; the keys drive the desk again
    on_item(page, second[1])
    page.keyboard.press("Enter")
    expect(page.locator("#empty")).to_be_visible()
    assert {labels(engine, second)[i][0] for i in second} == {"reviewed"}

    filter_to(page, "")
    on_item(page, first[0])
    expect(page.locator("#status")).to_have_text("Every batch.")
    expect(page.locator("#left")).to_have_text("2 left")
    assert errors == []
    page.close()


def test_a_bad_or_foreign_batch_id_is_refused_in_words(
    browser: Any, live_server: LiveServer, keys: Keys, engine: Engine
) -> None:
    (_batch,), ((item_id,),) = batches_in_review(live_server, keys, engine, [1])
    (foreign_batch,), _ = batches_in_review(live_server, keys, engine, [1])
    page = browser.new_page()
    errors = errors_of(page)
    sign_in(page, live_server, keys.reviewer)
    on_item(page, item_id)

    filter_to(page, "<b>1</b>")
    expect(page.locator("#status")).to_have_text(
        "A batch id is a whole number; leave it empty for every batch."
    )
    on_item(page, item_id)  # nothing changed
    assert page.locator("#desk b").count() == 0

    # A batch of another project: the claim is refused and the desk says why.
    filter_to(page, str(foreign_batch))
    expect(page.locator("#status")).to_have_text(f"batch {foreign_batch} not found")
    expect(page.locator("#empty")).to_be_visible()
    assert errors == []
    page.close()
