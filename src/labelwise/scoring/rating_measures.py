"""How close ratings are to gold, for the quality report: exact agreement, agreement within one
point, mean absolute error, and quadratic weighted kappa.

Each takes `(value, truth)` pairs of integer scores and answers None when there is nothing to
measure, so a report shows "no data" rather than a made-up 0 or 1.

Quadratic weighted kappa weighs a disagreement by the square of its distance and compares it
with what ratings drawn independently from the two sides' own score distributions would give:
    kappa = 1 - N * sum_k (v_k - t_k)^2 / sum_i sum_j (v_i - t_j)^2
This is the usual confusion-matrix formula with the weights (i - j)^2 / (n - 1)^2: the scale's
size cancels out of the ratio and scores nobody gave add nothing to either sum, so the pairs
alone decide it. It is undefined (None) when every rating and every gold score is the same
number: chance then agrees perfectly too, and no figure measures skill.

Everything here is a pure function of its arguments; nothing does I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

Pair = tuple[int, int]  # (the rating, the gold score)


@dataclass(frozen=True)
class RatingMeasures:
    count: int
    exact: float | None
    within_one: float | None
    mean_absolute_error: float | None
    quadratic_weighted_kappa: float | None


def exact_agreement(pairs: Sequence[Pair]) -> float | None:
    """The share of ratings equal to gold."""
    if not pairs:
        return None
    return sum(1 for value, truth in pairs if value == truth) / len(pairs)


def within_one(pairs: Sequence[Pair]) -> float | None:
    """The share of ratings at most one point from gold."""
    if not pairs:
        return None
    return sum(1 for value, truth in pairs if abs(value - truth) <= 1) / len(pairs)


def mean_absolute_error(pairs: Sequence[Pair]) -> float | None:
    """The mean distance from gold, in points of the scale."""
    if not pairs:
        return None
    return sum(abs(value - truth) for value, truth in pairs) / len(pairs)


def quadratic_weighted_kappa(pairs: Sequence[Pair]) -> float | None:
    """Agreement beyond chance, disagreements weighed by their squared distance (1 is perfect,
    0 is chance, below 0 worse than chance); see the module's notes."""
    if not pairs:
        return None
    n = len(pairs)
    values = [value for value, _ in pairs]
    truths = [truth for _, truth in pairs]
    observed = sum((value - truth) ** 2 for value, truth in pairs)
    # sum_i sum_j (v_i - t_j)^2, expanded so it costs one pass rather than n^2.
    by_chance = (
        n * sum(v * v for v in values)
        + n * sum(t * t for t in truths)
        - 2 * sum(values) * sum(truths)
    )
    if by_chance == 0:
        return None
    return 1.0 - n * observed / by_chance


def rating_measures(pairs: Sequence[Pair]) -> RatingMeasures:
    """Every rating measure of `pairs` at once."""
    return RatingMeasures(
        count=len(pairs),
        exact=exact_agreement(pairs),
        within_one=within_one(pairs),
        mean_absolute_error=mean_absolute_error(pairs),
        quadratic_weighted_kappa=quadratic_weighted_kappa(pairs),
    )
