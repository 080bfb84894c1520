"""One token position's distribution as probabilities: tables of provider quirks and results."""

from __future__ import annotations

import math

import pytest

from labelwise.domain import TokenLogprob
from labelwise.scoring.token_distribution import (
    after_lead,
    alternatives,
    probability,
    token_at,
    token_starts,
    unseen_bound,
)


def t(text: str, p: float, *alts: tuple[str, float]) -> TokenLogprob:
    return TokenLogprob(text, math.log(p), tuple((a, math.log(q)) for a, q in alts))


TOKENS = [TokenLogprob('{"', 0.0), TokenLogprob("", 0.0), TokenLogprob("label", 0.0)]


def test_token_starts() -> None:
    assert token_starts(TOKENS) == [0, 2, 2]
    assert token_starts([]) == []


@pytest.mark.parametrize(
    ("offset", "expected"),
    [(0, 0), (1, 0), (2, 2), (6, 2), (7, None), (-1, None)],  # the empty token covers nothing
)
def test_token_at(offset: int, expected: int | None) -> None:
    assert token_at(TOKENS, token_starts(TOKENS), offset) == expected


@pytest.mark.parametrize(
    ("logprob", "expected"),
    [(0.0, 1.0), (math.log(0.25), 0.25), (-math.inf, 0.0), (math.nan, 0.0), (1e-9, 1.0)],
)
def test_probability(logprob: float, expected: float) -> None:
    assert probability(logprob) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (t("a", 0.6, ("a", 0.6), ("b", 0.3)), {"a": 0.6, "b": 0.3}),
        (t("a", 0.6, ("b", 0.3)), {"b": 0.3, "a": 0.6}),  # sampled token missing from top
        (t("a", 0.6, ("a", 0.6), ("b", 0.1), ("b", 0.2)), {"a": 0.6, "b": 0.2}),  # duplicate
    ],
)
def test_alternatives(token: TokenLogprob, expected: dict[str, float]) -> None:
    assert alternatives(token) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (TokenLogprob("a", 0.0), 0.0),  # nothing listed: nothing to bound by
        (t("a", 0.5, ("a", 0.5), ("b", 0.3)), 0.2),  # the mass left over
        (t("a", 0.5, ("a", 0.5), ("b", 0.05)), 0.05),  # the least likely listed
        (t("a", 0.7, ("a", 0.7), ("b", 0.4)), 0.0),  # the list already holds everything
    ],
)
def test_unseen_bound(token: TokenLogprob, expected: float) -> None:
    assert unseen_bound(token) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("alternative", "lead", "exact", "in_string", "expected"),
    [
        ("pos", "", 0, True, "pos"),
        (" true", "", 0, False, "true"),  # between JSON tokens whitespace may go
        (" pos", "", 0, True, " pos"),  # inside a string it may not
        ('":"pos', '":"', 1, True, "pos"),
        ('": "pos', '":"', 1, True, "pos"),
        ('":" pos', '":"', 1, True, " pos"),
        ('","', '":"', 1, True, None),  # no colon: another structure
        ('":pos', '":"', 1, True, None),  # no opening quote
        ("x:", 'l":"', 2, True, None),  # the key's own text differs
        ('": true', '": ', 1, False, "true"),
        ('":true', '": ', 1, False, "true"),  # the same structure, spelled without the space
    ],
)
def test_after_lead(
    alternative: str, lead: str, exact: int, in_string: bool, expected: str | None
) -> None:
    assert after_lead(alternative, lead, exact, in_string=in_string) == expected
