"""Reviewers decide alike when the task's type says their answers are the same: tables of cases."""

from __future__ import annotations

import pytest

from labelwise.review.verdict import Decision, agreeing_groups, verdict
from labelwise.spec import ReviewSpec, TaskSpec

SINGLE = TaskSpec(labels=["cat", "dog"])
MULTI = TaskSpec(labels=["x", "y", "z"], multi_label=True)


@pytest.mark.parametrize(
    ("task", "first", "second", "same"),
    [
        (SINGLE, Decision("a", "cat"), Decision("b", "cat"), True),
        (SINGLE, Decision("a", "cat"), Decision("b", "dog"), False),
        (MULTI, Decision("a", ["x", "y"]), Decision("b", ["y", "x"]), True),
        (MULTI, Decision("a", ["x", "y"]), Decision("b", ["x", "y", "y"]), True),
        (MULTI, Decision("a", ["x"]), Decision("b", "x"), True),
        (MULTI, Decision("a", ["x"]), Decision("b", ["x", "z"]), False),
        (MULTI, Decision("a", []), Decision("b", []), True),
        (SINGLE, Decision("a", None, True), Decision("b", None, True), True),
        (SINGLE, Decision("a", None, True), Decision("b", "cat"), False),
        (SINGLE, Decision("a", "cat"), Decision("b", None, True), False),
    ],
)
def test_decisions_are_the_same_as_the_task_compares_answers(
    task: TaskSpec, first: Decision, second: Decision, same: bool
) -> None:
    assert first.same_as(second, task) is same
    assert second.same_as(first, task) is same


def test_groups_keep_the_order_decisions_came_in() -> None:
    decisions = [
        Decision("a", ["y", "x"]),
        Decision("b", ["z"]),
        Decision("c", ["x", "y"]),
        Decision("d", None, True),
    ]
    groups = agreeing_groups(decisions, MULTI)
    assert [[d.reviewer for d in group] for group in groups] == [["a", "c"], ["b"], ["d"]]


@pytest.mark.parametrize(
    ("decisions", "value", "decided_by"),
    [
        # Two of three agree on a label set given in another order: the first one's value wins.
        (
            [Decision("a", ["y", "x"]), Decision("b", ["z"]), Decision("c", ["x", "y"])],
            ["y", "x"],
            ("a", "c"),
        ),
        # A tie between two answers: the one decided first.
        ([Decision("a", ["z"]), Decision("b", ["x"])], ["z"], ("a",)),
    ],
)
def test_the_largest_agreeing_group_decides(
    decisions: list[Decision], value: object, decided_by: tuple[str, ...]
) -> None:
    needed = len(decided_by)
    policy = ReviewSpec(reviewers_per_item=3, agreement=needed)
    result = verdict(decisions, policy, MULTI)
    assert (result.final, result.value, result.decided_by) == (True, value, decided_by)
