"""Measures of label quality on gold, for the quality report: pure functions, no I/O.

Each takes plain records (the model's value and confidence, and the truth) so that the report, the
benchmarks and the tests compute every figure the same way. Whether a value is right is asked of
the task's type, the one place answers are compared, so calibration and the report never disagree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from labelwise.domain import GoldRecord
from labelwise.scoring.calibration import wilson_interval
from labelwise.scoring.evaluation import auroc
from labelwise.spec import TaskSpec
from labelwise.tasks import matches

MAX_CURVE_POINTS = 200


def is_right(record: GoldRecord, task: TaskSpec) -> bool:
    """Whether the model's value is the truth, as the task's type compares answers."""
    return matches(task, record.value, record.truth)


def scored(records: Iterable[GoldRecord], task: TaskSpec) -> list[tuple[float, bool]]:
    """(confidence, right) for every record with a confidence: what calibration and the curves
    are computed from."""
    return [(r.confidence, is_right(r, task)) for r in records if r.confidence is not None]


@dataclass(frozen=True)
class CurvePoint:
    threshold: float
    coverage: float
    accuracy: float


def accuracy_coverage(pairs: Sequence[tuple[float, bool]]) -> list[CurvePoint]:
    """Accepting everything at or above each threshold: the share accepted and how many of those
    are right. One point per distinct confidence: ties are accepted together."""
    n = len(pairs)
    ranked = sorted(pairs, key=lambda pair: pair[0], reverse=True)
    points, right = [], 0
    for index, (confidence, correct) in enumerate(ranked):
        right += correct
        if index + 1 < n and ranked[index + 1][0] == confidence:
            continue
        points.append(CurvePoint(confidence, (index + 1) / n, right / (index + 1)))
    return points


def thinned(points: Sequence[CurvePoint], limit: int = MAX_CURVE_POINTS) -> list[CurvePoint]:
    """At most `limit` points, evenly spaced along the curve, the last one kept."""
    if len(points) <= limit:
        return list(points)
    step = len(points) / limit
    kept = [points[int(i * step)] for i in range(limit)]
    return kept if kept[-1] is points[-1] else [*kept, points[-1]]


def best_coverage(pairs: Sequence[tuple[float, bool]], target: float) -> float:
    """The most any threshold could accept on this gold with point precision at the target:
    the bar a calibration with margin is measured against."""
    reaching = [p.coverage for p in accuracy_coverage(pairs) if p.accuracy >= target]
    return max(reaching, default=0.0)


@dataclass(frozen=True)
class ReliabilityBin:
    lower: float
    upper: float
    count: int
    mean_confidence: float | None
    accuracy: float | None


def reliability(
    pairs: Sequence[tuple[float, bool]], bins: int = 10
) -> tuple[list[ReliabilityBin], float | None]:
    """Equal-width confidence bins with their mean confidence and accuracy, and the expected
    calibration error: the gap between the two, weighted by how many items each bin holds."""
    grouped: list[list[tuple[float, bool]]] = [[] for _ in range(bins)]
    for confidence, correct in pairs:
        index = min(int(confidence * bins), bins - 1) if confidence > 0 else 0
        grouped[index].append((confidence, correct))
    result = []
    gap = 0.0
    for index, members in enumerate(grouped):
        lower, upper = index / bins, (index + 1) / bins
        if not members:
            result.append(ReliabilityBin(lower, upper, 0, None, None))
            continue
        mean = sum(c for c, _ in members) / len(members)
        accuracy = sum(ok for _, ok in members) / len(members)
        gap += len(members) * abs(accuracy - mean)
        result.append(ReliabilityBin(lower, upper, len(members), mean, accuracy))
    return result, (gap / len(pairs) if pairs else None)


def labels_in(value: Any, task: TaskSpec | None = None) -> frozenset[str]:
    """The labels a value gives: each of a multi-label value's, the one of a single label (a
    rating's score, a pairwise winner), the entity types of spans, none of a missing value or of
    extracted fields. Per-label figures count labels, not whole answers."""
    kind = task.type if task is not None else "classification"
    if value is None or kind == "extraction":
        return frozenset()
    if kind == "spans":
        spans = value if isinstance(value, list) else []
        return frozenset(str(s["label"]) for s in spans if isinstance(s, dict) and "label" in s)
    return frozenset(map(str, value)) if isinstance(value, list) else frozenset([str(value)])


def confusion_matrix(records: Sequence[GoldRecord], labels: Sequence[str]) -> list[list[int]]:
    """Rows are the true label, columns the model's (single-label tasks)."""
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for record in records:
        truth, value = index.get(str(record.truth)), index.get(str(record.value))
        if truth is not None and value is not None:
            matrix[truth][value] += 1
    return matrix


@dataclass(frozen=True)
class LabelScores:
    label: str
    precision: float | None
    recall: float | None
    f1: float | None
    support: int


def per_label_scores(records: Sequence[GoldRecord], labels: Sequence[str]) -> list[LabelScores]:
    """Precision, recall and F1 of each label; a multi-label item counts for each of its labels."""
    true_pos: Counter[str] = Counter()
    predicted: Counter[str] = Counter()
    actual: Counter[str] = Counter()
    for record in records:
        values, truths = labels_in(record.value), labels_in(record.truth)
        predicted.update(values)
        actual.update(truths)
        true_pos.update(values & truths)
    scores = []
    for label in labels:
        precision = true_pos[label] / predicted[label] if predicted[label] else None
        recall = true_pos[label] / actual[label] if actual[label] else None
        f1 = (
            2 * precision * recall / (precision + recall)
            if precision is not None and recall is not None and precision + recall > 0
            else (0.0 if precision is not None and recall is not None else None)
        )
        scores.append(LabelScores(label, precision, recall, f1, actual[label]))
    return scores


def label_counts(values: Iterable[tuple[Any, int]], task: TaskSpec | None = None) -> dict[str, int]:
    """How often each label was given, from (value, count) pairs; multi-label values (and spans)
    count once per label."""
    counts: Counter[str] = Counter()
    for value, n in values:
        for label in labels_in(value, task):
            counts[label] += n
    return dict(counts.most_common())


@dataclass(frozen=True)
class Proportion:
    """A share of successes with its two-sided 95% Wilson interval."""

    n: int
    successes: int
    value: float | None
    interval: tuple[float, float] | None


def proportion(successes: int, n: int) -> Proportion:
    if n == 0:
        return Proportion(0, 0, None, None)
    return Proportion(n, successes, successes / n, wilson_interval(successes, n))


@dataclass(frozen=True)
class GoldSummary:
    items: int
    scored: int
    accuracy: Proportion
    auroc: float | None
    ece: float | None


def summarize_gold(records: Sequence[GoldRecord], task: TaskSpec) -> GoldSummary:
    pairs = scored(records, task)
    return GoldSummary(
        items=len(records),
        scored=len(pairs),
        accuracy=proportion(sum(is_right(r, task) for r in records), len(records)),
        auroc=auroc([c for c, ok in pairs if ok], [c for c, ok in pairs if not ok]),
        ece=reliability(pairs)[1],
    )
