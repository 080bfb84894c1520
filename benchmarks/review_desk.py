"""How fast the review desk lets a reviewer go: keystroke to the next item on screen.

    .venv/bin/python benchmarks/review_desk.py --items 200

Serves the API on loopback over a scratch SQLite file, puts N items in review, and has Debian's
Chromium (driven by Playwright) clear them with the keyboard alone: a number key on every third
item (a correction), then Enter. Prints decisions per second and the time from Enter to the next
item shown (p50, p95): the page's own cost, which a human's reading time dwarfs. Needs Redis.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
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

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=200)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="labelwise-desk-"))
    settings = Settings(
        database_url=f"sqlite:///{workdir / 'desk.db'}",
        queue_name=f"desk-{uuid.uuid4().hex[:8]}",
        openai_base_url="http://127.0.0.1:9/v1",
        openai_api_key="unused",
    )
    engine = make_engine(settings.database_url)
    upgrade(engine)
    with Session(engine) as session:
        admin = create_key(session, name="ada", role=Role.ADMIN, team="bench")
        reviewer = create_key(session, name="rita", role=Role.REVIEWER, team="bench")
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
        json={"name": "desk", "task": {"labels": ["positive", "negative"]}, "model": {"name": "m"}},
    ).json()
    items = [{"data": {"text": f"Review {i}: it was fine, mostly."}} for i in range(args.items)]
    batch = httpx.post(
        f"{url}/v1/projects/{project['id']}/batches", headers=headers, json={"items": items}
    ).json()
    with Session(engine) as session:
        ids = list(session.scalars(select(Item.id).where(Item.batch_id == batch["id"])))
    template = OutcomeRow(
        item_id=0, batch_id=batch["id"], version=1, status=ItemStatus.REVIEW,
        reason=ReviewReason.LOW_CONFIDENCE, value="positive", confidence=0.55, method="logprob",
        per_label=None, model="m", prompt_tokens=0, cached_tokens=0, completion_tokens=0,
        cost_usd=0.0, latency_ms=0, attempts=1, error_message=None, rationale=None,
    )  # fmt: skip
    with engine.begin() as connection:
        record_outcomes(connection, [replace(template, item_id=i) for i in ids], now=time.time())

    waits = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        page = browser.new_page()
        page.goto(f"{url}/review")
        page.fill("#key", reviewer)
        page.keyboard.press("Enter")
        page.click("#project-list button")
        started = time.perf_counter()
        for n, item_id in enumerate(ids):
            page.wait_for_selector(f'#item[data-item-id="{item_id}"]:not([hidden])')
            if n % 3 == 0:
                page.keyboard.press("2")
            shown = time.perf_counter()
            page.keyboard.press("Enter")
            if n + 1 < len(ids):
                page.wait_for_selector(f'#item[data-item-id="{ids[n + 1]}"]')
                waits.append(time.perf_counter() - shown)
        page.wait_for_selector("#empty:not([hidden])")
        elapsed = time.perf_counter() - started
        browser.close()
    server.should_exit = True
    with Session(engine) as session:
        done = session.scalars(select(Item.status).where(Item.batch_id == batch["id"])).all()
    if set(done) != {"reviewed"}:
        sys.exit(f"not every item was decided: {sorted(set(done))}")
    waits_ms = sorted(w * 1000 for w in waits)
    print(
        json.dumps(
            {
                "items": len(ids),
                "seconds": round(elapsed, 2),
                "decisions_per_second": round(len(ids) / elapsed, 1),
                "enter_to_next_item_ms_p50": round(statistics.median(waits_ms), 1),
                "enter_to_next_item_ms_p95": round(waits_ms[int(0.95 * len(waits_ms))], 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
