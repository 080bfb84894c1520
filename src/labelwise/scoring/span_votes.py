"""Several answers about one text's spans as one value with a confidence.

A span is the same span in two answers when its start, end and label are the same. Each span is
decided on its own, like each label of a multi-label task:
- self-consistency (samples, no logprobs): a span is kept when more than half the samples have
  it (a tie drops it); its share is the fraction of samples that agree with that decision.
- combining votes that carry a confidence p: a vote says "yes" to its own spans with
  probability p and to every other span with 1 - p (a vote without a score counts as certain);
  a span is kept when its averaged "yes" is above one half.
The item's confidence is the weakest decision: the minimum, over every span any answer gave,
of the share (or averaged probability) behind what was decided for it. When no answer gave any
span, all agree the text has none: 1.0 for samples, and the votes' mean confidence for votes.

Pure functions; nothing does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

SpanKey = tuple[int, int, str]


def span_key(span: Mapping[str, Any]) -> SpanKey:
    return (int(span["start"]), int(span["end"]), str(span["label"]))


def _candidates(values: Sequence[Sequence[Mapping[str, Any]]]) -> dict[SpanKey, dict[str, Any]]:
    """Every span any answer gave, first seen first, each with its first spelling."""
    seen: dict[SpanKey, dict[str, Any]] = {}
    for value in values:
        for span in value:
            seen.setdefault(span_key(span), dict(span))
    return seen


def _decided(
    candidates: Mapping[SpanKey, dict[str, Any]], yes: Mapping[SpanKey, float]
) -> tuple[list[dict[str, Any]], float]:
    kept = [candidates[key] for key in candidates if yes[key] > 0.5]
    weakest = min((max(p, 1.0 - p) for p in yes.values()), default=1.0)
    return sorted(kept, key=lambda s: (s["start"], s["end"], s["label"])), weakest


def majority_spans(
    samples: Sequence[Sequence[Mapping[str, Any]]],
) -> tuple[list[dict[str, Any]], float]:
    """The spans more than half the samples have, and the weakest span's agreeing share."""
    if not samples:
        raise ValueError("majority_spans needs at least one sample")
    candidates = _candidates(samples)
    keys_per_sample = [{span_key(span) for span in sample} for sample in samples]
    yes = {
        key: sum(1 for keys in keys_per_sample if key in keys) / len(samples) for key in candidates
    }
    return _decided(candidates, yes)


def combine_span_votes(
    votes: Sequence[tuple[Sequence[Mapping[str, Any]], float | None]],
) -> tuple[list[dict[str, Any]], float]:
    """Votes (spans, confidence or None) as one value and its confidence."""
    if not votes:
        raise ValueError("combining needs at least one vote")
    candidates = _candidates([spans for spans, _ in votes])
    certainty = [1.0 if p is None else min(max(p, 0.0), 1.0) for _, p in votes]
    if not candidates:
        return [], sum(certainty) / len(votes)
    keys_per_vote = [{span_key(span) for span in spans} for spans, _ in votes]
    yes = {
        key: sum(
            p if key in keys else 1.0 - p for keys, p in zip(keys_per_vote, certainty, strict=True)
        )
        / len(votes)
        for key in candidates
    }
    return _decided(candidates, yes)
