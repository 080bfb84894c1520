"""Spans against gold per label: exact and overlap precision, recall and F1."""

from __future__ import annotations

from typing import Any

import pytest

from labelwise.scoring.span_match import (
    SpanScores,
    exact_span_scores,
    overlap_span_scores,
    total_scores,
)


def s(start: int, end: int, label: str) -> dict[str, Any]:
    return {"start": start, "end": end, "label": label, "text": ""}


# Item 1: PER exact, LOC shifted by one; item 2: a missed PER, an extra LOC; item 3: one long
# PER prediction covering two gold PER spans.
PAIRS = [
    ([s(0, 3, "PER"), s(10, 15, "LOC")], [s(0, 3, "PER"), s(9, 15, "LOC")]),
    ([s(20, 24, "LOC")], [s(0, 4, "PER")]),
    ([s(0, 20, "PER")], [s(0, 5, "PER"), s(10, 15, "PER")]),
]


@pytest.mark.parametrize(
    ("overlap", "label", "counts", "precision", "recall", "f1"),
    [
        (False, "PER", (2, 4, 1, 1), 0.5, 0.25, 2 * 0.5 * 0.25 / 0.75),
        (False, "LOC", (2, 1, 0, 0), 0.0, 0.0, 0.0),
        (True, "PER", (2, 4, 2, 3), 1.0, 0.75, 2 * 0.75 / 1.75),
        (True, "LOC", (2, 1, 1, 1), 0.5, 1.0, 2 * 0.5 / 1.5),
        (False, "ORG", (0, 0, 0, 0), None, None, None),
    ],
)
def test_scores_per_label(
    overlap: bool,
    label: str,
    counts: tuple[int, int, int, int],
    precision: float | None,
    recall: float | None,
    f1: float | None,
) -> None:
    score = (overlap_span_scores if overlap else exact_span_scores)(PAIRS, ["PER", "LOC", "ORG"])
    got = score[label]
    assert (got.predicted, got.gold, got.matched_predicted, got.matched_gold) == counts
    assert got.precision == (pytest.approx(precision) if precision is not None else None)
    assert got.recall == (pytest.approx(recall) if recall is not None else None)
    assert got.f1 == (pytest.approx(f1) if f1 is not None else None)


@pytest.mark.parametrize(
    ("scores", "precision", "recall", "f1"),
    [
        (SpanScores("A", 0, 3, 0, 0), None, 0.0, 0.0),
        (SpanScores("A", 2, 0, 0, 0), 0.0, None, 0.0),
        (SpanScores("A", 4, 4, 4, 4), 1.0, 1.0, 1.0),
    ],
)
def test_undefined_sides(
    scores: SpanScores, precision: float | None, recall: float | None, f1: float
) -> None:
    assert (scores.precision, scores.recall, scores.f1) == (precision, recall, f1)


def test_labels_outside_the_task_and_junk_values() -> None:
    pairs: list[tuple[Any, Any]] = [
        (None, [s(0, 2, "MISC")]),
        ("not spans", [s(0, 2, "PER")]),
        ([s(0, 2, "PER"), {"label": "PER"}, 7], [s(0, 2, "PER")]),
    ]
    scores = exact_span_scores(pairs, ["PER"])
    assert list(scores) == ["PER", "MISC"]
    assert (scores["PER"].predicted, scores["PER"].gold, scores["PER"].matched_gold) == (1, 2, 1)
    assert scores["MISC"].recall == 0.0


def test_total_adds_every_label() -> None:
    total = total_scores(exact_span_scores(PAIRS, ["PER", "LOC"]))
    assert (total.predicted, total.gold, total.matched_predicted) == (4, 5, 1)
    assert total.precision == pytest.approx(0.25) and total.recall == pytest.approx(0.2)
