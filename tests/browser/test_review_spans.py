"""Reviewing spans in a real browser: highlights with their type and score, and every edit by
keyboard (or a mouse selection), with offsets sent in code points although the page counts
UTF-16 (the text has emoji before the entities, so the two counts differ)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine

from labelwise.errors import ReviewReason
from tests.browser.conftest import (
    LiveServer,
    Waiting,
    errors_of,
    labels,
    on_item,
    project_in_review,
    sign_in,
)
from tests.browser.test_review_page import HOSTILE
from tests.conftest import Keys

TEXT = "Hi 👋🏽 Zoë met Ana in São Paulo 🎉 then flew to Paris today."
TASK = {"type": "spans", "labels": ["PER", "LOC", "ORG"]}


def span(text: str, label: str, within: str = TEXT) -> dict[str, Any]:
    """The span of the first `text` in `within`, in code points (Python's offsets)."""
    start = within.index(text)
    return {"start": start, "end": start + len(text), "label": label, "text": text}


def with_confidence(value: dict[str, Any], confidence: float) -> dict[str, Any]:
    return {**value, "confidence": confidence, "label_confidence": 0.9, "text_confidence": 0.95}


MODEL = [span("Zoë", "PER"), span("São Paulo", "ORG"), span("today", "LOC")]
PARTS = [with_confidence(s, c) for s, c in zip(MODEL, [0.91, 0.42, 0.3], strict=True)]


def select_with_the_mouse(page: Page, text: str) -> None:
    """Selects `text` inside #text as a drag would, then lets go of the button."""
    page.evaluate(
        """(wanted) => {
          const box = document.getElementById("text");
          const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
          for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            const at = node.data.indexOf(wanted);
            if (at < 0) continue;
            const range = document.createRange();
            range.setStart(node, at);
            range.setEnd(node, at + wanted.length);
            getSelection().removeAllRanges();
            getSelection().addRange(range);
            box.dispatchEvent(new MouseEvent("mouseup", { bubbles: true }));
            return;
          }
          throw new Error("not in the text: " + wanted);
        }""",
        text,
    )


def test_a_reviewer_corrects_spans_with_the_keyboard(
    browser: Any, live_server: LiveServer, keys: Keys, engine: Engine
) -> None:
    _project, ids = project_in_review(
        engine,
        TASK,
        [
            Waiting({"text": TEXT, "source": "chat"}, MODEL, PARTS),
            Waiting({"text": TEXT}, MODEL[:1], PARTS[:1]),
        ],
    )
    page = browser.new_page()
    errors = errors_of(page)
    sign_in(page, live_server, keys.reviewer)
    on_item(page, ids[0])
    # The text is the item's, exactly: type and score are drawn beside it, not inserted in it.
    expect(page.locator("#text")).to_have_text(TEXT)
    marks = page.locator("#text mark")
    expect(marks).to_have_text(["Zoë", "São Paulo", "today"])
    expect(marks.first).to_have_attribute("data-tag", "PER 91%")
    expect(marks.nth(1)).to_have_attribute("data-tag", "ORG 42%")
    expect(page.locator("#fields")).to_have_text("sourcechat")
    expect(page.locator("#labels li")).to_have_text(["1PER", "2LOC", "3ORG"])

    page.keyboard.press("Tab")
    page.keyboard.press("Tab")  # São Paulo
    expect(page.locator("#text mark.selected")).to_have_text("São Paulo")
    page.keyboard.press("2")  # it is a place
    expect(marks.nth(1)).to_have_attribute("data-tag", "LOC")
    page.keyboard.press("Tab")
    page.keyboard.press("Delete")  # "today" is no entity
    expect(marks).to_have_count(2)

    # Ana: from the start, word by word past "Hi 👋🏽 Zoë met", then Shift+Ctrl+→ takes " Ana".
    page.keyboard.press("Home")
    for _ in range(3):
        page.keyboard.press("Control+ArrowRight")
    page.keyboard.press("Shift+Control+ArrowRight")
    expect(page.locator("#text .pending")).to_have_text(" Ana")
    page.keyboard.press("1")
    # Paris, a character at a time: Shift+→ five times from just before it.
    select_with_the_mouse(page, "flew to ")  # puts the caret where the selection ends
    page.keyboard.press("Escape")
    for _ in range(5):
        page.keyboard.press("Shift+ArrowRight")
    expect(page.locator("#text .pending")).to_have_text("Paris")
    page.keyboard.press("2")
    expect(marks).to_have_text(["Zoë", "Ana", "São Paulo", "Paris"])
    page.keyboard.press("Enter")

    on_item(page, ids[1])
    page.keyboard.press("Enter")  # the model's one span is right
    expect(page.locator("#empty")).to_be_visible()

    expected = [span("Zoë", "PER"), span("Ana", "PER"), span("São Paulo", "LOC")]
    expected.append(span("Paris", "LOC"))
    assert labels(engine, ids) == {
        ids[0]: ("reviewed", expected, "human"),
        ids[1]: ("reviewed", [span("Zoë", "PER")], "human"),
    }
    assert errors == []
    page.close()


def test_a_mouse_selection_across_emoji_is_sent_in_code_points(
    browser: Any, live_server: LiveServer, keys: Keys, engine: Engine
) -> None:
    text = "🎉🎉 Ünïcode 👩‍👩‍👧 family 👋🏽 wave"
    _project, ids = project_in_review(
        engine,
        TASK,
        [Waiting({"text": text}, [], [], ReviewReason.SPAN_NOT_FOUND)],
    )
    page = browser.new_page()
    sign_in(page, live_server, keys.reviewer)
    on_item(page, ids[0])
    expect(page.locator("#reason")).to_have_text("the model named text that is not in the item")
    expect(page.locator("#model-label")).to_have_text("Model: (no spans)")
    select_with_the_mouse(page, "👩‍👩‍👧 family")
    page.keyboard.press("3")
    select_with_the_mouse(page, " wave")  # the space is trimmed off
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    expect(page.locator("#empty")).to_be_visible()
    assert labels(engine, ids)[ids[0]] == (
        "reviewed",
        [span("👩‍👩‍👧 family", "ORG", text), span("wave", "PER", text)],
        "human",
    )
    page.close()


def test_hostile_text_in_spans_is_text(
    browser: Any, live_server: LiveServer, keys: Keys, engine: Engine
) -> None:
    model = [span("<b>bold</b>", "ORG", HOSTILE)]
    _project, ids = project_in_review(engine, TASK, [Waiting({"text": HOSTILE}, model)])
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(page, live_server, keys.reviewer)
    on_item(page, ids[0])
    expect(page.locator("#text")).to_have_text(HOSTILE)
    expect(page.locator("#text mark")).to_have_text("<b>bold</b>")
    assert page.locator("#item img, #item script, #item b").count() == 0
    page.wait_for_timeout(200)
    assert dialogs == []
    page.close()


CODE_POINT_CASES = [
    # text, UTF-16 offset, rounding, code point offset
    ("abc", 2, "floor", 2),
    ("a👋b", 1, "floor", 1),
    ("a👋b", 3, "floor", 2),
    ("a👋b", 4, "floor", 3),
    ("a👋b", 2, "floor", 1),  # inside the pair: back to its start
    ("a👋b", 2, "ceil", 2),  # or on to its end
    ("👩‍👧x", 5, "floor", 3),  # woman, joiner, girl: 2 + 1 + 2 units, 3 code points
    ("é", 1, "floor", 1),
]


@pytest.mark.parametrize(("text", "unit", "rounding", "point"), CODE_POINT_CASES)
def test_offsets_convert_between_utf16_and_code_points(
    browser: Any,
    live_server: LiveServer,
    text: str,
    unit: int,
    rounding: str,
    point: int,
) -> None:
    page = browser.new_page()
    page.goto(f"{live_server.url}/review")
    converted = page.evaluate(
        """async ([text, unit, rounding, point]) => {
          const c = await import("/static/desk/codepoints.js");
          return [c.unitToPoint(text, unit, rounding), c.pointToUnit(text, point)];
        }""",
        [text, unit, rounding, point],
    )
    assert converted[0] == point
    # Back to UTF-16: the offset itself, or the end of the character it fell inside.
    assert converted[1] == len(text[:point].encode("utf-16-le")) // 2
    page.close()
