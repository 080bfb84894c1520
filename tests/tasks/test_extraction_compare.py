"""Extraction values compared field by field: matching gold, the quality report's measures, and
the majority over several answers."""

from __future__ import annotations

from typing import Any

import pytest

from labelwise.spec import TaskSpec
from labelwise.tasks.extraction_compare import (
    extraction_exact_match,
    extraction_field_accuracy,
    field_majority,
    field_matches,
    values_match,
)

TEXT = {"type": "string"}
NUMBER = {"type": "number"}
INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}
ENUM = {"enum": ["paid", "unpaid"]}
TAGS = {"type": "array", "items": {"type": "string"}}
AMOUNTS = {"type": "array", "items": {"type": "number"}}

INVOICE = TaskSpec(
    type="extraction",
    schema={"type": "object", "properties": {"vendor": TEXT, "total": NUMBER, "paid": BOOLEAN}},
)


@pytest.mark.parametrize(
    ("prop", "value", "truth", "same"),
    [
        (TEXT, "ACME  Corp", "acme corp", True),
        (TEXT, " Acme\nCorp ", "ACME CORP", True),
        (TEXT, "Acme Corp.", "Acme Corp", False),
        (TEXT, "Straße", "STRASSE", True),  # casefold, not lower
        (TEXT, None, None, True),
        (TEXT, None, "", False),  # null ("does not say") is not the empty text
        (TEXT, "12", "12.0", False),  # text is text, even when it reads as a number
        (NUMBER, "1,000.50", 1000.5, True),
        (NUMBER, 12, "12", True),
        (NUMBER, 12, 12.0, True),
        (NUMBER, "1,5", 15, False),  # a decimal comma is not a thousands separator
        (NUMBER, "12,345,678.9", 12345678.9, True),
        (NUMBER, 12, 13, False),
        (NUMBER, 0, None, False),
        (INTEGER, "42", 42, True),
        (INTEGER, 1, True, False),  # true is not 1
        (BOOLEAN, True, True, True),
        (BOOLEAN, "TRUE", True, True),
        (BOOLEAN, False, None, False),
        (ENUM, "Paid", "paid", True),
        (ENUM, "paid", "unpaid", False),
        (TAGS, ["b", "a"], ["a", "b"], True),
        (TAGS, ["A", "b"], ["a", " B"], True),
        (TAGS, ["a", "a"], ["a"], False),  # a multiset: repeats count
        (TAGS, [], None, False),
        (AMOUNTS, ["1,000", 2], [2.0, 1000], True),
    ],
)
def test_field_matches(prop: dict[str, Any], value: Any, truth: Any, same: bool) -> None:
    assert field_matches(prop, value, truth) is same
    assert field_matches(prop, truth, value) is same


@pytest.mark.parametrize(
    ("value", "truth", "same"),
    [
        (
            {"vendor": "Acme", "total": 10, "paid": True},
            {"vendor": "ACME", "total": "10.00", "paid": True},
            True,
        ),
        (
            {"vendor": "Acme", "total": 10, "paid": True},
            {"vendor": "Acme", "total": 11, "paid": True},
            False,
        ),
        (
            {"vendor": "Acme", "total": None, "paid": None},
            {"vendor": "Acme"},
            True,
        ),  # left out: null
        ({"vendor": "Acme"}, {"vendor": "Acme", "paid": False}, False),
        ("Acme", {"vendor": "Acme"}, False),
    ],
)
def test_values_match_every_field(value: Any, truth: Any, same: bool) -> None:
    assert values_match(INVOICE, value, truth) is same


PAIRS = [
    ({"vendor": "Acme", "total": 10, "paid": True}, {"vendor": "acme", "total": 10, "paid": True}),
    ({"vendor": "Acme", "total": 12, "paid": True}, {"vendor": "Acme", "total": 10, "paid": True}),
    ({"vendor": "Bolt", "total": 5, "paid": None}, {"vendor": "Acme", "total": 5, "paid": False}),
    ({"vendor": "Core", "total": 7, "paid": False}, {"vendor": "Core", "total": 7, "paid": False}),
]


@pytest.mark.parametrize(
    ("pairs", "accuracy", "exact"),
    [
        (PAIRS, {"vendor": 3 / 4, "total": 3 / 4, "paid": 3 / 4}, 2 / 4),
        (PAIRS[:1], {"vendor": 1.0, "total": 1.0, "paid": 1.0}, 1.0),
        (PAIRS[2:3], {"vendor": 0.0, "total": 1.0, "paid": 0.0}, 0.0),
        ([({"vendor": "Acme"}, "not an object")], {"vendor": 0.0, "total": 1.0, "paid": 1.0}, 0.0),
        ([], {}, None),
    ],
)
def test_quality_measures(
    pairs: list[tuple[Any, Any]], accuracy: dict[str, float], exact: float | None
) -> None:
    assert extraction_field_accuracy(INVOICE, pairs) == pytest.approx(accuracy)
    assert extraction_exact_match(INVOICE, pairs) == exact


@pytest.mark.parametrize(
    ("values", "weights", "chosen", "shares"),
    [
        pytest.param(
            [
                {"vendor": "Acme", "total": 10, "paid": True},
                {"vendor": "ACME ", "total": "10", "paid": False},
                {"vendor": "Bolt", "total": 10.0, "paid": False},
            ],
            [{}, {}, {}],
            {"vendor": "Acme", "total": 10, "paid": False},
            {"vendor": 2 / 3, "total": 1.0, "paid": 2 / 3},
            id="majority-in-normal-form-kept-as-first-written",
        ),
        pytest.param(
            [{"vendor": "A", "total": 1, "paid": True}, {"vendor": "B", "total": 2, "paid": None}],
            [{}, {}],
            {"vendor": "A", "total": 1, "paid": True},
            {"vendor": 0.5, "total": 0.5, "paid": 0.5},
            id="ties-go-to-the-first-answer",
        ),
        pytest.param(
            [
                {"vendor": "A", "total": 1, "paid": True},
                {"vendor": "B", "total": 2, "paid": True},
                {"vendor": "B", "total": 2, "paid": True},
            ],
            [{"vendor": 0.9, "total": 0.9}, {"vendor": 0.3, "total": 0.6}, {"vendor": 0.4}],
            {"vendor": "A", "total": 2, "paid": True},
            {"vendor": 0.9 / 3, "total": 1.6 / 3, "paid": 1.0},
            id="weighted-per-field",
        ),
    ],
)
def test_field_majority(
    values: list[dict[str, Any]],
    weights: list[dict[str, float]],
    chosen: dict[str, Any],
    shares: dict[str, float],
) -> None:
    got, got_shares = field_majority(INVOICE, values, weights)
    assert got == chosen
    assert got_shares == pytest.approx(shares)


def test_majority_needs_an_answer() -> None:
    with pytest.raises(ValueError):
        field_majority(INVOICE, [], [])
