"""Combining answers, and choosing the score to route by: tables of cases."""

from __future__ import annotations

import pytest

from labelwise.scoring.consensus import (
    Vote,
    best_separating,
    choose_method,
    combine_multi,
    combine_single,
    default_method,
    method_to_route_by,
)

LABELS = ["cat", "dog", "bird"]


@pytest.mark.parametrize(
    ("votes", "expected_label", "expected_score"),
    [
        # One vote with a logprob: the combination is that logprob.
        ([Vote("cat", 0.8)], "cat", 0.8),
        # Votes without logprobs count as certain: the combination is the agreement share.
        ([Vote("cat"), Vote("cat"), Vote("dog")], "cat", 2 / 3),
        # A sure voter outweighs an unsure one: (0.9 + 0.4/2) / 2 for dog.
        ([Vote("cat", 0.6), Vote("dog", 0.9)], "dog", (0.9 + 0.2) / 2),
        # A tie goes to the first vote, the project's own model.
        ([Vote("dog"), Vote("cat")], "dog", 0.5),
        ([Vote("cat", 0.7), Vote("cat", 0.9), Vote("cat", 0.8)], "cat", 0.8),
    ],
)
def test_combine_single(votes: list[Vote], expected_label: str, expected_score: float) -> None:
    label, score = combine_single(votes, LABELS)
    assert label == expected_label
    assert score == pytest.approx(expected_score)


@pytest.mark.parametrize(
    ("votes", "expected_labels", "expected_per_label"),
    [
        (
            [Vote(["cat"], per_label={"cat": 0.9, "dog": 0.8, "bird": 1.0})],
            ["cat"],
            {"cat": 0.9, "dog": 0.8, "bird": 1.0},
        ),
        # Without logprobs: the share agreeing per label, asserted by a majority.
        (
            [Vote(["cat", "dog"]), Vote(["cat"]), Vote(["dog", "bird"])],
            ["cat", "dog"],
            {"cat": 2 / 3, "dog": 2 / 3, "bird": 2 / 3},
        ),
        # dog: P(true) = (0.6 + (1 - 0.9)) / 2 = 0.35, so not asserted, at confidence 0.65.
        (
            [
                Vote(["dog"], per_label={"cat": 1.0, "dog": 0.6, "bird": 1.0}),
                Vote([], per_label={"cat": 1.0, "dog": 0.9, "bird": 1.0}),
            ],
            [],
            {"cat": 1.0, "dog": 0.65, "bird": 1.0},
        ),
    ],
)
def test_combine_multi(
    votes: list[Vote], expected_labels: list[str], expected_per_label: dict[str, float]
) -> None:
    labels, per_label = combine_multi(votes, LABELS)
    assert labels == expected_labels
    assert per_label == pytest.approx(expected_per_label)


def test_combining_nothing_is_an_error() -> None:
    with pytest.raises(ValueError):
        combine_single([], LABELS)
    with pytest.raises(ValueError):
        combine_multi([], LABELS)


SEPARATES = [(0.9, True)] * 20 + [(0.4, False)] * 20
BLURS = [(0.9, True)] * 10 + [(0.4, True)] * 10 + [(0.9, False)] * 10 + [(0.4, False)] * 10


@pytest.mark.parametrize(
    ("gold", "expected"),
    [
        ({"logprob": SEPARATES, "combined": BLURS}, "logprob"),
        ({"logprob": BLURS, "agreement": SEPARATES}, "agreement"),
        # Equal separation: the preference order decides.
        ({"logprob": SEPARATES, "combined": SEPARATES}, "combined"),
        # Too little gold to judge.
        ({"logprob": SEPARATES[:10] + SEPARATES[-10:]}, None),
        # Nothing wrong to separate from.
        ({"logprob": [(0.9, True)] * 40}, None),
        ({}, None),
    ],
)
def test_best_separating(gold: dict[str, list[tuple[float, bool]]], expected: str | None) -> None:
    assert best_separating(gold) == expected


@pytest.mark.parametrize(
    ("requested", "available", "learned", "expected"),
    [
        ("auto", ["logprob", "agreement", "combined"], None, "combined"),
        ("auto", ["logprob", "agreement", "combined"], "logprob", "logprob"),
        ("auto", ["agreement", "combined"], "logprob", "combined"),  # learned one missing
        ("agreement", ["logprob", "agreement", "combined"], "logprob", "agreement"),
        ("logprob", ["agreement", "combined"], None, "combined"),  # asked-for one missing
        ("auto", ["agreement"], None, "agreement"),
    ],
)
def test_choose_method(
    requested: str, available: list[str], learned: str | None, expected: str
) -> None:
    assert choose_method(requested, available, learned) == expected


def test_default_method_prefers_the_combination() -> None:
    assert default_method(["agreement", "logprob"]) == "logprob"
    assert default_method(["agreement"]) == "agreement"


SEPARATES = [(0.9, True)] * 20 + [(0.2, False)] * 20
BLURS = [(0.6, True)] * 20 + [(0.6, False)] * 20


@pytest.mark.parametrize(
    ("requested", "gold", "method"),
    [
        ("auto", {}, None),  # no gold scored by any method yet
        ("logprob", {}, None),
        # Asked for and present: gold is not consulted.
        ("agreement", {"agreement": BLURS, "logprob": SEPARATES}, "agreement"),
        # Auto: the method that separates right from wrong.
        ("auto", {"combined": BLURS, "logprob": SEPARATES}, "logprob"),
        # Too little gold to learn from: the default order.
        ("auto", {"agreement": SEPARATES[:10], "combined": BLURS[:10]}, "combined"),
        # Asked for but missing: the default order, not gold's choice.
        ("logprob", {"agreement": SEPARATES, "combined": BLURS}, "combined"),
        # A method whose gold has no confidence at all is still one the items have.
        ("auto", {"agreement": []}, "agreement"),
    ],
)
def test_method_to_route_by(
    requested: str, gold: dict[str, list[tuple[float, bool]]], method: str | None
) -> None:
    assert method_to_route_by(requested, gold) == method
