"""Choosing an acceptance threshold from gold: the lowest one whose accepted labels reach a target
precision with statistical margin.

Pure functions over (confidence, correct) pairs. The margin is a one-sided Wilson lower bound on
the precision of the accepted set, not its point estimate: with 20 accepted gold items all right,
the point estimate says 100% but the data only support about 88% at 95% confidence. With too little
gold there is no threshold, and the caller routes conservatively.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from statistics import NormalDist

from labelwise.domain import Calibration

DEFAULT_CONFIDENCE_LEVEL = 0.95
DEFAULT_MIN_GOLD = 30


def wilson_interval(
    successes: int, n: int, *, level: float = DEFAULT_CONFIDENCE_LEVEL
) -> tuple[float, float]:
    """Two-sided Wilson score interval for a proportion; (0, 1) when there is no data."""
    if n == 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(1 - (1 - level) / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def wilson_lower_bound(successes: int, n: int, *, level: float = DEFAULT_CONFIDENCE_LEVEL) -> float:
    """One-sided lower bound: the precision the data support with probability `level`."""
    if n == 0:
        return 0.0
    return wilson_interval(successes, n, level=1 - 2 * (1 - level))[0]


def choose_threshold(
    scored: Sequence[tuple[float, bool]],
    target_precision: float,
    *,
    min_gold: int = DEFAULT_MIN_GOLD,
    level: float = DEFAULT_CONFIDENCE_LEVEL,
) -> Calibration:
    """The lowest threshold t such that the gold items with confidence >= t are right often enough
    that the Wilson lower bound of their precision reaches `target_precision`.

    `scored` holds, per gold item, the model's confidence and whether its label was right.
    Lower thresholds accept more, so the lowest passing one gives the most coverage.
    """
    n = len(scored)
    if n < min_gold:
        return Calibration(
            None,
            None,
            None,
            None,
            n,
            reason=f"needs {min_gold} gold items, has {n}",
            calibrated=False,
        )
    ranked = sorted(scored, key=lambda pair: pair[0], reverse=True)
    best: Calibration | None = None
    right = 0
    for index, (confidence, correct) in enumerate(ranked):
        right += correct
        accepted = index + 1
        # A threshold sits only where the confidence changes: ties are accepted together.
        if accepted < n and ranked[accepted][0] == confidence:
            continue
        if wilson_lower_bound(right, accepted, level=level) >= target_precision:
            best = Calibration(
                threshold=confidence,
                expected_precision=right / accepted,
                precision_interval=wilson_interval(right, accepted, level=level),
                expected_coverage=accepted / n,
                gold=n,
            )
    if best is None:
        return Calibration(
            None, None, None, 0.0, n, reason=f"no threshold reaches {target_precision} on this gold"
        )
    return best


def calibrate(
    scored: Sequence[tuple[float, bool]],
    target_precision: float | None,
    *,
    gold: int,
    method: str | None,
) -> Calibration:
    """What a version routes by, from its gold: with a target precision, the threshold that gold
    supports; without one (a fixed threshold, consensus only), just how much gold there was and
    the scoring method gold chose. `gold` counts every gold record, scored or not."""
    if target_precision is not None:
        calibration = choose_threshold(scored, target_precision)
    else:
        calibration = Calibration(None, None, None, None, gold=gold)
    return replace(calibration, confidence_method=method)
