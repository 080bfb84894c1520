"""Reviewing extraction, rating and pairwise items in a real browser, keyboard first: what the
page shows of each type, and the value each edit submits, read back from the store."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import Engine

from labelwise.errors import ReviewReason
from labelwise.tasks import TASK_TYPES
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

INVOICE = {
    "type": "extraction",
    "schema": {
        "type": "object",
        "properties": {
            "vendor": {"type": "string"},
            "total": {"type": "number"},
            "currency": {"enum": ["EUR", "USD"]},
            "paid": {"type": ["boolean", "null"]},
            "lines": {"type": "array", "items": {"type": "string"}},
        },
    },
}
INVOICE_VALUE = {
    "vendor": "ACME GmbH",
    "total": 12.5,
    "currency": "USD",
    "paid": None,
    "lines": ["bolts"],
}
INVOICE_PARTS = {
    "vendor": {"value": "ACME GmbH", "confidence": 0.95},
    "total": {"value": 12.5, "confidence": 0.62},
    "currency": {"value": "USD", "confidence": 0.3},
    "paid": {"value": None, "confidence": None},
    "lines": {"value": ["bolts"], "confidence": 0.81},
}
NO_SCORE = "\u2013"  # the mark of a field the model gave no confidence for


def test_an_extraction_form_is_edited_and_submitted(
    browser: Any, live_server: LiveServer, keys: Keys, engine: Engine
) -> None:
    data = {"text": "Invoice from ACME GmbH: 2 lines, EUR 125.50 due."}
    _project, ids = project_in_review(
        engine,
        INVOICE,
        [Waiting(data, INVOICE_VALUE, INVOICE_PARTS), Waiting(data, INVOICE_VALUE)],
    )
    page = browser.new_page()
    errors = errors_of(page)
    sign_in(page, live_server, keys.reviewer)
    on_item(page, ids[0])
    expect(page.locator("#text")).to_have_text(data["text"])
    rows = page.locator("#extract .field-row")
    expect(rows.locator("label")).to_have_text(["vendor", "total", "currency", "paid", "lines"])
    expect(rows.locator(".conf")).to_have_text(["95%", "62%", "30%", NO_SCORE, "81%"])
    expect(rows.nth(2).locator(".conf")).to_have_class("conf low")
    expect(page.locator("#field-0")).to_have_value("ACME GmbH")

    page.keyboard.press("e")  # into the form: the vendor is right
    expect(page.locator("#field-0")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Control+a")
    page.keyboard.type("125.50")
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowUp")  # USD -> EUR
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Control+End")
    page.keyboard.type("\nnuts")
    page.keyboard.press("Escape")  # out of the form: the desk's keys work again
    page.keyboard.press("Enter")

    on_item(page, ids[1])
    expect(page.locator("#extract .conf").first).to_have_text(NO_SCORE)
    page.keyboard.press("e")
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")  # no vendor in the document: an empty field is null
    page.keyboard.press("Enter")  # saves from inside the form
    expect(page.locator("#empty")).to_be_visible()

    corrected = {**INVOICE_VALUE, "total": 125.5, "currency": "EUR", "lines": ["bolts", "nuts"]}
    assert labels(engine, ids) == {
        ids[0]: ("reviewed", corrected, "human"),
        ids[1]: ("reviewed", {**INVOICE_VALUE, "vendor": None}, "human"),
    }
    assert errors == []
    page.close()


def test_a_number_that_is_no_number_is_not_sent(
    browser: Any, live_server: LiveServer, keys: Keys, engine: Engine
) -> None:
    _project, ids = project_in_review(
        engine, INVOICE, [Waiting({"text": "Invoice"}, INVOICE_VALUE, INVOICE_PARTS)]
    )
    page = browser.new_page()
    sign_in(page, live_server, keys.reviewer)
    on_item(page, ids[0])
    page.keyboard.press("e")
    page.keyboard.press("Tab")
    page.keyboard.type("x")
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_have_text("total: must be a number")
    expect(page.locator("#field-1")).to_be_focused()
    assert labels(engine, ids)[ids[0]][0] == "review"
    page.close()


RATING = {
    "type": "rating",
    "scale": {"min": 1, "max": 5, "anchors": {"1": "useless", "5": "complete and correct"}},
    "criteria": "Does the answer solve the user's problem?",
}


@pytest.mark.parametrize("registered", [True, False])
def test_a_rating_is_picked_by_its_number_beside_the_rubric(
    browser: Any,
    live_server: LiveServer,
    keys: Keys,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    registered: bool,
) -> None:
    if not registered:  # reviewing needs the project's definition, not the type's labeler
        monkeypatch.delitem(TASK_TYPES, "rating", raising=False)
    parts = {"distribution": {"3": 0.2, "4": 0.7, "5": 0.1}, "expected": 3.9, "chosen": 0.7}
    _project, ids = project_in_review(
        engine,
        RATING,
        [Waiting({"text": "Restart the router."}, 4, parts), Waiting({"text": "Try again."}, 2)],
    )
    page = browser.new_page()
    errors = errors_of(page)
    sign_in(page, live_server, keys.reviewer)
    on_item(page, ids[0])
    expect(page.locator("#aside .criteria")).to_have_text(RATING["criteria"])
    expect(page.locator("#aside .anchors")).to_have_text("1useless5complete and correct")
    expect(page.locator("#labels li")).to_have_text(["1", "2", "320%", "470%", "510%"])
    expect(page.locator("#labels li.selected")).to_have_text("470%")
    expect(page.locator("#model-label")).to_have_text("Model: 4")
    page.keyboard.press("2")
    expect(page.locator("#labels li.selected")).to_have_text("2")
    page.keyboard.press("Enter")
    on_item(page, ids[1])
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    expect(page.locator("#empty")).to_be_visible()
    assert labels(engine, ids) == {
        ids[0]: ("reviewed", 2, "human"),
        ids[1]: ("reviewed", 4, "human"),
    }
    assert errors == []
    page.close()


def test_scores_of_two_digits_and_negative_ones_are_typed(
    browser: Any, live_server: LiveServer, keys: Keys, engine: Engine
) -> None:
    task = {"type": "rating", "scale": {"min": -3, "max": 10}}
    _project, ids = project_in_review(
        engine, task, [Waiting({"text": "one"}, 5), Waiting({"text": "two"}, 5)]
    )
    page = browser.new_page()
    sign_in(page, live_server, keys.reviewer)
    on_item(page, ids[0])
    page.keyboard.press("1")
    page.keyboard.press("0")
    expect(page.locator("#labels li.selected")).to_have_text("10")
    page.keyboard.press("Enter")
    on_item(page, ids[1])
    page.keyboard.press("-")
    page.keyboard.press("2")
    expect(page.locator("#labels li.selected")).to_have_text("-2")
    page.keyboard.press("Enter")
    expect(page.locator("#empty")).to_be_visible()
    assert labels(engine, ids) == {
        ids[0]: ("reviewed", 10, "human"),
        ids[1]: ("reviewed", -2, "human"),
    }
    page.close()


PAIRWISE = {
    "type": "pairwise",
    "fields": ["first", "second"],
    "context_field": "question",
    "allow_tie": True,
}


def pair(first: str, second: str) -> dict[str, str]:
    return {"question": "How do I reset it?", "first": first, "second": second, "note": "n"}


@pytest.mark.parametrize("swapped", [False, True])
def test_pairwise_candidates_are_shown_in_a_drawn_order_and_mapped_back(
    browser: Any, live_server: LiveServer, keys: Keys, engine: Engine, swapped: bool
) -> None:
    parts = [
        {"order": ["a", "b"], "answer": "a", "confidence": 0.9},
        {"order": ["b", "a"], "answer": "b", "confidence": 0.6},
    ]
    _project, ids = project_in_review(
        engine,
        PAIRWISE,
        [
            Waiting(
                pair("Hold the button.", "Unplug it."), "a", parts, ReviewReason.ORDER_DISAGREEMENT
            ),
            Waiting(pair("Call us.", "Read the manual."), "b"),
        ],
    )
    page = browser.new_page()
    errors = errors_of(page)
    # The draw decides the sides; fixed here so the test knows them.
    page.add_init_script(f"Math.random = () => {0.9 if swapped else 0.1};")
    sign_in(page, live_server, keys.reviewer)
    on_item(page, ids[0])
    expect(page.locator("#text")).to_be_hidden()
    expect(page.locator("#context")).to_have_text("questionHow do I reset it?")
    expect(page.locator("#fields")).to_have_text("noten")
    sides = ["Hold the button.", "Unplug it."]
    left, right = reversed(sides) if swapped else sides
    expect(page.locator("#pair .candidate-text")).to_have_text([left, right])
    # The model preferred the first field: whichever side shows it.
    model_side = "B" if swapped else "A"
    expect(page.locator("#model-label")).to_have_text(f"Model: {model_side}")
    expect(page.locator(".candidate.model")).to_have_attribute("data-side", model_side)
    expect(page.locator("#reason")).to_have_text("the model's choice changed with the order")
    other_side = "A" if swapped else "B"
    expect(page.locator("#orders")).to_have_text(
        f"The model, asked both ways round: {model_side} (90%), then {other_side} (60%)"
    )
    # "Unplug it." (the second field) is better: press the key of its side.
    page.keyboard.press("a" if swapped else "b")
    expect(page.locator(".candidate.selected .candidate-text")).to_have_text("Unplug it.")
    page.keyboard.press("Enter")
    on_item(page, ids[1])
    page.keyboard.press("t")
    page.keyboard.press("Enter")
    expect(page.locator("#empty")).to_be_visible()
    assert labels(engine, ids) == {
        ids[0]: ("reviewed", "b", "human"),
        ids[1]: ("reviewed", "tie", "human"),
    }
    assert errors == []
    page.close()


def test_no_tie_without_allow_tie_and_hostile_candidates_are_text(
    browser: Any, live_server: LiveServer, keys: Keys, engine: Engine
) -> None:
    task = {**PAIRWISE, "allow_tie": False}
    _project, ids = project_in_review(engine, task, [Waiting(pair(HOSTILE, HOSTILE), "a")])
    page = browser.new_page()
    sign_in(page, live_server, keys.reviewer)
    on_item(page, ids[0])
    expect(page.locator("#pair .candidate-text")).to_have_text([HOSTILE, HOSTILE])
    assert page.locator("#item img, #item script, #item b").count() == 0
    expect(page.locator("#labels li")).to_have_count(2)
    page.keyboard.press("t")  # not a choice here: the model's answer stays picked
    page.keyboard.press("Enter")
    expect(page.locator("#empty")).to_be_visible()
    assert labels(engine, ids)[ids[0]] == ("reviewed", "a", "human")
    page.close()
