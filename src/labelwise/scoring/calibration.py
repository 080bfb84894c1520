"""Choosing an acceptance threshold from gold so that the accepted labels' precision reaches a
target with a stated probability (the `guarantee`), by fixed-sequence testing.

Why not "the lowest threshold whose bound passes": scanning every threshold runs one test per
threshold and keeps the luckiest, so with a model at 0.945 precision everywhere and a 0.95 target
it certifies something in about one gold set in six, not one in twenty. Fixed-sequence testing
(Learn-then-Test, Angelopoulos et al. 2021) keeps the promise:

1. the candidate thresholds are fixed before any truth is read: quantiles of the version's
   confidences (`threshold_grid`);
2. they are tested from the most confident down, each with an exact binomial test of the null
   "precision above this threshold is below the target", at level 1 - guarantee;
3. testing stops at the first threshold that fails; the last one that passed is certified.
   With enough gold, up to three such sequences start at different depths, each at a third of
   the error budget, and the lowest threshold any of them certifies is kept (`sequence_starts`).

A wrong certification needs the first threshold whose null is true to pass its test, which
happens with probability at most 1 - guarantee, however many thresholds there are. Thresholds
with too little gold above them to ever pass are skipped before testing: that depends on the
confidences only, never on whether the labels were right.

Pure functions over (confidence, correct) pairs and confidences.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from statistics import NormalDist

from labelwise.domain import Calibration, GoldAdvice
from labelwise.scoring.bounds import binomial_sf, clopper_pearson_lower, clopper_pearson_upper

DEFAULT_GUARANTEE = 0.95
DEFAULT_CONFIDENCE_LEVEL = 0.95
# Candidate thresholds: the confidences at which 1/GRID_STEPS, 2/GRID_STEPS, ... of the items
# would be accepted. Finer grids give finer coverage, but each extra test is one more chance
# for a noisy dip to stop the sequence.
GRID_STEPS = 40
# Up to three sequences, starting where 1, 3 and 9 times the least gold that could certify lies
# above the threshold (`sequence_starts`).
MAX_STARTS = 3
START_SPACING = 3
_ADVICE_ROWS = 5


def wilson_interval(
    successes: int, n: int, *, level: float = DEFAULT_CONFIDENCE_LEVEL
) -> tuple[float, float]:
    """Two-sided Wilson score interval for a proportion; (0, 1) when there is no data. Used for
    descriptive figures in reports; guarantees use the exact bounds of `scoring.bounds`."""
    if n == 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(1 - (1 - level) / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def threshold_grid(confidences: Sequence[float], *, steps: int = GRID_STEPS) -> list[float]:
    """Candidate thresholds, most confident first: the confidence at which 1/steps, 2/steps, ...
    of `confidences` would be accepted. Built from confidences alone, never from truth."""
    ranked = sorted((c for c in confidences if math.isfinite(c)), reverse=True)
    if not ranked:
        return []
    grid: list[float] = []
    for step in range(1, steps + 1):
        value = ranked[max(0, math.ceil(step * len(ranked) / steps) - 1)]
        if not grid or value < grid[-1]:
            grid.append(value)
    return grid


def min_gold_to_certify(target_precision: float, guarantee: float) -> int:
    """The fewest gold items above a threshold that could ever certify it: all of them right,
    and still the chance of that under a precision just below target must be <= 1 - guarantee."""
    if target_precision >= 1.0:
        return 10**9
    return math.ceil(math.log(1 - guarantee) / math.log(target_precision))


def precision_p_value(right: int, accepted: int, target_precision: float) -> float:
    """The chance of `right` or more right labels among `accepted` if precision were exactly the
    target: small values reject "precision below target"."""
    return binomial_sf(right, accepted, target_precision)


def _above(ranked: Sequence[tuple[float, bool]], threshold: float) -> tuple[int, int]:
    """(gold at or above threshold, right among them), `ranked` most confident first."""
    accepted = right = 0
    for confidence, correct in ranked:
        if confidence < threshold:
            break
        accepted += 1
        right += correct
    return accepted, right


def _coverage(population: Sequence[float], threshold: float) -> float:
    return sum(c >= threshold for c in population) / len(population) if population else 0.0


def sequence_starts(
    gold: int, target_precision: float, guarantee: float
) -> tuple[float, list[int]]:
    """(level of each sequence, gold above the first threshold each one tests).

    One sequence that starts where just enough gold could ever pass dies at the first wrong label
    among it, as it will for a model right 98% of the time at the top. So, gold allowing, up to
    `MAX_STARTS` sequences start where 1, 3, 9... times that much gold lies above, each at an equal
    share of the error budget (their union keeps the guarantee). Depends on the gold's size only.
    """
    delta = 1 - guarantee
    for count in range(MAX_STARTS, 0, -1):
        needed = min_gold_to_certify(target_precision, 1 - delta / count)
        starts = [needed * START_SPACING**index for index in range(count)]
        if starts[-1] <= gold or count == 1:
            return delta / count, starts
    raise AssertionError("unreachable")  # pragma: no cover


def fixed_sequence(
    ranked: Sequence[tuple[float, bool]],
    grid: Sequence[float],
    target_precision: float,
    *,
    delta: float,
    first_gold: int,
) -> float | None:
    """The last threshold passed, testing `grid` in order from the first with `first_gold` gold
    above it and stopping at the first failure; `ranked` is the gold, most confident first."""
    certified = None
    for threshold in grid:
        accepted, right = _above(ranked, threshold)
        if accepted < first_gold:
            continue
        if precision_p_value(right, accepted, target_precision) > delta:
            break
        certified = threshold
    return certified


def choose_threshold(
    scored: Sequence[tuple[float, bool]],
    target_precision: float,
    *,
    guarantee: float = DEFAULT_GUARANTEE,
    population: Sequence[float] = (),
) -> Calibration:
    """The lowest grid threshold certified by fixed-sequence testing, or why there is none.

    `scored` holds, per gold item, the model's confidence and whether its label was right;
    `population` the confidences of the version's items, truth unseen, which fix the grid and
    the coverage (the gold's own confidences when it is empty).
    """
    population = population or [c for c, _ in scored]
    ranked = sorted(scored, key=lambda pair: pair[0], reverse=True)
    grid = threshold_grid(population)
    delta, starts = sequence_starts(len(ranked), target_precision, guarantee)
    passed = [
        t
        for first in starts
        if (t := fixed_sequence(ranked, grid, target_precision, delta=delta, first_gold=first))
        is not None
    ]
    if passed:
        threshold = min(passed)
        accepted, right = _above(ranked, threshold)
        return Calibration(
            threshold=threshold,
            expected_precision=right / accepted,
            precision_interval=(
                clopper_pearson_lower(right, accepted, delta),
                clopper_pearson_upper(right, accepted, delta),
            ),
            expected_coverage=_coverage(population, threshold),
            gold=len(scored),
            guarantee=guarantee,
        )
    needed = min_gold_to_certify(target_precision, guarantee)
    return Calibration(
        None,
        None,
        None,
        0.0,
        len(scored),
        reason=_why_none(len(ranked), needed, target_precision, guarantee),
        calibrated=len(ranked) >= needed,
        guarantee=guarantee,
        # None, not (), when there is no row: the stored form reads an empty list back as None.
        advice=tuple(
            gold_advice(scored, target_precision, guarantee=guarantee, population=population)
        )
        or None,
    )


def _why_none(gold: int, needed: int, target: float, guarantee: float) -> str:
    if gold < needed:
        return (
            f"needs at least {needed} gold items above a threshold to certify precision "
            f"{target} with probability {guarantee}, has {gold} in all"
        )
    return f"no threshold is certified to reach precision {target} with probability {guarantee}"


def gold_for_precision(observed: float, target_precision: float, guarantee: float) -> int | None:
    """How many gold items above a threshold would certify it if they were right as often as
    `observed`; None when `observed` does not exceed the target (no amount would do)."""
    if observed <= target_precision:
        return None
    delta = 1 - guarantee
    n = min_gold_to_certify(target_precision, guarantee)
    while n <= 1_000_000:
        if precision_p_value(math.floor(observed * n), n, target_precision) <= delta:
            return n
        n = math.ceil(n * 1.05)
    return None


def gold_advice(
    scored: Sequence[tuple[float, bool]],
    target_precision: float,
    *,
    guarantee: float,
    population: Sequence[float] = (),
) -> list[GoldAdvice]:
    """When nothing is certified: how much gold (drawn like the gold so far) would certify which
    coverage, if the model kept the precision it shows on it. With that much gold one of the
    sequences can start near the threshold (`sequence_starts`), at a third of the error budget,
    so each row asks only what its own threshold needs. Rows stop at the first threshold whose
    precision does not exceed the target: no amount of gold certifies it."""
    population = population or [c for c, _ in scored]
    ranked = sorted(scored, key=lambda pair: pair[0], reverse=True)
    level = 1 - (1 - guarantee) / MAX_STARTS
    advice: list[GoldAdvice] = []
    for threshold in threshold_grid(population):
        accepted, right = _above(ranked, threshold)
        if accepted == 0:
            continue
        # A smoothed precision: 20 of 20 right is not evidence of 100%.
        observed = (right + 1) / (accepted + 2)
        above = gold_for_precision(observed, target_precision, level)
        if above is None:
            break
        gold = max(len(ranked), math.ceil(above * len(ranked) / accepted))
        advice.append(GoldAdvice(coverage=_coverage(population, threshold), gold=gold))
    # Only rows no larger coverage beats: more coverage for the same gold or less wins.
    frontier: list[GoldAdvice] = []
    for row in reversed(advice):
        if not frontier or row.gold < frontier[-1].gold:
            frontier.append(row)
    advice = frontier[::-1]
    if len(advice) <= _ADVICE_ROWS:
        return advice
    picks = {round(i * (len(advice) - 1) / (_ADVICE_ROWS - 1)) for i in range(_ADVICE_ROWS)}
    return [row for index, row in enumerate(advice) if index in picks]


def calibrate(
    scored: Sequence[tuple[float, bool]],
    target_precision: float | None,
    *,
    gold: int,
    method: str | None,
    guarantee: float = DEFAULT_GUARANTEE,
    population: Sequence[float] = (),
) -> Calibration:
    """What a version routes by, from its gold: with a target precision, the threshold that gold
    certifies; without one (a fixed threshold, consensus only), just how much gold there was and
    the scoring method gold chose. `gold` counts every gold record, scored or not."""
    if target_precision is not None:
        calibration = choose_threshold(
            scored, target_precision, guarantee=guarantee, population=population
        )
    else:
        calibration = Calibration(None, None, None, None, gold=gold)
    return replace(calibration, confidence_method=method)
