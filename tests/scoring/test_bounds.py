"""The exact binomial tails and Clopper-Pearson bounds, against sums done by hand.

The reference sums are exact rational arithmetic (`math.comb` over integers), so a table row
fails on any error above rounding, in the centre of a distribution or far in its tails.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from labelwise.scoring.bounds import (
    binomial_cdf,
    binomial_sf,
    clopper_pearson_interval,
    clopper_pearson_lower,
    clopper_pearson_upper,
    regularized_beta,
)


def exact_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k), X ~ Binomial(n, p), summed term by term in integers: p = a / b exactly."""
    if k < 0:
        return 0.0
    share = Fraction(str(p))
    a, b = share.numerator, share.denominator
    total = sum(math.comb(n, i) * a**i * (b - a) ** (n - i) for i in range(min(k, n) + 1))
    return float(Fraction(total, b**n))


TABLE = [
    # Edges: below the support, at and above its top, and the degenerate p.
    (-1, 10, 0.3),
    (-5, 2000, 0.5),
    (10, 10, 0.3),
    (11, 10, 0.3),
    (0, 10, 0.0),
    (3, 10, 0.0),
    (9, 10, 1.0),
    (0, 1, 0.5),
    # Small n, by hand: P(X <= 1) for n = 2, p = 0.5 is 3/4.
    (1, 2, 0.5),
    (0, 59, 0.05),
    (2, 59, 0.05),
    (56, 59, 0.95),
    (58, 59, 0.95),
    (5, 100, 0.05),
    (95, 100, 0.95),
    (10, 100, 0.1),
    (0, 100, 0.001),
    # Far tails and the centre of large n.
    (50, 1000, 0.1),
    (150, 1000, 0.1),
    (940, 1000, 0.95),
    (1000, 2000, 0.5),
    (950, 2000, 0.5),
    (1900, 2000, 0.95),
    (1850, 2000, 0.95),
    (10, 2000, 0.01),
    (40, 2000, 0.01),
    (1999, 2000, 0.999),
]


@pytest.mark.parametrize(("k", "n", "p"), TABLE)
def test_binomial_cdf_matches_the_exact_sum(k: int, n: int, p: float) -> None:
    assert binomial_cdf(k, n, p) == pytest.approx(exact_cdf(k, n, p), rel=1e-9, abs=1e-13)


@pytest.mark.parametrize(("k", "n", "p"), TABLE)
def test_binomial_sf_is_the_upper_tail_from_k(k: int, n: int, p: float) -> None:
    assert binomial_sf(k, n, p) == pytest.approx(1 - exact_cdf(k - 1, n, p), abs=1e-12)


@pytest.mark.parametrize(
    ("k", "n", "p", "expected"),
    [
        (1, 2, 0.5, 0.75),
        (0, 3, 0.5, 0.125),
        (0, 59, 0.05, 0.95**59),
        (1, 10, 0.1, 0.9**10 + 10 * 0.1 * 0.9**9),
    ],
)
def test_binomial_cdf_small_cases_by_hand(k: int, n: int, p: float, expected: float) -> None:
    assert binomial_cdf(k, n, p) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("k", "n", "p", "expected"),
    [
        (0, 10, 0.3, 1.0),  # at least none: certain
        (-3, 10, 0.3, 1.0),
        (11, 10, 0.3, 0.0),  # more than n: impossible
        (10, 10, 0.9, 0.9**10),
        (59, 59, 0.95, 0.95**59),
        (1, 5, 0.0, 0.0),
        (5, 5, 1.0, 1.0),
    ],
)
def test_binomial_sf_edges(k: int, n: int, p: float, expected: float) -> None:
    assert binomial_sf(k, n, p) == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("x", [0.01, 0.3, 0.5, 0.77, 0.999])
def test_regularized_beta_closed_forms(x: float) -> None:
    """I_x(1, 1) = x, I_x(a, 1) = x^a, I_x(1, b) = 1 - (1 - x)^b, I_x(a, b) = 1 - I_1-x(b, a)."""
    assert regularized_beta(x, 1, 1) == pytest.approx(x, rel=1e-12)
    assert regularized_beta(x, 7, 1) == pytest.approx(x**7, rel=1e-10)
    assert regularized_beta(x, 1, 9) == pytest.approx(1 - (1 - x) ** 9, rel=1e-10)
    assert regularized_beta(x, 3.5, 40) == pytest.approx(1 - regularized_beta(1 - x, 40, 3.5))
    assert regularized_beta(0.5, 25, 25) == pytest.approx(0.5, abs=1e-12)


def test_regularized_beta_outside_the_unit_interval() -> None:
    assert regularized_beta(0.0, 2, 3) == 0.0 and regularized_beta(-1.0, 2, 3) == 0.0
    assert regularized_beta(1.0, 2, 3) == 1.0 and regularized_beta(2.0, 2, 3) == 1.0


def test_zero_of_59_upper_bound_is_the_rule_of_three_exactly() -> None:
    assert clopper_pearson_upper(0, 59, 0.05) == pytest.approx(1 - 0.05 ** (1 / 59), rel=1e-9)


@pytest.mark.parametrize("n", [1, 5, 59, 100, 1000])
@pytest.mark.parametrize("delta", [0.05, 0.01])
def test_all_right_lower_bound_is_delta_to_the_one_over_n(n: int, delta: float) -> None:
    assert clopper_pearson_lower(n, n, delta) == pytest.approx(delta ** (1 / n), rel=1e-9)
    assert clopper_pearson_upper(0, n, delta) == pytest.approx(1 - delta ** (1 / n), rel=1e-9)


@pytest.mark.parametrize(
    ("successes", "n", "expected"),
    [
        # Published exact 95% intervals.
        (10, 100, (0.0490, 0.1762)),
        (5, 10, (0.1871, 0.8129)),
        (1, 20, (0.0013, 0.2487)),
        (0, 10, (0.0, 0.3085)),
        (10, 10, (0.6915, 1.0)),
        (95, 100, (0.8872, 0.9836)),
    ],
)
def test_clopper_pearson_interval_known_values(
    successes: int, n: int, expected: tuple[float, float]
) -> None:
    assert clopper_pearson_interval(successes, n, 0.95) == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize(("successes", "n"), [(1, 20), (10, 100), (57, 59), (185, 200)])
def test_bounds_sit_where_the_tail_is_delta(successes: int, n: int) -> None:
    """The defining property: at the upper bound, `successes` or fewer has chance delta; at
    the lower bound, `successes` or more has chance delta."""
    delta = 0.05
    upper = clopper_pearson_upper(successes, n, delta)
    lower = clopper_pearson_lower(successes, n, delta)
    assert lower < successes / n < upper
    assert exact_cdf(successes, n, round(upper, 9)) == pytest.approx(delta, abs=1e-6)
    assert 1 - exact_cdf(successes - 1, n, round(lower, 9)) == pytest.approx(delta, abs=1e-6)


def test_bounds_without_data_or_at_the_edges() -> None:
    assert clopper_pearson_interval(0, 0, 0.95) == (0.0, 1.0)
    assert clopper_pearson_upper(7, 7, 0.05) == 1.0
    assert clopper_pearson_lower(0, 7, 0.05) == 0.0


def test_a_smaller_delta_widens_the_bounds() -> None:
    assert clopper_pearson_upper(3, 50, 0.01) > clopper_pearson_upper(3, 50, 0.05)
    assert clopper_pearson_lower(47, 50, 0.01) < clopper_pearson_lower(47, 50, 0.05)
