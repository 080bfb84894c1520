"""Each task type's own measures in the quality report, from hand-made gold records: tables of
cases, counted by hand."""

from __future__ import annotations

from typing import Any

import pytest

from labelwise.domain import GoldRecord
from labelwise.quality.metrics import label_counts, labels_in
from labelwise.quality.task_measures import MEASURES, task_measures
from labelwise.scoring.calibration import wilson_interval
from labelwise.spec import TaskSpec
from labelwise.tasks import TASK_TYPES

SPANS = TaskSpec(type="spans", labels=["PER", "ORG"])
RATING = TaskSpec(type="rating", scale={"min": 1, "max": 5})
PAIRWISE = TaskSpec(type="pairwise", allow_tie=True)
CLASSIFICATION = TaskSpec(labels=["pos", "neg"])


def span(start: int, end: int, label: str) -> dict[str, Any]:
    return {"start": start, "end": end, "label": label, "text": "x" * (end - start)}


def order(first: str, answer: str) -> dict[str, Any]:
    return {"order": [first, "b" if first == "a" else "a"], "answer": answer, "confidence": 0.9}


def test_every_new_type_has_measures_and_classification_keeps_its_own_sections() -> None:
    assert set(MEASURES) == set(TASK_TYPES) - {"classification"}
    assert task_measures(CLASSIFICATION, [GoldRecord("pos", 0.9, "pos")]) is None


SPAN_RECORDS = [
    # Exact PER; ORG predicted one character short (overlap only).
    GoldRecord(
        [span(0, 5, "PER"), span(10, 19, "ORG")], 0.9, [span(0, 5, "PER"), span(10, 20, "ORG")]
    ),
    # A PER the model missed; a PER it made up; an ORG labeled PER (no overlap of the same label).
    GoldRecord(
        [span(30, 35, "PER"), span(40, 45, "PER")], 0.5, [span(0, 4, "PER"), span(40, 45, "ORG")]
    ),
    # One long prediction covering two gold PER spans.
    GoldRecord([span(0, 20, "PER")], 0.7, [span(0, 5, "PER"), span(10, 15, "PER")]),
    GoldRecord([], 0.95, []),
]


@pytest.mark.parametrize(
    ("label", "gold", "predicted", "exact", "overlap_predicted", "overlap_gold"),
    [
        ("PER", 4, 4, 1, 2, 3),
        ("ORG", 2, 1, 0, 1, 1),
        ("(all)", 6, 5, 1, 3, 4),
    ],
)
def test_span_scores_per_label(
    label: str, gold: int, predicted: int, exact: int, overlap_predicted: int, overlap_gold: int
) -> None:
    measures = task_measures(SPANS, SPAN_RECORDS)
    assert measures is not None and measures.type == "spans" and measures.items == 4
    row = {r.label: r for r in measures.labels}[label]
    assert (row.gold, row.predicted) == (gold, predicted)
    assert row.exact_precision.successes == exact and row.exact_precision.n == predicted
    assert row.exact_recall.successes == exact and row.exact_recall.n == gold
    assert row.overlap_precision.successes == overlap_predicted
    assert row.overlap_recall.successes == overlap_gold and row.overlap_recall.n == gold
    assert row.exact_recall.interval == wilson_interval(exact, gold)
    p, r = overlap_predicted / predicted, overlap_gold / gold
    assert row.overlap_f1 == pytest.approx(2 * p * r / (p + r))


def test_span_labels_follow_the_task_then_any_other_and_empty_ones_have_no_figures() -> None:
    records = [GoldRecord([span(0, 3, "LOC")], 0.5, [])]
    rows = task_measures(SPANS, records).labels  # type: ignore[union-attr]
    assert [r.label for r in rows] == ["PER", "ORG", "LOC", "(all)"]
    per = rows[0]
    assert per.exact_precision.value is None and per.exact_f1 is None
    assert per.exact_precision.interval is None
    loc = rows[2]
    assert loc.exact_precision.value == 0.0 and loc.exact_recall.value is None
    assert loc.exact_f1 == 0.0


EXTRACTION = TaskSpec(
    type="extraction",
    schema={
        "type": "object",
        "properties": {
            "vendor": {"type": ["string", "null"]},
            "total": {"type": ["number", "null"]},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
    },
)
EXTRACTION_RECORDS = [
    # Every field right once written alike: case, thousands separators, list order.
    GoldRecord(
        {"vendor": "ACME  corp", "total": "1,000.50", "tags": ["b", "a"]},
        0.9,
        {"vendor": "Acme Corp", "total": 1000.5, "tags": ["a", "b"]},
    ),
    GoldRecord(
        {"vendor": "Bolt", "total": 7, "tags": []}, 0.6, {"vendor": "Bolt", "total": 8, "tags": []}
    ),
    GoldRecord(
        {"vendor": None, "total": None, "tags": ["x"]},
        0.4,
        {"vendor": "Cog", "total": None, "tags": []},
    ),
]


@pytest.mark.parametrize(("field", "right"), [("vendor", 2), ("total", 2), ("tags", 2)])
def test_extraction_accuracy_per_field(field: str, right: int) -> None:
    measures = task_measures(EXTRACTION, EXTRACTION_RECORDS)
    assert measures is not None and measures.type == "extraction"
    accuracy = {f.field: f.accuracy for f in measures.fields}[field]
    assert (accuracy.successes, accuracy.n) == (right, 3)
    assert accuracy.interval == wilson_interval(right, 3)


def test_extraction_exact_match_is_the_task_types_comparison() -> None:
    measures = task_measures(EXTRACTION, EXTRACTION_RECORDS)
    assert measures is not None and measures.type == "extraction"
    assert [f.field for f in measures.fields] == ["vendor", "total", "tags"]
    assert (measures.exact_match.successes, measures.exact_match.n) == (1, 3)


RATING_RECORDS = [
    GoldRecord(5, 0.9, 5),
    GoldRecord(4, 0.8, 5),
    GoldRecord(1, 0.6, 3),
    GoldRecord(3, 0.7, 3),
]


def test_rating_measures() -> None:
    measures = task_measures(RATING, RATING_RECORDS)
    assert measures is not None and measures.type == "rating"
    assert (measures.exact.successes, measures.exact.n) == (2, 4)
    assert (measures.within_one.successes, measures.within_one.n) == (3, 4)
    assert measures.within_one.interval == wilson_interval(3, 4)
    assert measures.mean_absolute_error == pytest.approx((0 + 1 + 2 + 0) / 4)
    # Observed squared distances 0+1+4+0 = 5; by chance, every rating against every gold score:
    # ratings 5,4,1,3 against gold 5,5,3,3 -> (0+0+4+4)+(1+1+1+1)+(16+16+4+4)+(4+4+0+0) = 60.
    assert measures.quadratic_weighted_kappa == pytest.approx(1 - 4 * 5 / 60)


def test_rating_measures_without_gold() -> None:
    measures = task_measures(RATING, [])
    assert measures is not None
    assert measures.exact.value is None and measures.mean_absolute_error is None
    assert measures.quadratic_weighted_kappa is None


PAIRWISE_RECORDS = [
    GoldRecord("a", 0.9, "a", [order("a", "a"), order("b", "a")]),
    GoldRecord("b", 0.4, "a", [order("a", "b"), order("b", "a")]),  # the order changed it
    GoldRecord("tie", 0.8, "tie", [order("a", "tie"), order("b", "tie")]),
    GoldRecord("b", 0.7, "b", None),  # stored without parts: not in the order rate
]


def test_pairwise_measures() -> None:
    measures = task_measures(PAIRWISE, PAIRWISE_RECORDS)
    assert measures is not None and measures.type == "pairwise" and measures.items == 4
    assert (measures.agreement.successes, measures.agreement.n) == (3, 4)
    assert (measures.order_changed.successes, measures.order_changed.n) == (1, 3)
    assert measures.order_changed.interval == wilson_interval(1, 3)
    # Answers that picked a candidate (ties are not picks): "a" shown first (picked A), "a"
    # shown second, "b" shown second, "a" shown second: one of four picked the first shown.
    assert (measures.first_shown_wins.successes, measures.first_shown_wins.n) == (1, 4)


@pytest.mark.parametrize(
    ("task", "value", "labels"),
    [
        (SPANS, [span(0, 2, "PER"), span(3, 5, "PER"), span(6, 8, "ORG")], {"PER", "ORG"}),
        (SPANS, [], set()),
        (RATING, 4, {"4"}),
        (PAIRWISE, "tie", {"tie"}),
        (CLASSIFICATION, "pos", {"pos"}),
        (None, ["x", "y"], {"x", "y"}),
    ],
)
def test_labels_of_each_type(task: TaskSpec | None, value: Any, labels: set[str]) -> None:
    assert labels_in(value, task) == labels


def test_span_label_counts_count_items_per_entity_type() -> None:
    values = [([span(0, 2, "PER"), span(3, 5, "PER")], 2), ([span(0, 2, "ORG")], 1)]
    assert label_counts(values, SPANS) == {"PER": 2, "ORG": 1}
