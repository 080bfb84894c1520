"""Take the review page's screenshot for the README: `.venv/bin/python docs/review_screenshot.py`.

Serves the API on loopback over a scratch SQLite file, puts a few sample items in review (one
with a rationale, one drawn for an audit), signs in as a reviewer in Debian's Chromium, and saves
`docs/review-page.png`. Needs Redis, as the API does.
"""

from __future__ import annotations

import tempfile
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path

import httpx
import uvicorn
from playwright.sync_api import sync_playwright
from sqlalchemy import select
from sqlalchemy.orm import Session

from labelwise.api.app import create_app
from labelwise.domain import ItemStatus
from labelwise.errors import ReviewReason
from labelwise.settings import Settings
from labelwise.store.db import make_engine
from labelwise.store.keys import Role, create_key
from labelwise.store.labeling import OutcomeRow, record_outcomes
from labelwise.store.migrate import upgrade
from labelwise.store.models import Item
from labelwise.supervisor import free_port

OUT = Path(__file__).parent / "review-page.png"
ITEMS = [
    (
        "The hotel was spotless and the staff went out of their way for us, but the street noise "
        "kept us up two nights out of three. Would we stay again? Probably, with earplugs.",
        "positive",
        0.58,
        ReviewReason.LOW_CONFIDENCE,
        "Praise for the staff and cleanliness outweighs the complaint about noise, and the "
        "reviewer says they would probably return.",
    ),
    ("Arrived broken. Support never answered.", "negative", 0.97, ReviewReason.AUDIT, None),
]


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="labelwise-shot-"))
    settings = Settings(
        database_url=f"sqlite:///{workdir / 'shot.db'}",
        queue_name=f"shot-{uuid.uuid4().hex[:8]}",
        openai_base_url="http://127.0.0.1:9/v1",
        openai_api_key="unused",
    )
    engine = make_engine(settings.database_url)
    upgrade(engine)
    with Session(engine) as session:
        admin = create_key(session, name="ada", role=Role.ADMIN, team="demo")
        reviewer = create_key(session, name="rita", role=Role.REVIEWER, team="demo")
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    url = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {admin}"}
    project = httpx.post(
        f"{url}/v1/projects",
        headers=headers,
        json={
            "name": "hotel-reviews",
            "task": {"labels": ["positive", "negative", "mixed"], "rationale": True},
            "model": {"name": "gpt-4o-mini"},
        },
    ).json()
    batch = httpx.post(
        f"{url}/v1/projects/{project['id']}/batches",
        headers=headers,
        json={"items": [{"data": {"text": text}} for text, *_ in ITEMS]},
    ).json()
    with Session(engine) as session:
        ids = list(session.scalars(select(Item.id).where(Item.batch_id == batch["id"])))
    template = OutcomeRow(
        item_id=0, batch_id=batch["id"], version=1, status=ItemStatus.REVIEW, reason=None,
        value=None, confidence=None, method="logprob", per_label=None, model="gpt-4o-mini",
        prompt_tokens=0, cached_tokens=0, completion_tokens=0, cost_usd=0.0, latency_ms=0,
        attempts=1, error_message=None, rationale=None,
    )  # fmt: skip
    rows = [
        replace(template, item_id=i, value=v, confidence=c, reason=r, rationale=why)
        for i, (_text, v, c, r, why) in zip(ids, ITEMS, strict=True)
    ]
    with engine.begin() as connection:
        record_outcomes(connection, rows, now=time.time())
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1000, "height": 640})
        page.goto(f"{url}/review")
        page.fill("#key", reviewer)
        page.keyboard.press("Enter")
        page.click("#project-list button")
        page.wait_for_selector("#item:not([hidden])")
        page.wait_for_timeout(300)
        page.screenshot(path=str(OUT), full_page=True)
        browser.close()
    server.should_exit = True
    print(f"saved {OUT}")


if __name__ == "__main__":
    main()
