"""Per-field confidence of an object answer, checked against hand-computed ratios.

Each case spells out the generated tokens with probabilities; the expected score is worked out
by hand: for a choice, the chosen value's share of the allowed values' mass at each position
where the choices were still open; for a free field, the product of the value's tokens.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from labelwise.domain import TokenLogprob
from labelwise.scoring.field_confidence import field_confidences, same_json, value_end
from labelwise.scoring.json_regions import array_elements


def _log(p: float) -> float:
    return math.log(p) if p > 0 else -math.inf


def t(text: str, p: float, *alts: tuple[str, float]) -> TokenLogprob:
    return TokenLogprob(text, _log(p), tuple((a, _log(q)) for a, q in alts))


def s(text: str) -> TokenLogprob:
    return TokenLogprob(text, 0.0)


STATUS = ["paid", "unpaid", None]
BOOL = [True, False, None]
OPEN = [s('{"'), s("fields"), s('":'), s(' {"')]


def read(
    tokens: list[TokenLogprob], values: dict[str, Any], choices: dict[str, Any]
) -> dict[str, float | None]:
    return field_confidences(tokens, values=values, choices=choices)


@pytest.mark.parametrize(
    ("tokens", "values", "choices", "expected"),
    [
        pytest.param(
            [
                *OPEN,
                s("status"),
                s('":'),
                # ` 5` is not a value the field allows: it leaves the distribution.
                t(' "', 0.7, (' "', 0.7), (" null", 0.2), (" 5", 0.1)),
                # `"Paid` spells no allowed value.
                t("paid", 0.6, ("paid", 0.6), ("unpaid", 0.3), ("Paid", 0.1)),
                s('"}}'),
            ],
            {"status": "paid"},
            {"status": STATUS},
            {"status": (0.7 / 0.9) * (0.6 / 0.9)},
            id="enum-string-or-null-then-which-string",
        ),
        pytest.param(
            [
                *OPEN,
                s("status"),
                # The value starts inside the token that closes the key: `":"pa`.
                t('":"pa', 0.5, ('":"pa', 0.5), ('": "un', 0.25), ('":null', 0.15), ('":"Pa', 0.1)),
                s('id"}}'),
            ],
            {"status": "paid"},
            {"status": STATUS},
            {"status": 0.5 / 0.9},
            id="enum-value-inside-the-key-token",
        ),
        pytest.param(
            [
                *OPEN,
                s("status"),
                s('":'),
                t(" null", 0.3, (" null", 0.3), (' "', 0.6), (" None", 0.1)),
                s("}}"),
            ],
            {"status": None},
            {"status": STATUS},
            {"status": 0.3 / 0.9},
            id="enum-null-is-a-choice",
        ),
        pytest.param(
            [
                *OPEN,
                s("urgent"),
                s('":'),
                t(" true", 0.6, (" true", 0.6), (" false", 0.2), (" True", 0.1), (" null", 0.05)),
                s("}}"),
            ],
            {"urgent": True},
            {"urgent": BOOL},
            {"urgent": 0.6 / 0.85},
            id="boolean",
        ),
        pytest.param(
            [
                *OPEN,
                s("urgent"),
                s('":'),
                t(" true", 0.9, (" true", 0.9), (" True", 0.05)),
                s("}}"),
            ],
            {"urgent": True},
            {"urgent": BOOL},
            # false and null unseen: each at most min(0.05, 1 - 0.95) = 0.05.
            {"urgent": 0.9 / (0.9 + 2 * 0.05)},
            id="boolean-unseen-alternatives-bounded",
        ),
        pytest.param(
            [
                *OPEN,
                s("level"),
                s('":'),
                t(" 1", 0.5, (" 1", 0.5), (" 10", 0.3), (" null", 0.1), (" 7", 0.1)),
                # `1` is only settled against `10` when the next token is not `0`.
                t("}}", 0.8, ("}}", 0.8), ("0", 0.2)),
            ],
            {"level": 1},
            {"level": [1, 10, None]},
            {"level": (0.5 / 0.9) * (0.8 / 1.0)},
            id="number-enum-prefix-settled-by-next-token",
        ),
        pytest.param(
            [
                *OPEN,
                s("total"),
                s('":'),
                s(" "),
                t("12", 0.9, ("12", 0.9), ("13", 0.1)),
                t(".5", 0.8),
                s("}}"),
            ],
            {"total": 12.5},
            {"total": None},
            {"total": 0.9 * 0.8},
            id="free-number-product-of-its-tokens",
        ),
        pytest.param(
            [
                *OPEN,
                s("vendor"),
                s('":'),
                t(' "', 0.95),
                t("AC", 0.5),
                t("ME", 0.9),
                t(" Corp", 0.8),
                t('"}}', 0.99),
            ],
            {"vendor": "ACME Corp"},
            {"vendor": None},
            # Every token that spells the value, quotes included.
            {"vendor": 0.95 * 0.5 * 0.9 * 0.8 * 0.99},
            id="free-text-product-of-its-tokens",
        ),
        pytest.param(
            [*OPEN, s("note"), s('":'), t(" null", 0.6), s("}}")],
            {"note": None},
            {"note": None},
            {"note": 0.6},
            id="free-null-probability-of-the-null-token",
        ),
        pytest.param(
            [*OPEN, s("urgent"), s('":'), t(" true", 0.6), s("}}")],
            {"urgent": False},
            {"urgent": BOOL},
            {"urgent": None},
            id="tokens-disagree-with-the-parsed-answer",
        ),
        pytest.param(
            [*OPEN, s("urgent"), s('":'), t(" true", 0.6), s("}}")],
            {"urgent": True, "missing": None},
            {"urgent": BOOL, "missing": None},
            {"urgent": 0.6, "missing": None},
            id="field-not-in-the-tokens",
        ),
    ],
)
def test_field_confidence_hand_computed(
    tokens: list[TokenLogprob],
    values: dict[str, Any],
    choices: dict[str, Any],
    expected: dict[str, float | None],
) -> None:
    got = read(tokens, values, choices)
    assert got.keys() == expected.keys()
    for name, score in expected.items():
        if score is None:
            assert got[name] is None
        else:
            assert got[name] == pytest.approx(score)


def test_a_key_quoted_inside_another_string_is_not_the_field() -> None:
    tokens = [
        s('{"rationale": "'),
        s('\\"urgent\\": true'),
        s('", "fields": {"urgent":'),
        t(" false", 0.7, (" false", 0.7), (" true", 0.3)),
        s("}}"),
    ]
    assert read(tokens, {"urgent": False}, {"urgent": BOOL}) == {"urgent": pytest.approx(0.7)}


def test_each_packed_item_is_read_in_its_own_region() -> None:
    tokens = [
        s('{"answers": [{"id": "1", "fields": {"ok":'),
        t(" true", 0.8),
        s('}}, {"id": "2", "fields": {"ok":'),
        t(" false", 0.3),
        s("}}]}"),
    ]
    content = "".join(token.token for token in tokens)
    first, second = array_elements(content, "answers")
    choices = {"ok": BOOL}
    got_first = field_confidences(tokens, values={"ok": True}, choices=choices, region=first)
    got_second = field_confidences(tokens, values={"ok": False}, choices=choices, region=second)
    assert got_first == {"ok": pytest.approx(0.8)}
    assert got_second == {"ok": pytest.approx(0.3)}


@pytest.mark.parametrize(
    ("content", "start", "end"),
    [
        ('"a\\"b", ', 0, 6),
        ("12.5}", 0, 4),
        ("true,", 0, 4),
        ('["a", "]"] }', 0, 10),
        ('"open', 0, -1),
        ("[1, 2", 0, -1),
        ("12", 0, -1),  # a number at the end may still be growing
    ],
)
def test_value_end(content: str, start: int, end: int) -> None:
    assert value_end(content, start) == end


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [(1, 1.0, True), (True, 1, False), (False, False, True), ([1, "x"], [1.0, "x"], True)],
)
def test_same_json(a: Any, b: Any, same: bool) -> None:
    assert same_json(a, b) is same
