"""Estimates from samples drawn with known probabilities: what an audit or a guarantee sample
says about every item it was drawn from, with an interval.

Only a sample whose every item was drawn with a probability fixed before its label was read
speaks for the items it was drawn from: weighting each by 1 / probability (inverse probability
weighting) gives every item of the population its due, however unequal the draws. Items that
reviewers saw because the model was unsure are no such sample: they are the hard ones, and
would make any figure drawn from them look worse (or, weighted wrong, better) than the truth.

Two estimators:

- `ipw_proportion`: the share of a 0/1 (or [0, 1]) value, from the sample alone (Hajek's
  weighted mean). With equal probabilities and 0/1 values the sample is a binomial draw, and
  the interval is the exact Clopper-Pearson one; otherwise a normal interval from the
  linearized variance of the weighted mean under independent (Poisson) draws.
- `model_assisted_error`: the model's own guess of its error over the whole population, made
  unbiased by the sample (prediction-powered inference, Angelopoulos et al. 2023): a well
  calibrated model narrows the interval, a badly calibrated one only widens it.

Pure functions, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

from labelwise.scoring.bounds import clopper_pearson_interval

DEFAULT_LEVEL = 0.95
EXACT = "exact binomial (Clopper-Pearson)"
EXACT_EFFECTIVE = "exact binomial at the effective sample size (Kish)"
LINEARIZED = "normal, linearized variance"
MODEL_ASSISTED = "model-assisted (prediction-powered), normal"
NO_SAMPLE = "no sample"


@dataclass(frozen=True)
class Estimate:
    """A share and the interval holding it with the chosen level; `n` sampled items it rests
    on. `value` is None (and the interval [0, 1]) when there is nothing to estimate from."""

    value: float | None
    low: float
    high: float
    n: int
    method: str

    def scaled(self, factor: float) -> Estimate:
        """The same estimate of `factor` times the share: a share of a known part of the
        population, restated as a share of the whole."""
        if self.value is None:
            return Estimate(None, 0.0, factor, self.n, self.method)
        return Estimate(
            self.value * factor, self.low * factor, self.high * factor, self.n, self.method
        )


def _z(level: float) -> float:
    return NormalDist().inv_cdf(1 - (1 - level) / 2)


def _clip(x: float) -> float:
    return min(1.0, max(0.0, x))


def _check_probability(probability: float) -> None:
    if not 0.0 < probability <= 1.0:
        raise ValueError(f"an inclusion probability must be in (0, 1], got {probability}")


def ipw_proportion(
    samples: Sequence[tuple[float, float]], level: float = DEFAULT_LEVEL
) -> Estimate:
    """The population share of a value from (value in [0, 1], inclusion probability) samples:
    sum(v / pi) / sum(1 / pi), Hajek's estimator, which divides by the estimated population
    size rather than the true one, so a sample that happens to be large does not inflate it.

    Interval: exact Clopper-Pearson when every probability is the same and every value 0 or 1
    (then the count is binomial). Otherwise a normal interval from the linearized variance
    sum((1 - pi) / pi^2 * (v - estimate)^2) / (sum(1 / pi))^2, clipped to [0, 1]; the (1 - pi)
    factor is what independent draws with known probabilities give, so items drawn for sure
    add no uncertainty. When every value is the same that variance is zero and a normal
    interval would be a point: the exact interval at the effective sample size
    (sum(w))^2 / sum(w^2) stands in for it.
    """
    if not samples:
        return Estimate(None, 0.0, 1.0, 0, NO_SAMPLE)
    for value, probability in samples:
        _check_probability(probability)
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"a sampled value must be in [0, 1], got {value}")
    n = len(samples)
    binary = all(value in (0.0, 1.0) for value, _ in samples)
    if binary and len({probability for _, probability in samples}) == 1:
        successes = round(sum(value for value, _ in samples))
        low, high = clopper_pearson_interval(successes, n, level)
        return Estimate(successes / n, low, high, n, EXACT)
    weights = [1.0 / probability for _, probability in samples]
    total = sum(weights)
    estimate = sum(w * value for w, (value, _) in zip(weights, samples, strict=True)) / total
    variance = sum(
        (1.0 - probability) * w * w * (value - estimate) ** 2
        for w, (value, probability) in zip(weights, samples, strict=True)
    ) / (total * total)
    if variance == 0.0 and any(probability < 1.0 for _, probability in samples):
        # A fractional count and size are fine: the bounds are Beta quantiles all the same.
        effective = total * total / sum(w * w for w in weights)
        low, high = clopper_pearson_interval(estimate * effective, effective, level)
        return Estimate(estimate, low, high, n, EXACT_EFFECTIVE)
    half = _z(level) * math.sqrt(variance)
    return Estimate(estimate, _clip(estimate - half), _clip(estimate + half), n, LINEARIZED)


def model_assisted_error(
    population_confidences: Sequence[float],
    sample: Sequence[tuple[float, bool | float, float]],
    level: float = DEFAULT_LEVEL,
) -> Estimate:
    """The share of wrong labels among a population of kept labels, from the model's
    confidences over all of them and a sample of (confidence, wrong, inclusion probability)
    drawn from that same population:

        mean over the population of (1 - confidence)
        + (1 / N) * sum over the sample of (wrong - (1 - confidence)) / pi

    Why it is unbiased whatever the calibration: the second term is the Horvitz-Thompson
    estimate of the population's total of (wrong - (1 - confidence)), whose expectation over
    the draws is that total exactly, since each item counts 1 / pi times with probability pi.
    The model's guess cancels out in expectation and the truth remains: the sample corrects
    the model's own guess, however far off it is. The confidences only decide the width: the
    closer (1 - confidence) follows the truth, the smaller the residuals and the interval.

    Interval: normal, from the residuals' Horvitz-Thompson variance under independent draws,
    sum((1 - pi) * r^2 / pi^2) / N^2; the estimate and the interval are clipped to [0, 1] (the
    raw sum can stray outside when the model is far off and the sample small). Like any normal
    interval it is too narrow on a small sample whose residuals happen to be all alike (a model
    sure and right on every sampled item): read it beside the sample-only `ipw_proportion`.
    """
    population = len(population_confidences)
    if population == 0 or not sample:
        # Without a sample there is only the model's word, which is what is being checked.
        return Estimate(None, 0.0, 1.0, len(sample), NO_SAMPLE)
    guess = sum(1.0 - confidence for confidence in population_confidences) / population
    correction = spread = 0.0
    for confidence, wrong, probability in sample:
        _check_probability(probability)
        residual = float(wrong) - (1.0 - confidence)
        correction += residual / probability
        spread += (1.0 - probability) * residual * residual / (probability * probability)
    estimate = guess + correction / population
    half = _z(level) * math.sqrt(spread) / population
    return Estimate(
        _clip(estimate), _clip(estimate - half), _clip(estimate + half), len(sample), MODEL_ASSISTED
    )
