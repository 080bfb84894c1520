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
import time

from playwright.sync_api import sync_playwright
from review_server import CHROMIUM, CHROMIUM_ARGS, InReview, serving_review_queue
from sqlalchemy import select
from sqlalchemy.orm import Session

from labelwise.store.models import Item


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=200)
    args = parser.parse_args()
    waiting = [InReview(f"Review {i}: it was fine, mostly.") for i in range(args.items)]
    task = {"labels": ["positive", "negative"]}
    waits = []
    with serving_review_queue(task, waiting) as queue, sync_playwright() as playwright:
        ids = queue.item_ids
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(f"{queue.url}/review")
        page.fill("#key", queue.reviewer_key)
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
        with Session(queue.engine) as session:
            done = session.scalars(select(Item.status).where(Item.batch_id == queue.batch_id)).all()
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
