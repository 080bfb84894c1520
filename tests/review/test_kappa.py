"""Kappa statistics against worked examples, and review verdicts: tables of cases."""

from __future__ import annotations

import pytest

from labelwise.review.kappa import cohen_kappa, fleiss_kappa, kappa, per_label_kappa
from labelwise.review.verdict import Decision, verdict
from labelwise.spec import ReviewSpec, TaskSpec

# Cohen's worked example: 50 items, two readers, yes/no.
COHEN = [("y", "y")] * 20 + [("y", "n")] * 5 + [("n", "y")] * 10 + [("n", "n")] * 15

# Fleiss' worked example: 10 items, 14 ratings each, 5 categories (counts per category).
FLEISS_COUNTS = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]
FLEISS = [[c for c, n in enumerate(row) for _ in range(n)] for row in FLEISS_COUNTS]


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        (COHEN, 0.4),
        ([("a", "a"), ("b", "b")], 1.0),
        ([("a", "b"), ("b", "a")], -1.0),
        ([("a", "a"), ("a", "a")], None),  # one category only: chance agreement is total
        ([], None),
    ],
)
def test_cohen_kappa(pairs: list[tuple[str, str]], expected: float | None) -> None:
    result = cohen_kappa(pairs)
    assert result == (pytest.approx(expected) if expected is not None else None)


def test_fleiss_kappa_worked_example() -> None:
    assert fleiss_kappa(FLEISS) == pytest.approx(0.2099, abs=1e-4)


@pytest.mark.parametrize(
    ("ratings", "expected"),
    [
        ([["a", "a", "a"], ["b", "b", "b"]], 1.0),
        ([["a", "a", "a"], ["a", "a", "a"]], None),
        ([["a"]], None),  # one rating says nothing about agreement
    ],
)
def test_fleiss_kappa_edges(ratings: list[list[str]], expected: float | None) -> None:
    result = fleiss_kappa(ratings)
    assert result == (pytest.approx(expected) if expected is not None else None)


def test_kappa_picks_cohen_for_two_ratings() -> None:
    assert kappa([list(pair) for pair in COHEN]) == pytest.approx(0.4)
    assert kappa(FLEISS) == pytest.approx(0.2099, abs=1e-4)


def test_per_label_kappa_is_one_label_against_the_rest() -> None:
    ratings = [
        [frozenset({"cat"}), frozenset({"cat"})],
        [frozenset({"dog"}), frozenset({"dog"})],
        [frozenset({"cat"}), frozenset({"dog"})],
        [frozenset({"bird"}), frozenset({"bird"})],
    ]
    result = per_label_kappa(ratings, ["cat", "dog", "bird", "fish"])
    assert result["bird"] == pytest.approx(1.0)
    assert result["cat"] == pytest.approx(cohen_kappa([(1, 1), (0, 0), (1, 0), (0, 0)]))
    assert result["fish"] is None


TWO = ReviewSpec(reviewers_per_item=2)
THREE = ReviewSpec(reviewers_per_item=3)
ONE = ReviewSpec()


def d(reviewer: str, value: object = None, unlabelable: bool = False) -> Decision:
    return Decision(reviewer, value, unlabelable)


ANIMALS = TaskSpec(labels=["cat", "dog", "bird"])
TAGS = TaskSpec(labels=["x", "y"], multi_label=True)


def task_of(decisions: list[Decision]) -> TaskSpec:
    """Label sets are the answers of a multi-label task; single labels of a single-label one."""
    return TAGS if any(isinstance(x.value, list) for x in decisions) else ANIMALS


@pytest.mark.parametrize(
    ("decisions", "policy", "final", "value", "to_adjudicator"),
    [
        ([d("a", "cat")], ONE, True, "cat", False),
        ([d("a", "cat")], TWO, False, None, False),
        ([d("a", "cat"), d("b", "cat")], TWO, True, "cat", False),
        ([d("a", "cat"), d("b", "dog")], TWO, False, None, True),
        ([d("a", "cat"), d("b", "dog")], THREE, False, None, False),
        ([d("a", "cat"), d("b", "dog"), d("c", "dog")], THREE, True, "dog", False),
        ([d("a", "cat"), d("b", "dog"), d("c", "bird")], THREE, False, None, True),
        # Label sets compare as sets.
        ([d("a", ["x", "y"]), d("b", ["y", "x"])], TWO, True, ["x", "y"], False),
        ([d("a", unlabelable=True), d("b", unlabelable=True)], TWO, True, None, False),
        (
            [d("a", "cat"), d("b", "cat")],
            ReviewSpec(reviewers_per_item=3, agreement=3),
            False,
            None,
            False,
        ),
    ],
)
def test_verdict(
    decisions: list[Decision],
    policy: ReviewSpec,
    final: bool,
    value: object,
    to_adjudicator: bool,
) -> None:
    result = verdict(decisions, policy, task_of(decisions))
    assert (result.final, result.value, result.to_adjudicator) == (final, value, to_adjudicator)


def test_an_adjudicator_decides_alone() -> None:
    result = verdict([d("a", "cat"), d("b", "dog")], TWO, ANIMALS, adjudicator=d("judge", "dog"))
    assert result.final and result.value == "dog" and result.decided_by == ("judge",)


def test_agreement_cannot_exceed_the_reviewers() -> None:
    with pytest.raises(ValueError):
        ReviewSpec(reviewers_per_item=2, agreement=3)
    assert ReviewSpec(reviewers_per_item=2).needed == 2
    assert ReviewSpec(reviewers_per_item=3).needed == 2
    assert ReviewSpec(reviewers_per_item=5).needed == 3
