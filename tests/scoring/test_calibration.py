"""Threshold choice from gold, by tables of cases."""

from __future__ import annotations

import pytest

from labelwise.domain import Calibration
from labelwise.scoring.calibration import (
    calibrate,
    choose_threshold,
    wilson_interval,
    wilson_lower_bound,
)


@pytest.mark.parametrize(
    ("successes", "n", "lower"),
    [
        (20, 20, 0.881),  # all right, few: the bound stays well below 100%
        (200, 200, 0.987),
        (95, 100, 0.9011),
        (0, 10, 0.0),
        (0, 0, 0.0),
    ],
)
def test_wilson_lower_bound(successes: int, n: int, lower: float) -> None:
    assert wilson_lower_bound(successes, n) == pytest.approx(lower, abs=1e-3)


def test_wilson_interval_contains_the_estimate() -> None:
    low, high = wilson_interval(90, 100)
    assert low < 0.9 < high and (low, high) == pytest.approx((0.8256, 0.9448), abs=1e-3)


def scored(right: list[float], wrong: list[float]) -> list[tuple[float, bool]]:
    return [(c, True) for c in right] + [(c, False) for c in wrong]


def test_too_little_gold_gives_no_threshold() -> None:
    result = choose_threshold(scored([0.9] * 10, []), 0.9, min_gold=30)
    assert result.threshold is None and result.reason == "needs 30 gold items, has 10"


def test_lowest_threshold_whose_bound_reaches_the_target() -> None:
    # 100 right at 0.9-0.99, then 20 wrong at 0.5: everything above 0.5 is right.
    gold = scored([0.9 + i / 1000 for i in range(100)], [0.5] * 20)
    result = choose_threshold(gold, 0.95)
    assert result.threshold == pytest.approx(0.9)
    assert result.expected_precision == 1.0 and result.expected_coverage == pytest.approx(100 / 120)
    assert result.precision_interval is not None and result.precision_interval[0] >= 0.95


def test_the_point_estimate_alone_is_not_enough() -> None:
    # 29 of 30 right above 0.8 is 96.7%, but its lower bound is below 95%: no threshold.
    gold = scored([0.9] * 29, [0.85] + [0.1] * 10)
    result = choose_threshold(gold, 0.95)
    assert result.threshold is None and result.expected_coverage == 0.0


def test_ties_are_accepted_together() -> None:
    # A right and a wrong item share 0.7: a threshold of 0.7 takes both, never only the right
    # one. 61/61 would pass a 0.955 target, 61/62 does not, so the threshold stays at 0.99.
    gold = scored([0.99] * 60 + [0.7], [0.7] + [0.2] * 5)
    result = choose_threshold(gold, 0.955)
    assert result.threshold == pytest.approx(0.99)
    assert result.expected_precision == 1.0 and result.expected_coverage == pytest.approx(60 / 67)


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
    result = calibrate(ENOUGH_RIGHT, 0.9, gold=50, method="combined")
    assert result.threshold == pytest.approx(0.9) and result.gold == 50
    assert result.confidence_method == "combined"
    # With a target, the gold counted is the scored pairs.
    assert result == calibrate(ENOUGH_RIGHT, 0.9, gold=99, method="combined")


def test_a_calibration_survives_its_stored_form() -> None:
    result = calibrate(ENOUGH_RIGHT, 0.9, gold=50, method="logprob")
    assert Calibration.from_json(result.to_json()) == result
