"""Threshold choice from gold by fixed-sequence testing, on small gold sets built by hand."""

from __future__ import annotations

import json
import math
import random

import pytest

from labelwise.domain import Calibration, GoldAdvice
from labelwise.scoring.calibration import (
    calibrate,
    choose_threshold,
    fixed_sequence,
    gold_for_precision,
    min_gold_to_certify,
    precision_p_value,
    sequence_starts,
    threshold_grid,
    wilson_interval,
)


def scored(right: list[float], wrong: list[float]) -> list[tuple[float, bool]]:
    return [(c, True) for c in right] + [(c, False) for c in wrong]


# -- the pieces ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "guarantee", "needed"),
    [
        (0.95, 0.95, 59),  # 0.95^59 = 0.0485 <= 0.05 < 0.95^58 = 0.0510
        (0.9, 0.95, 29),
        (0.99, 0.95, 299),
        (0.95, 0.99, 90),
        (0.5, 0.75, 2),  # exactly 0.5^2 = 0.25: a float ratio must not round it up to 3
        (0.8, 0.9, 11),
    ],
)
def test_min_gold_to_certify(target: float, guarantee: float, needed: int) -> None:
    assert min_gold_to_certify(target, guarantee) == needed
    # The defining property: all right at `needed` certifies, all right at one fewer does not.
    assert precision_p_value(needed, needed, target) <= 1 - guarantee + 1e-12
    assert precision_p_value(needed - 1, needed - 1, target) > 1 - guarantee


def test_a_perfect_target_can_never_be_certified() -> None:
    assert min_gold_to_certify(1.0, 0.95) >= 10**9


@pytest.mark.parametrize(
    ("right", "accepted", "target", "p_value"),
    [
        (59, 59, 0.95, 0.95**59),
        (58, 59, 0.95, 0.95**59 + 59 * 0.05 * 0.95**58),
        (10, 10, 0.9, 0.9**10),
        (9, 10, 0.95, 0.95**10 + 10 * 0.05 * 0.95**9),
        (0, 10, 0.9, 1.0),  # at least none right: certain, never evidence
        (11, 10, 0.9, 0.0),
        (95, 100, 0.95, 0.6160),  # as right as the target: no evidence at all
    ],
)
def test_precision_p_value(right: int, accepted: int, target: float, p_value: float) -> None:
    assert precision_p_value(right, accepted, target) == pytest.approx(p_value, abs=1e-4)


@pytest.mark.parametrize(
    ("confidences", "steps", "grid"),
    [
        ([i / 80 for i in range(1, 81)], 40, [(81 - 2 * k) / 80 for k in range(1, 41)]),
        ([i / 8 for i in range(1, 9)], 4, [0.875, 0.625, 0.375, 0.125]),
        ([0.9] * 50 + [0.5] * 50, 40, [0.9, 0.5]),  # ties give one threshold
        ([0.3, 0.7, 0.5], 40, [0.7, 0.5, 0.3]),  # fewer items than steps: each one
        ([0.5, math.nan, 0.9, math.inf], 40, [0.9, 0.5]),
        ([], 40, []),
    ],
)
def test_threshold_grid(confidences: list[float], steps: int, grid: list[float]) -> None:
    assert threshold_grid(confidences, steps=steps) == pytest.approx(grid)
    shuffled = list(confidences)
    random.Random(3).shuffle(shuffled)
    assert threshold_grid(shuffled, steps=steps) == threshold_grid(confidences, steps=steps)


def test_the_grid_is_fixed_by_confidences_never_by_truth() -> None:
    """Whatever the gold says, the certified threshold is one of the population's grid."""
    rng = random.Random(5)
    confidences = [rng.random() for _ in range(400)]
    grid = threshold_grid(confidences)
    for _ in range(20):
        gold = [(c, rng.random() < 0.5 + c / 2) for c in confidences[:200]]
        chosen = choose_threshold(gold, 0.8, population=confidences).threshold
        assert chosen is None or chosen in grid


def test_gold_for_precision() -> None:
    assert gold_for_precision(0.95, 0.95, 0.95) is None  # never above the target
    needed = gold_for_precision(31 / 32, 0.95, 0.95)
    assert needed is not None
    assert precision_p_value(math.floor(31 / 32 * needed), needed, 0.95) <= 0.05


def test_wilson_interval_for_descriptive_figures() -> None:
    low, high = wilson_interval(90, 100)
    assert (low, high) == pytest.approx((0.8256, 0.9448), abs=1e-3)
    assert wilson_interval(0, 0) == (0.0, 1.0)


# -- choosing a threshold --------------------------------------------------------------------


def test_the_lowest_threshold_that_passes_in_sequence() -> None:
    # 100 right at 0.900-0.999, then 20 wrong at 0.5. The grid over 120 items steps by 3: the
    # first 19 steps hold under 59 gold and are skipped, 60 to 99 right all pass, and the step
    # at 0.5 takes every item (100 of 120 right) and fails.
    gold = scored([0.9 + i / 1000 for i in range(100)], [0.5] * 20)
    result = choose_threshold(gold, 0.95)
    assert result == Calibration(
        threshold=pytest.approx(0.901),
        expected_precision=1.0,
        precision_interval=pytest.approx((0.05 ** (1 / 99), 1.0)),
        expected_coverage=pytest.approx(99 / 120),
        gold=120,
        guarantee=0.95,
    )


def test_a_sequence_stops_at_the_first_failure_even_if_a_lower_threshold_would_pass() -> None:
    # 60 of 60 right at 0.99 passes; adding 3 wrong at 0.98 fails (60/63); at 0.9 there are
    # 360 of 363 right, which would pass on its own but is never tested.
    gold = scored([0.99] * 60 + [0.9] * 300, [0.98] * 3)
    ranked = sorted(gold, reverse=True)
    grid = [0.99, 0.98, 0.9]
    assert fixed_sequence(ranked, grid, 0.95, delta=0.05, first_gold=59) == 0.99
    assert fixed_sequence(ranked, [0.9], 0.95, delta=0.05, first_gold=59) == 0.9
    # A sequence that starts deeper (at least 300 gold above) skips both and passes 0.9.
    assert fixed_sequence(ranked, grid, 0.95, delta=0.05, first_gold=300) == 0.9


def test_a_failure_at_the_first_tested_threshold_ends_that_sequence() -> None:
    gold = scored([0.99] * 57 + [0.9] * 300, [0.99] * 3)
    ranked = sorted(gold, reverse=True)
    assert fixed_sequence(ranked, [0.99, 0.9], 0.95, delta=0.05, first_gold=59) is None


@pytest.mark.parametrize(
    ("gold", "delta", "starts"),
    [
        # Too little gold for a second start: one sequence at the whole budget.
        (100, 0.05, [59]),
        # 3 x 72 (the least at 0.025) fits in 250: two sequences at half the budget each.
        (250, 0.025, [72, 216]),
        # 9 x 80 (the least at 0.05 / 3) fits in 1000: three at a third each.
        (1000, 0.05 / 3, [80, 240, 720]),
    ],
)
def test_sequence_starts_depend_on_the_gold_size_only(
    gold: int, delta: float, starts: list[int]
) -> None:
    level, firsts = sequence_starts(gold, 0.95, 0.95)
    assert level == pytest.approx(delta) and firsts == starts


def test_deeper_starts_certify_what_a_wrong_label_at_the_top_would_stop() -> None:
    # 3 wrong among the 60 most confident end the first sequence at once; with 363 gold a second
    # sequence starts where 216 lie above, and certifies 0.9 (360 of 363 right) at level 0.025.
    gold = scored([0.99] * 57 + [0.9] * 303, [0.99] * 3)
    result = choose_threshold(gold, 0.95, population=[0.99, 0.9])
    assert result.threshold == 0.9 and result.expected_coverage == 1.0


def test_nothing_certified_says_why() -> None:
    gold = scored([0.99] * 57 + [0.9] * 30, [0.99] * 3 + [0.9] * 10)
    result = choose_threshold(gold, 0.95, population=[0.99, 0.9])
    assert result.threshold is None and result.calibrated
    assert (
        result.reason == "no threshold is certified to reach precision 0.95 with probability 0.95"
    )


def test_thresholds_with_too_little_gold_are_skipped_not_failed() -> None:
    # 9 of 10 right above 0.99 would fail its test (p = 0.91); with 10 < 59 gold it is never
    # tested, so the sequence goes on to 0.9: 209 of 210 right.
    gold = scored([0.99] * 9 + [0.9] * 200, [0.99])
    assert precision_p_value(9, 10, 0.95) > 0.05
    result = choose_threshold(gold, 0.95, population=[0.99, 0.9])
    assert result.threshold == 0.9 and result.expected_precision == pytest.approx(209 / 210)
    assert result.expected_coverage == 1.0


def test_a_higher_guarantee_needs_more_evidence() -> None:
    gold = scored([0.99] * 70 + [0.5] * 10, [0.5] * 10)
    assert choose_threshold(gold, 0.95, guarantee=0.95).threshold == 0.99
    assert choose_threshold(gold, 0.95, guarantee=0.99).threshold is None  # needs 90


def test_too_little_gold_gives_advice_on_how_much_would_do() -> None:
    # 30 right at 0.9: at least 59 are needed. Smoothed, 31/32 right; that many right would
    # certify the whole population with `gold_for_precision` items above, at a third of the
    # error budget (with that much gold, up to three sequences share it).
    result = choose_threshold(scored([0.9] * 30, []), 0.95)
    assert result.threshold is None and not result.calibrated
    assert result.reason == (
        "needs at least 59 gold items above a threshold to certify precision 0.95 with "
        "probability 0.95, has 30 in all"
    )
    assert result.advice == (
        GoldAdvice(coverage=1.0, gold=gold_for_precision(31 / 32, 0.95, 1 - 0.05 / 3)),
    )


def test_advice_rows_grow_with_coverage() -> None:
    # Only rows no larger coverage beats: 0.99 (20 of 20 right, smoothed 21/22) needs more gold
    # than 0.9 (40 of 40, 41/42), so it is left out; 0.8 covers more but needs more still.
    gold = scored([0.99] * 20 + [0.9] * 20 + [0.8] * 8, [0.8] * 1)
    result = choose_threshold(gold, 0.95)
    assert result.threshold is None and result.advice is not None and len(result.advice) == 2
    coverages = [row.coverage for row in result.advice]
    golds = [row.gold for row in result.advice]
    assert coverages == sorted(coverages) and coverages[-1] == 1.0
    assert golds == sorted(golds) and golds[0] > len(gold)


def test_no_advice_when_the_gold_shows_the_target_out_of_reach() -> None:
    result = choose_threshold(scored([0.9] * 90, [0.9] * 10), 0.95)
    assert result.threshold is None and result.calibrated and result.advice is None


@pytest.mark.parametrize(
    "gold",
    [
        scored([0.9 + i / 1000 for i in range(100)], [0.5] * 20),  # certified
        scored([0.9] * 30, []),  # advice
        scored([0.99] * 20 + [0.9] * 20 + [0.8] * 8, [0.8]),  # several advice rows
        scored([0.9] * 90, [0.9] * 10),  # calibrated, nothing certified, no advice
    ],
)
def test_a_calibration_survives_its_stored_form(gold: list[tuple[float, bool]]) -> None:
    result = choose_threshold(gold, 0.95)
    assert Calibration.from_json(result.to_json()) == result
    assert Calibration.from_json(json.loads(json.dumps(result.to_json()))) == result


# -- calibrate -------------------------------------------------------------------------------

ENOUGH_RIGHT = scored([0.9] * 40, [0.5] * 10)


@pytest.mark.parametrize(
    ("pairs", "target", "gold", "method", "expected"),
    [
        # A fixed threshold with consensus: only the method and how much gold there was.
        (
            ENOUGH_RIGHT,
            None,
            50,
            "logprob",
            Calibration(None, None, None, None, 50, None, True, "logprob"),
        ),
        # Records without a confidence count as gold, not as scored pairs.
        ([], None, 7, None, Calibration(None, None, None, None, 7)),
        (scored([0.9] * 10, []), 0.9, 10, None, choose_threshold(scored([0.9] * 10, []), 0.9)),
    ],
)
def test_calibrate_without_a_threshold_to_choose(
    pairs: list[tuple[float, bool]],
    target: float | None,
    gold: int,
    method: str | None,
    expected: Calibration,
) -> None:
    assert calibrate(pairs, target, gold=gold, method=method) == expected


def test_calibrate_chooses_the_threshold_and_keeps_the_method() -> None:
    result = calibrate(ENOUGH_RIGHT, 0.9, gold=50, method="combined", guarantee=0.95)
    assert result.threshold == pytest.approx(0.9) and result.gold == 50
    assert result.confidence_method == "combined" and result.guarantee == 0.95
    # With a target, the gold counted is the scored pairs.
    assert result == calibrate(ENOUGH_RIGHT, 0.9, gold=99, method="combined")
    stored = calibrate(ENOUGH_RIGHT, 0.9, gold=50, method="logprob")
    assert Calibration.from_json(stored.to_json()) == stored
