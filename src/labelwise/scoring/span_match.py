"""Spans against gold, per entity type: precision, recall and F1, exact and overlapping.

- exact: a predicted span is right when gold has a span with the same start, end and label.
- overlap: a predicted span is right when gold has a span of the same label sharing at least
  one character with it; a gold span is found when some predicted span of its label overlaps
  it. Overlap is not one-to-one (one long prediction may find two gold spans), so precision
  counts matched predictions and recall counts found gold spans separately.
Precision is undefined (None) with no prediction of the label, recall with no gold span of it;
F1 is 2PR / (P + R), an undefined side counting as 0, and None only when the label occurs on
neither side. `total_scores` adds the counts of every label (micro-averaged).

Pure functions; nothing does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Spans = Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class SpanScores:
    label: str
    predicted: int  # predicted spans of the label
    gold: int  # gold spans of the label
    matched_predicted: int  # predicted spans that match a gold span
    matched_gold: int  # gold spans matched by a predicted span

    @property
    def precision(self) -> float | None:
        return self.matched_predicted / self.predicted if self.predicted else None

    @property
    def recall(self) -> float | None:
        return self.matched_gold / self.gold if self.gold else None

    @property
    def f1(self) -> float | None:
        if not self.predicted and not self.gold:
            return None
        p, r = self.precision or 0.0, self.recall or 0.0
        return 2 * p * r / (p + r) if p + r > 0 else 0.0


def _same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return (a["start"], a["end"]) == (b["start"], b["end"])


def _overlap(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return bool(a["start"] < b["end"] and b["start"] < a["end"])


def _of(spans: Spans | None, label: str) -> list[Mapping[str, Any]]:
    """The spans of `label` in a value; anything that is not a span is ignored."""
    if not isinstance(spans, list):
        return []
    return [
        span
        for span in spans
        if isinstance(span, Mapping)
        and {"start", "end"} <= span.keys()
        and span.get("label") == label
    ]


def _labels(pairs: Sequence[tuple[Spans | None, Spans | None]], labels: Sequence[str]) -> list[str]:
    """The task's labels, then any other label a value uses, in order of appearance."""
    seen = dict.fromkeys(labels)
    for predicted, gold in pairs:
        for value in (predicted, gold):
            for span in value if isinstance(value, list) else []:
                if isinstance(span, Mapping) and "label" in span:
                    seen.setdefault(str(span["label"]))
    return list(seen)


def span_scores(
    pairs: Iterable[tuple[Spans | None, Spans | None]],
    labels: Sequence[str],
    *,
    overlap: bool = False,
) -> dict[str, SpanScores]:
    """Per label, the counts behind precision, recall and F1 over `pairs` of (predicted spans,
    gold spans), one pair per item; None (or anything not a list of spans) counts as none."""
    pairs = list(pairs)
    match = _overlap if overlap else _same
    counts: dict[str, list[int]] = {label: [0, 0, 0, 0] for label in _labels(pairs, labels)}
    for predicted, gold in pairs:
        for label, row in counts.items():
            mine, truth = _of(predicted, label), _of(gold, label)
            row[0] += len(mine)
            row[1] += len(truth)
            row[2] += sum(1 for p in mine if any(match(p, g) for g in truth))
            row[3] += sum(1 for g in truth if any(match(p, g) for p in mine))
    return {label: SpanScores(label, *row) for label, row in counts.items()}


def exact_span_scores(
    pairs: Iterable[tuple[Spans | None, Spans | None]], labels: Sequence[str]
) -> dict[str, SpanScores]:
    return span_scores(pairs, labels, overlap=False)


def overlap_span_scores(
    pairs: Iterable[tuple[Spans | None, Spans | None]], labels: Sequence[str]
) -> dict[str, SpanScores]:
    return span_scores(pairs, labels, overlap=True)


def total_scores(scores: Mapping[str, SpanScores], label: str = "all") -> SpanScores:
    """Every label's counts added up: the micro-averaged scores."""
    rows = list(scores.values())
    return SpanScores(
        label,
        sum(s.predicted for s in rows),
        sum(s.gold for s in rows),
        sum(s.matched_predicted for s in rows),
        sum(s.matched_gold for s in rows),
    )
