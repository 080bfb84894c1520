"""Rating measures against gold, checked against hand sums; kappa also against the textbook
confusion-matrix formula with the scale's weights."""

from __future__ import annotations

import random

import pytest

from labelwise.scoring.rating_measures import (
    Pair,
    RatingMeasures,
    exact_agreement,
    mean_absolute_error,
    quadratic_weighted_kappa,
    rating_measures,
    within_one,
)


@pytest.mark.parametrize(
    ("pairs", "exact", "near", "mae"),
    [
        ([(3, 3)], 1.0, 1.0, 0.0),
        ([(1, 1), (2, 4), (5, 4), (3, 1)], 0.25, 0.5, 1.25),
        ([(0, 10), (10, 0)], 0.0, 0.0, 10.0),
        ([(-1, -2), (-2, -2), (2, -2)], 1 / 3, 2 / 3, 5 / 3),
    ],
)
def test_agreement_and_error(pairs: list[Pair], exact: float, near: float, mae: float) -> None:
    assert exact_agreement(pairs) == pytest.approx(exact)
    assert within_one(pairs) == pytest.approx(near)
    assert mean_absolute_error(pairs) == pytest.approx(mae)


@pytest.mark.parametrize(
    ("pairs", "kappa"),
    [
        pytest.param([(1, 1), (2, 2), (3, 3)], 1.0, id="perfect"),
        # observed 2, n 4, by chance 4*18 + 4*18 - 2*8*8 = 16: 1 - 4*2/16.
        pytest.param([(1, 1), (2, 2), (3, 2), (2, 3)], 0.5, id="neighbours-swapped"),
        # observed 2, by chance 2: 1 - 2*2/2.
        pytest.param([(1, 2), (2, 1)], -1.0, id="always-swapped"),
        # One rating for everything: observed 2, by chance 3*12 + 3*14 - 2*6*6 = 6: chance.
        pytest.param([(2, 1), (2, 2), (2, 3)], 0.0, id="constant-rating-is-chance"),
        # Misses two points away: observed 4 + 4, by chance 3*11 + 3*11 - 2*5*5 = 16.
        pytest.param([(1, 1), (1, 3), (3, 1)], 1 - 3 * 8 / 16, id="far-misses"),
    ],
)
def test_quadratic_weighted_kappa(pairs: list[Pair], kappa: float) -> None:
    assert quadratic_weighted_kappa(pairs) == pytest.approx(kappa)


def _textbook_kappa(pairs: list[Pair], low: int, high: int) -> float:
    """1 - sum(w * O) / sum(w * E) over the scale's confusion matrix, w = (i-j)^2 / (k-1)^2."""
    k = high - low + 1
    n = len(pairs)
    observed = [[0.0] * k for _ in range(k)]
    for value, truth in pairs:
        observed[value - low][truth - low] += 1 / n
    rows = [sum(row) for row in observed]
    cols = [sum(observed[i][j] for i in range(k)) for j in range(k)]
    weight = [[(i - j) ** 2 / (k - 1) ** 2 for j in range(k)] for i in range(k)]
    w_observed = sum(weight[i][j] * observed[i][j] for i in range(k) for j in range(k))
    w_expected = sum(weight[i][j] * rows[i] * cols[j] for i in range(k) for j in range(k))
    return 1 - w_observed / w_expected


@pytest.mark.parametrize("seed", range(5))
def test_kappa_is_the_textbook_formula_whatever_the_scale(seed: int) -> None:
    rng = random.Random(seed)
    pairs = [(rng.randint(1, 5), rng.randint(1, 5)) for _ in range(40)]
    pairs += [(t, t) for _, t in pairs[:10]]  # some agreement
    for low, high in [(1, 5), (0, 10), (-3, 7)]:
        assert quadratic_weighted_kappa(pairs) == pytest.approx(_textbook_kappa(pairs, low, high))


def test_nothing_to_measure() -> None:
    assert rating_measures([]) == RatingMeasures(0, None, None, None, None)
    # Every rating and every gold score the same: chance agrees perfectly, kappa is undefined.
    assert quadratic_weighted_kappa([(3, 3), (3, 3)]) is None


def test_all_measures_at_once() -> None:
    pairs = [(1, 1), (2, 2), (3, 2), (2, 3)]
    assert rating_measures(pairs) == RatingMeasures(4, 0.5, 1.0, 0.5, pytest.approx(0.5))
