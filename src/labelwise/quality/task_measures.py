"""Each task type's own measures on gold, beside the accuracy every type shares: spans per entity
type, extraction per field, a rating's distance from the truth, a pairwise judge's agreement and
how often the order of the candidates swayed it.

A registry from task type to a function of the gold records, so the report asks one question
whatever the type. Classification has none here: its per-label scores and confusion matrix are
the report's own sections. Whole answers are compared by the task type (`labelwise.tasks.matches`),
as everywhere else; the parts by the type's own measures (`labelwise.scoring.span_match`,
`labelwise.tasks.extraction_compare`, `labelwise.scoring.rating_measures`,
`labelwise.tasks.pairwise_measures`). This module adds the counts and Wilson intervals.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from labelwise.domain import GoldRecord
from labelwise.quality.metrics import Proportion, proportion
from labelwise.quality.task_measure_models import (
    ExtractionMeasures,
    FieldAccuracy,
    PairwiseMeasures,
    RatingMeasures,
    SpanLabelScores,
    SpanMeasures,
    TaskMeasures,
)
from labelwise.scoring import rating_measures as rating
from labelwise.scoring import span_match
from labelwise.spec import TaskSpec
from labelwise.tasks import extraction_compare as extraction
from labelwise.tasks import matches
from labelwise.tasks import pairwise_measures as pairwise
from labelwise.tasks.extraction_schema import properties

# The label of the row that counts every entity type's spans together (micro-averaged).
ALL_LABELS = "(all)"

Measure = Callable[[TaskSpec, Sequence[GoldRecord]], TaskMeasures]


def span_measures(task: TaskSpec, records: Sequence[GoldRecord]) -> SpanMeasures:
    pairs = [(r.value, r.truth) for r in records]
    exact = span_match.exact_span_scores(pairs, task.label_names)
    overlap = span_match.overlap_span_scores(pairs, task.label_names)
    rows = [_span_row(exact[label], overlap[label]) for label in exact]
    everything = _span_row(
        span_match.total_scores(exact, ALL_LABELS), span_match.total_scores(overlap, ALL_LABELS)
    )
    return SpanMeasures(items=len(records), labels=[*rows, everything])


def _span_row(exact: span_match.SpanScores, overlap: span_match.SpanScores) -> SpanLabelScores:
    return SpanLabelScores(
        label=exact.label,
        gold=exact.gold,
        predicted=exact.predicted,
        exact_precision=proportion(exact.matched_predicted, exact.predicted),
        exact_recall=proportion(exact.matched_gold, exact.gold),
        exact_f1=exact.f1,
        overlap_precision=proportion(overlap.matched_predicted, overlap.predicted),
        overlap_recall=proportion(overlap.matched_gold, overlap.gold),
        overlap_f1=overlap.f1,
    )


def extraction_measures(task: TaskSpec, records: Sequence[GoldRecord]) -> ExtractionMeasures:
    """Per field of the schema, as the extraction type compares a field; the item exact when the
    type says the whole value matches."""
    fields = [
        FieldAccuracy(
            field=name,
            accuracy=proportion(
                sum(
                    extraction.field_matches(prop, _field(r.value, name), _field(r.truth, name))
                    for r in records
                ),
                len(records),
            ),
        )
        for name, prop in properties(task).items()
    ]
    exact = sum(matches(task, r.value, r.truth) for r in records)
    return ExtractionMeasures(
        items=len(records), exact_match=proportion(exact, len(records)), fields=fields
    )


def _field(value: Any, name: str) -> Any:
    return value.get(name) if isinstance(value, dict) else None


def rating_measures(task: TaskSpec, records: Sequence[GoldRecord]) -> RatingMeasures:
    pairs = [(r.value, r.truth) for r in records if _is_score(r.value) and _is_score(r.truth)]
    measured = rating.rating_measures(pairs)
    return RatingMeasures(
        items=len(records),
        exact=proportion(sum(matches(task, r.value, r.truth) for r in records), len(records)),
        within_one=_share(measured.within_one, len(pairs)),
        mean_absolute_error=measured.mean_absolute_error,
        quadratic_weighted_kappa=measured.quadratic_weighted_kappa,
    )


def _is_score(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _share(share: float | None, n: int) -> Proportion:
    """A share of `n` as a proportion with its interval (a share of n items is k/n exactly, so
    the count rounds back)."""
    return proportion(round(share * n) if share is not None else 0, n)


def pairwise_measures(task: TaskSpec, records: Sequence[GoldRecord]) -> PairwiseMeasures:
    """Items whose parts do not hold both orders' answers are left out of the order rate."""
    measured = pairwise.pairwise_measures(records)
    return PairwiseMeasures(
        items=len(records),
        agreement=_share(measured.agreement, measured.gold_items),
        order_changed=_share(measured.order_changed, measured.both_orders),
        first_shown_wins=_share(measured.first_shown_wins, measured.picks),
    )


MEASURES: dict[str, Measure] = {
    "spans": span_measures,
    "extraction": extraction_measures,
    "rating": rating_measures,
    "pairwise": pairwise_measures,
}


def task_measures(task: TaskSpec, records: Sequence[GoldRecord]) -> TaskMeasures | None:
    """The type's own measures on these gold records; None for a type with none of its own."""
    measure = MEASURES.get(task.type)
    return measure(task, records) if measure is not None else None
