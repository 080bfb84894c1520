"""A real browser (Debian's Chromium, driven by Playwright) against the API served on loopback.

The browser is the system's `/usr/bin/chromium`: nothing is downloaded. `.ci/run` installs it
(and fails these tests if it is missing there); elsewhere, without it, they are skipped with the
reason printed by `-ra`.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from labelwise.api.app import create_app
from labelwise.domain import ItemStatus
from labelwise.errors import ReviewReason
from labelwise.local.supervisor import free_port
from labelwise.settings import Settings
from labelwise.store.db import make_engine
from labelwise.store.labeling import record_outcomes
from labelwise.store.migrate import upgrade
from labelwise.store.models import Batch, Item
from labelwise.store.projects import checked_spec, create_project
from tests.conftest import Keys, make_settings, outcome

CHROMIUM = os.environ.get("LABELWISE_TEST_CHROMIUM", "/usr/bin/chromium")
# As this machine's network is closed, Chromium's own background connections are turned off.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """The browser tests run on SQLite; the store's behaviour is tested on both elsewhere."""
    url = f"sqlite:///{tmp_path / 'labelwise.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per module. Playwright's sync API runs an event loop of its own while it is
    open, so it must be closed before the asyncio tests of other modules run."""
    if not Path(CHROMIUM).exists():
        message = f"no Chromium at {CHROMIUM}: `apt-get install chromium` (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs it: its absence there is a broken setup
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@dataclass
class LiveServer:
    url: str
    settings: Settings


@pytest.fixture
def live_server(database_url: str, queue_name: str) -> Iterator[LiveServer]:
    settings = make_settings(database_url, queue_name)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    yield LiveServer(f"http://127.0.0.1:{port}", settings)
    server.should_exit = True
    thread.join(timeout=10)


def items_in_review(
    server: LiveServer,
    keys: Keys,
    engine: Engine,
    texts: list[str],
    definition: dict[str, Any],
) -> tuple[int, list[int]]:
    """A project whose items wait in review, the model having said `positive` at 0.55."""
    headers = keys.auth("admin")
    project = httpx.post(f"{server.url}/v1/projects", json=definition, headers=headers).json()
    items = [{"external_id": f"x{i}", "data": {"text": text}} for i, text in enumerate(texts)]
    batch = httpx.post(
        f"{server.url}/v1/projects/{project['id']}/batches", json={"items": items}, headers=headers
    ).json()
    with Session(engine) as session:
        ids = list(
            session.scalars(select(Item.id).where(Item.batch_id == batch["id"]).order_by(Item.id))
        )
    rows = [outcome(i, batch["id"], ItemStatus.REVIEW, confidence=0.55) for i in ids]
    with engine.begin() as connection:
        record_outcomes(connection, rows, now=0.0)
    return project["id"], ids


@dataclass(frozen=True)
class Waiting:
    """An item waiting in review: its data and what the model said of it."""

    data: dict[str, Any]
    value: Any
    parts: Any = None
    reason: ReviewReason = ReviewReason.LOW_CONFIDENCE


def project_in_review(
    engine: Engine, task: dict[str, Any], waiting: list[Waiting], *, team: str = "acme"
) -> tuple[int, list[int]]:
    """A project of any task type whose items wait in review, written to the store directly:
    reviewing must not depend on the type's labeler, and the API creates projects only of the
    types this deployment can label."""
    spec = checked_spec({"task": task, "model": {"name": "test-model"}})
    with Session(engine) as session:
        project = create_project(session, team=team, name=f"{task['type']} review", spec=spec)
        batch = Batch(project_id=project.id, team=team, received=len(waiting))
        session.add(batch)
        session.flush()
        rows = [
            Item(
                project_id=project.id,
                batch_id=batch.id,
                external_id=f"x{i}",
                data=item.data,
                status=ItemStatus.PENDING.value,
                version=1,
            )
            for i, item in enumerate(waiting)
        ]
        session.add_all(rows)
        session.commit()
        ids, batch_id = [row.id for row in rows], batch.id
    outcomes = [
        replace(
            outcome(item_id, batch_id, ItemStatus.REVIEW, confidence=0.55),
            value=item.value,
            parts=item.parts,
            reason=item.reason,
        )
        for item_id, item in zip(ids, waiting, strict=True)
    ]
    with engine.begin() as connection:
        record_outcomes(connection, outcomes, now=0.0)
    return project.id, ids


def sign_in(page: Page, server: LiveServer, key: str) -> None:
    page.goto(f"{server.url}/review")
    page.locator("#key").fill(key)
    page.keyboard.press("Enter")
    # Projects are listed and the first is focused: Enter opens it.
    expect(page.locator("#project-list button").first).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#desk")).to_be_visible()


def on_item(page: Page, item_id: int) -> None:
    expect(page.locator("#item")).to_have_attribute("data-item-id", str(item_id))


def labels(engine: Engine, ids: list[int]) -> dict[int, tuple[str, Any, str | None]]:
    with Session(engine) as session:
        rows = session.execute(
            select(Item.id, Item.status, Item.label_value, Item.label_source).where(
                Item.id.in_(ids)
            )
        ).all()
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


def errors_of(page: Page) -> list[str]:
    """The script errors the page raises from now on."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors
