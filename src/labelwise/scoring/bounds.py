"""Exact binomial tails and the confidence bounds built on them.

Every guarantee labelwise gives rests on these: a p-value is the chance, were the promise false,
of seeing data this good; a bound is the worst value the data still allow. They are exact (no
normal approximation), because the normal approximation is worst exactly where labeling lives:
proportions near 0 or 1 on a few hundred items.

The binomial CDF is the regularized incomplete beta function, computed by its continued fraction
(Lentz's method), so a tail over 20,000 gold items costs a few dozen steps, not 20,000 terms.
"""

from __future__ import annotations

import math

_EPS = 1e-15
_TINY = 1e-300
_MAX_STEPS = 400


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (converges for x < (a+1)/(a+b+2))."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, _MAX_STEPS + 1):
        m2 = 2 * m
        for numerator in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            h *= d * c
        if abs(d * c - 1.0) < _EPS:
            break
    return h


def regularized_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b): the CDF at x of a Beta(a, b) variable."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, 1.0 - x) / b


def binomial_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0
    return regularized_beta(1.0 - p, n - k, k + 1)


def binomial_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p)."""
    return 1.0 - binomial_cdf(k - 1, n, p) if k > 0 else 1.0


def clopper_pearson_upper(successes: int, n: int, delta: float) -> float:
    """The largest proportion the data do not rule out at level `delta` (one-sided): the p at
    which seeing `successes` or fewer out of `n` has chance exactly `delta`."""
    if n == 0 or successes >= n:
        return 1.0
    low, high = successes / n, 1.0
    for _ in range(60):
        middle = (low + high) / 2
        if binomial_cdf(successes, n, middle) > delta:
            low = middle
        else:
            high = middle
    return high


def clopper_pearson_lower(successes: int, n: int, delta: float) -> float:
    """The smallest proportion the data do not rule out at level `delta` (one-sided)."""
    if n == 0 or successes <= 0:
        return 0.0
    return 1.0 - clopper_pearson_upper(n - successes, n, delta)


def clopper_pearson_interval(successes: int, n: int, level: float) -> tuple[float, float]:
    """Two-sided exact interval holding the true proportion with probability at least `level`."""
    delta = (1.0 - level) / 2
    return clopper_pearson_lower(successes, n, delta), clopper_pearson_upper(successes, n, delta)
