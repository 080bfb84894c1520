"""The review page's screenshot for the README:

    .venv/bin/python benchmarks/review_screenshot.py


A few sample items wait in review (one with a rationale, one drawn for an audit); a reviewer
signs in in Debian's Chromium, and the page is saved as `docs/review-page.png`.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import sync_playwright
from review_server import CHROMIUM, CHROMIUM_ARGS, InReview, serving_review_queue

from labelwise.errors import ReviewReason

OUT = Path(__file__).resolve().parents[1] / "docs" / "review-page.png"
WAITING = [
    InReview(
        "The hotel was spotless and the staff went out of their way for us, but the street noise "
        "kept us up two nights out of three. Would we stay again? Probably, with earplugs.",
        "positive",
        0.58,
        ReviewReason.LOW_CONFIDENCE,
        "Praise for the staff and cleanliness outweighs the complaint about noise, and the "
        "reviewer says they would probably return.",
    ),
    InReview("Arrived broken. Support never answered.", "negative", 0.97, ReviewReason.AUDIT),
]


def main() -> None:
    task = {"labels": ["positive", "negative", "mixed"], "rationale": True}
    with serving_review_queue(task, WAITING) as queue, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1000, "height": 640})
        page.goto(f"{queue.url}/review")
        page.fill("#key", queue.reviewer_key)
        page.keyboard.press("Enter")
        page.click("#project-list button")
        page.wait_for_selector("#item:not([hidden])")
        page.wait_for_timeout(300)
        page.screenshot(path=str(OUT), full_page=True)
        browser.close()
    print(f"saved {OUT}")


if __name__ == "__main__":
    main()
