"""Gold measures: whether a value is right is the task type's answer, and every figure built on it
agrees with that answer. Tables of cases."""

from __future__ import annotations

from typing import Any

import pytest

from labelwise.domain import GoldRecord
from labelwise.quality.metrics import (
    Proportion,
    confusion_matrix,
    is_right,
    label_counts,
    labels_in,
    per_label_scores,
    proportion,
    scored,
    summarize_gold,
)
from labelwise.spec import TaskSpec

SINGLE = TaskSpec(labels=["pos", "neg"])
MULTI = TaskSpec(labels=["x", "y", "z"], multi_label=True)


@pytest.mark.parametrize(
    ("task", "value", "truth", "right"),
    [
        (SINGLE, "pos", "pos", True),
        (SINGLE, "pos", "neg", False),
        (MULTI, ["x", "y"], ["x", "y"], True),
        (MULTI, ["y", "x"], ["x", "y"], True),
        (MULTI, ["x", "x", "y"], ["y", "x"], True),
        (MULTI, ["x"], "x", True),
        (MULTI, "x", ["x"], True),
        (MULTI, ["x"], ["x", "y"], False),
        (MULTI, [], [], True),
        (MULTI, [], ["z"], False),
    ],
)
def test_is_right_compares_as_the_task_type_does(
    task: TaskSpec, value: Any, truth: Any, right: bool
) -> None:
    assert is_right(GoldRecord(value, 0.5, truth), task) is right


def test_scored_pairs_confidence_with_rightness_and_skips_the_unscored() -> None:
    records = [
        GoldRecord(["y", "x"], 0.9, ["x", "y"]),
        GoldRecord(["x"], 0.4, ["y"]),
        GoldRecord(["z"], None, ["z"]),
    ]
    assert scored(records, MULTI) == [(0.9, True), (0.4, False)]


@pytest.mark.parametrize(
    ("successes", "n", "value", "has_interval"),
    [(0, 0, None, False), (3, 4, 0.75, True), (0, 5, 0.0, True), (5, 5, 1.0, True)],
)
def test_proportion(successes: int, n: int, value: float | None, has_interval: bool) -> None:
    found = proportion(successes, n)
    assert isinstance(found, Proportion)
    assert (found.n, found.successes, found.value) == (n, successes, value)
    assert (found.interval is not None) is has_interval
    if found.interval is not None and value is not None:
        low, high = found.interval
        assert -1e-9 <= low <= value + 1e-9 and value - 1e-9 <= high <= 1.0 + 1e-9


def test_summary_counts_a_label_set_in_another_order_as_right() -> None:
    records = [
        GoldRecord(["y", "x"], 0.9, ["x", "y"]),
        GoldRecord(["z"], 0.8, ["z"]),
        GoldRecord(["x"], 0.3, ["y"]),
        GoldRecord(["x", "z"], None, ["z", "x"]),
    ]
    summary = summarize_gold(records, MULTI)
    assert (summary.items, summary.scored) == (4, 3)
    assert (summary.accuracy.successes, summary.accuracy.n) == (3, 4)
    assert summary.auroc == 1.0


@pytest.mark.parametrize(
    ("value", "labels"),
    [
        (None, frozenset()),
        ("x", frozenset({"x"})),
        (["y", "x", "y"], frozenset({"x", "y"})),
        ([], frozenset()),
    ],
)
def test_labels_in(value: Any, labels: frozenset[str]) -> None:
    assert labels_in(value) == labels


def test_confusion_matrix_rows_are_the_truth() -> None:
    records = [
        GoldRecord("pos", 0.9, "pos"),
        GoldRecord("neg", 0.9, "pos"),
        GoldRecord("neg", 0.9, "neg"),
        GoldRecord("other", 0.9, "neg"),
    ]
    assert confusion_matrix(records, ["pos", "neg"]) == [[1, 1], [0, 1]]


def test_per_label_scores_count_each_label_of_a_set() -> None:
    records = [
        GoldRecord(["y", "x"], 0.9, ["x", "y"]),
        GoldRecord(["x"], 0.9, ["y"]),
    ]
    by_label = {s.label: s for s in per_label_scores(records, ["x", "y", "z"])}
    assert (by_label["x"].precision, by_label["x"].recall, by_label["x"].support) == (0.5, 1.0, 1)
    assert (by_label["y"].precision, by_label["y"].recall, by_label["y"].support) == (1.0, 0.5, 2)
    assert (by_label["z"].precision, by_label["z"].recall, by_label["z"].f1) == (None, None, None)


def test_label_counts_count_each_label_once_per_value() -> None:
    assert label_counts([(["x", "y"], 2), ("x", 1), (None, 4)]) == {"x": 3, "y": 2}
