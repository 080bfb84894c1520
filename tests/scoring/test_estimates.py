"""Estimates from samples with known probabilities, against values computed by hand, and their
unbiasedness checked over many draws from a population whose truth is known."""

from __future__ import annotations

import math
import random

import pytest

from labelwise.scoring.estimates import (
    EXACT,
    EXACT_EFFECTIVE,
    LINEARIZED,
    MODEL_ASSISTED,
    NO_SAMPLE,
    Estimate,
    ipw_proportion,
    model_assisted_error,
)

Z = 1.959963984540054  # the normal quantile of 0.975


@pytest.mark.parametrize(
    ("samples", "expected"),
    [
        # Equal probabilities, 0/1 values: binomial, exact Clopper-Pearson (textbook values).
        ([(1.0, 0.1)] * 3 + [(0.0, 0.1)] * 7, (0.3, 0.066739, 0.652453, EXACT)),
        ([(0.0, 0.5)] * 10, (0.0, 0.0, 1 - 0.025 ** (1 / 10), EXACT)),
        ([(1.0, 0.5)] * 10, (1.0, 0.025 ** (1 / 10), 1.0, EXACT)),
        # Weights 2, 2, 4, 1: estimate 6 / 9; variance (0.5*4/9 + 0.5*4*4/9 + 0.75*16/9) / 81.
        (
            [(1.0, 0.5), (0.0, 0.5), (1.0, 0.25), (0.0, 1.0)],
            (2 / 3, 2 / 3 - Z * math.sqrt(22 / 729), 1.0, LINEARIZED),
        ),
        # Items drawn for sure add no variance: only the third, weight 2, residual 1/4.
        (
            [(1.0, 1.0), (0.0, 1.0), (1.0, 0.5)],
            (0.75, 0.75 - Z * math.sqrt(1 / 128), 0.75 + Z * math.sqrt(1 / 128), LINEARIZED),
        ),
        # Values in between are weighted means, not counts: linearized even at equal weights.
        ([(0.5, 0.5), (1.0, 0.5)], (0.75, 0.75 - Z * 0.125, 0.75 + Z * 0.125, LINEARIZED)),
        # All alike under unequal weights 2, 4, 2: exact at the effective size 64 / 24.
        ([(0.0, 0.5), (0.0, 0.25), (0.0, 0.5)], (0.0, 0.0, 1 - 0.025 ** (3 / 8), EXACT_EFFECTIVE)),
        ([], (None, 0.0, 1.0, NO_SAMPLE)),
    ],
)
def test_ipw_proportion(
    samples: list[tuple[float, float]], expected: tuple[float | None, float, float, str]
) -> None:
    value, low, high, method = expected
    estimate = ipw_proportion(samples, 0.95)
    assert estimate.method == method
    assert estimate.n == len(samples)
    if value is None:
        assert estimate.value is None
    else:
        assert estimate.value == pytest.approx(value)
    assert estimate.low == pytest.approx(low, abs=1e-6)
    assert estimate.high == pytest.approx(high, abs=1e-6)


@pytest.mark.parametrize("bad", [[(1.0, 0.0)], [(1.0, 1.5)], [(1.2, 0.5)], [(-0.1, 0.5)]])
def test_ipw_proportion_refuses_what_is_not_a_sample(bad: list[tuple[float, float]]) -> None:
    with pytest.raises(ValueError):
        ipw_proportion(bad)


@pytest.mark.parametrize(
    ("population", "sample", "expected"),
    [
        # Guess 0.1 each; residuals -0.1 and 0.9 at pi 0.5: 0.1 + (-0.2 + 1.8) / 10 = 0.26;
        # variance 0.5 * (0.01 + 0.81) / 0.25 / 100.
        (
            [0.9] * 10,
            [(0.9, False, 0.5), (0.9, True, 0.5)],
            (0.26, 0.26 - Z * math.sqrt(1.64) / 10, 0.26 + Z * math.sqrt(1.64) / 10),
        ),
        # A census: the estimate is the truth (one wrong of two) with no width, whatever the
        # model guessed (0.15 here).
        ([0.9, 0.8], [(0.9, True, 1.0), (0.8, False, 1.0)], (0.5, 0.5, 0.5)),
        # A guess far below the truth, corrected to 0.01 + 3.96 / 2 = 1.99 and clipped; the
        # half-width, 1.96 * sqrt(0.75 * 0.99^2 / 0.25^2) / 2 = 3.36, reaches past 0.
        ([0.99] * 2, [(0.99, True, 0.25)], (1.0, 0.0, 1.0)),
    ],
)
def test_model_assisted_error(
    population: list[float],
    sample: list[tuple[float, bool, float]],
    expected: tuple[float, float, float],
) -> None:
    estimate = model_assisted_error(population, sample, 0.95)
    value, low, high = expected
    assert estimate.method == MODEL_ASSISTED and estimate.n == len(sample)
    assert estimate.value == pytest.approx(value)
    assert estimate.low == pytest.approx(max(0.0, low), abs=1e-9)
    assert estimate.high == pytest.approx(high, abs=1e-9)


def test_model_assisted_error_needs_a_population_and_a_sample() -> None:
    assert model_assisted_error([], [(0.9, True, 0.5)]).value is None
    nothing_checked = model_assisted_error([0.9, 0.8], [])
    assert nothing_checked.value is None and nothing_checked.method == NO_SAMPLE
    with pytest.raises(ValueError):
        model_assisted_error([0.9], [(0.9, True, 0.0)])


def test_scaled_restates_a_share_of_a_part_as_a_share_of_the_whole() -> None:
    assert Estimate(0.1, 0.05, 0.2, 30, EXACT).scaled(0.5) == Estimate(0.05, 0.025, 0.1, 30, EXACT)
    assert Estimate(None, 0.0, 1.0, 0, NO_SAMPLE).scaled(0.25).high == 0.25


def _population(rng: random.Random, size: int) -> list[tuple[float, bool, float]]:
    """(confidence, wrong, inclusion probability): confident items are mostly right, the model
    is overconfident (it guesses half the errors there are), and the unsure items are drawn
    ten times as often as the sure ones, as a sample weighted toward doubt would be."""
    population = []
    for _ in range(size):
        confidence = rng.uniform(0.5, 1.0)
        wrong = rng.random() < 2 * (1 - confidence)
        probability = 0.5 if confidence < 0.75 else 0.05
        population.append((confidence, wrong, probability))
    return population


def test_weighted_estimates_are_unbiased_where_the_plain_mean_is_not() -> None:
    rng = random.Random(7)
    population = _population(rng, 2000)
    truth = sum(wrong for _, wrong, _ in population) / len(population)
    confidences = [confidence for confidence, _, _ in population]
    ipw, assisted, plain, covered = [], [], [], 0
    for _ in range(300):
        drawn = [item for item in population if rng.random() < item[2]]
        ipw.append(ipw_proportion([(float(w), p) for _, w, p in drawn]).value)
        estimate = model_assisted_error(confidences, drawn)
        assisted.append(estimate.value)
        covered += estimate.low <= truth <= estimate.high
        plain.append(sum(w for _, w, _ in drawn) / len(drawn))
    mean = sum(ipw) / len(ipw)
    assert mean == pytest.approx(truth, abs=0.01)
    assert sum(assisted) / len(assisted) == pytest.approx(truth, abs=0.01)
    # The unsure, often wrong items are over-represented: unweighted, the error looks doubled.
    assert sum(plain) / len(plain) > truth + 0.1
    # A model that guesses half the errors still gets intervals that hold the truth.
    assert covered / 300 >= 0.9
