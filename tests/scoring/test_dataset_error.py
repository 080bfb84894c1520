"""The dataset-error guarantee's pieces, against cases small enough to work out by hand."""

from __future__ import annotations

import math

import pytest

from labelwise.scoring.bounds import binomial_sf, clopper_pearson_upper
from labelwise.scoring.dataset_error import (
    SAMPLE_ERRORS,
    SAMPLE_SCALE,
    SampledLabel,
    allowed_errors,
    certify_cut,
    default_sample_size,
    error_upper_bound,
    in_sample,
    most_sampled_errors,
    sample_rate,
)


@pytest.mark.parametrize(
    ("population", "target", "allowed"),
    [
        (1000, 0.05, 50),
        (1500, 0.05, 75),
        (100, 0.29, 29),  # 0.29 * 100 is 28.999999999999996 in floats
        (100, 0.07, 7),  # ... and 0.07 * 100 is 7.000000000000001
        (10, 0.05, 0),
        (0, 0.05, 0),
    ],
)
def test_allowed_errors(population: int, target: float, allowed: int) -> None:
    assert allowed_errors(population, target) == allowed


@pytest.mark.parametrize(
    ("population", "rate", "target", "delta", "most"),
    [
        # E = 1, so 2 errors kept break the target. P(Bin(2, q) = 0) = (1 - q)^2: 0.04 at
        # q = 0.8 rejects with no sampled error; 0.09 at q = 0.7 cannot reject at all.
        (20, 0.8, 0.05, 0.05, 0),
        (20, 0.7, 0.05, 0.05, -1),
        (20, 1.0, 0.05, 0.05, 1),  # everything sampled: the count is exact
        # E = 10 at q = 1/2: P(Bin(11, 1/2) <= k) is 1, 12, 67, 232 out of 2048 for k = 0..3.
        (100, 0.5, 0.1, 0.05, 2),
        (100, 0.5, 0.1, 0.03, 1),
        (100, 0.5, 0.1, 0.0004, -1),
        (100, 0.5, 0.1, 0.0005, 0),
    ],
)
def test_most_sampled_errors(
    population: int, rate: float, target: float, delta: float, most: int
) -> None:
    assert most_sampled_errors(population, rate, target, delta) == most


@pytest.mark.parametrize(
    ("sampled_errors", "rate", "population", "bound"),
    [
        # No sampled error at q = 1/2: D = 4 still has 1/16 > 0.05 of showing none, D = 5 not.
        (0, 0.5, 100, 0.04),
        # 2 sampled errors: P(Bin(10, 1/2) <= 2) = 56/1024 > 0.05 > P(Bin(11, 1/2) <= 2).
        (2, 0.5, 100, 0.10),
        (3, 1.0, 100, 0.03),  # everything sampled: the observed share
        (0, 0.01, 10, 1.0),  # a tiny sample rules nothing out
    ],
)
def test_error_upper_bound(sampled_errors: int, rate: float, population: int, bound: float) -> None:
    assert error_upper_bound(sampled_errors, rate, population, 0.05) == pytest.approx(bound)


def test_the_bound_and_the_allowed_count_agree() -> None:
    """At k* sampled errors the bound is at most the target; at k* + 1 it is above."""
    for population, rate, target in [(100, 0.5, 0.1), (2000, 0.1, 0.05), (20000, 0.03, 0.02)]:
        most = most_sampled_errors(population, rate, target, 0.05)
        assert error_upper_bound(most, rate, population, 0.05) <= target
        assert error_upper_bound(most + 1, rate, population, 0.05) > target


def wrong_at(*confidences: float | None) -> list[SampledLabel]:
    return [SampledLabel(c, True) for c in confidences]


RIGHT = [SampledLabel(0.97, False)] * 40


def test_the_cut_sits_just_above_the_first_error_too_many() -> None:
    # N = 100, target 0.1, q = 1/2: k* = 2, so the third most confident sampled error (0.9)
    # and everything at or below it goes to review.
    sample = wrong_at(0.99, 0.95, 0.9, 0.8, 0.6) + RIGHT
    result = certify_cut(sample, population=100, rate=0.5, target_error=0.1, guarantee=0.95)
    assert result.cut == math.nextafter(0.9, math.inf)
    assert result.sampled == 45 and result.sampled_errors_kept == 2
    assert result.allowed_sampled_errors == 2 and result.error_bound == pytest.approx(0.1)


def test_tied_errors_go_to_review_together() -> None:
    sample = wrong_at(0.99, 0.9, 0.9, 0.9) + RIGHT
    result = certify_cut(sample, population=100, rate=0.5, target_error=0.1, guarantee=0.95)
    assert result.cut is not None and 0.9 < result.cut < 0.99
    # One error kept, not k* = 2: P(Bin(7, 1/2) <= 1) = 8/128 > 0.05 > P(Bin(8, 1/2) <= 1).
    assert result.sampled_errors_kept == 1 and result.error_bound == pytest.approx(0.07)


@pytest.mark.parametrize(
    ("errors", "kept", "bound"), [(wrong_at(0.99, 0.95), 2, 0.1), ([], 0, 0.04)]
)
def test_every_label_is_kept_when_the_sample_shows_few_errors(
    errors: list[SampledLabel], kept: int, bound: float
) -> None:
    result = certify_cut(errors + RIGHT, population=100, rate=0.5, target_error=0.1, guarantee=0.95)
    assert result.cut == 0.0 and result.sampled_errors_kept == kept
    assert result.error_bound == pytest.approx(bound)


def test_an_error_without_a_confidence_is_never_kept_so_never_counted() -> None:
    sample = wrong_at(None, None, None, 0.95) + RIGHT
    result = certify_cut(sample, population=100, rate=0.5, target_error=0.1, guarantee=0.95)
    assert result.cut == 0.0 and result.sampled_errors_kept == 1


def test_no_cut_when_the_sample_is_too_small_to_certify_anything() -> None:
    result = certify_cut(RIGHT, population=20, rate=0.7, target_error=0.05, guarantee=0.95)
    assert result.cut is None and result.error_bound == 1.0
    assert result.allowed_sampled_errors == -1 and result.sampled == 40


def test_in_sample_is_fixed_by_item_and_batch() -> None:
    drawn = [in_sample(item, 7, 0.1) for item in range(2000)]
    assert drawn == [in_sample(item, 7, 0.1) for item in range(2000)]
    assert drawn != [in_sample(item, 8, 0.1) for item in range(2000)]
    # A larger rate keeps every item a smaller one drew: the draw is one number per item.
    assert all(in_sample(item, 7, 0.2) for item in range(2000) if drawn[item])


@pytest.mark.parametrize("rate", [0.01, 0.1, 0.5])
def test_in_sample_share_matches_the_rate(rate: float) -> None:
    n = 20_000
    hits = sum(in_sample(item, 3, rate) for item in range(n))
    # Both tails at 99.9%: a biased draw fails, an honest one almost never does.
    assert binomial_sf(hits, n, rate) > 0.0005
    assert clopper_pearson_upper(hits, n, 0.0005) >= rate
    assert in_sample(1, 3, 1.0) and not in_sample(1, 3, 0.0)


def test_sample_rate() -> None:
    assert sample_rate(0, 0.05) == 1.0
    assert sample_rate(1000, 0.05, 100) == 0.1
    assert sample_rate(50, 0.05, 100) == 1.0
    assert sample_rate(20_000, 0.05) == default_sample_size(20_000, 0.05) / 20_000


@pytest.mark.parametrize(
    ("population", "target", "size"),
    [
        (100, 0.05, 100),  # the whole batch
        (500, 0.05, 113),
        (1_500, 0.05, 235),
        (20_000, 0.05, 1_319),
        (100_000, 0.05, 3_854),
        (500, 0.02, 250),  # the floor: SAMPLE_ERRORS / target
        (20_000, 0.1, 932),
    ],
)
def test_default_sample_size(population: int, target: float, size: int) -> None:
    assert default_sample_size(population, target) == size
    expected = max(SAMPLE_ERRORS / target, SAMPLE_SCALE * population ** (2 / 3) / target**0.5)
    assert size == min(population, math.ceil(expected))
