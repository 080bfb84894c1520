"""Generic model families and single simulated runs of the two guarantees, for
`benchmarks/guarantees.py`.

A family is a confidence distribution and a precision-vs-confidence curve, not a fit to any data
set: the stated error e = 1 - confidence is `spread * U**shape` (U uniform, so a larger shape puts
more items near confidence 1), and a label is wrong with probability `floor + slope * e`. With
these two lines the true precision of every region "confidence >= t" has a closed form, so a
certified threshold is judged against the truth itself, not against another noisy sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from labelwise.scoring.calibration import choose_threshold
from labelwise.scoring.dataset_error import SampledLabel, certify_cut, sample_rate


@dataclass(frozen=True)
class Family:
    name: str
    spread: float
    shape: float
    floor: float
    slope: float
    about: str

    def draw(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(confidences, wrong) for `n` items."""
        stated = self.spread * rng.random(n) ** self.shape
        wrong = rng.random(n) < np.minimum(1.0, self.floor + self.slope * stated)
        return 1.0 - stated, wrong

    def precision_above(self, threshold: float) -> float:
        """The exact precision of the labels with confidence >= threshold (E[U^s | U <= u] is
        u^s / (s + 1), so the mean stated error below x is x / (shape + 1))."""
        reach = min(max(1.0 - threshold, 0.0), self.spread)
        return 1.0 - self.floor - self.slope * reach / (self.shape + 1)

    def coverage_above(self, threshold: float) -> float:
        reach = min(max(1.0 - threshold, 0.0), self.spread)
        return (reach / self.spread) ** (1 / self.shape)


FAMILIES = {
    f.name: f
    for f in (
        Family("calibrated", 0.5, 3.0, 0.0, 1.0, "wrong as often as it says (12.5% in all)"),
        Family(
            "overconfident",
            0.1,
            2.0,
            0.02,
            3.0,
            "says 0.90-1.00; wrong 2% + 3x what it says: at 0.99 it is right 95% (12% wrong)",
        ),
        Family("weak", 0.5, 1.0, 0.10, 0.4, "confidence barely tells: 10-30% wrong (20% in all)"),
        Family("flat", 0.5, 1.0, 0.055, 0.0, "5.5% wrong at every confidence"),
    )
}


# -- precision: gold certifies a threshold ---------------------------------------------------


def old_scan(confidences: np.ndarray, correct: np.ndarray, target: float) -> float | None:
    """The previous rule, for comparison: the lowest confidence whose gold above has a one-sided
    95% Wilson lower bound >= target (at least 30 gold items)."""
    order = np.argsort(-confidences, kind="stable")
    ranked, right = confidences[order], np.cumsum(correct[order])
    n = np.arange(1, len(ranked) + 1)
    z = NormalDist().inv_cdf(0.95)
    p = right / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    passing = np.flatnonzero((centre - half >= target) & (n >= 30))
    return float(ranked[passing[-1]]) if len(passing) else None


def precision_run(
    family: Family,
    rng: np.random.Generator,
    *,
    gold: int,
    held: int,
    target: float,
    guarantee: float,
) -> dict[str, float | bool | None]:
    """One gold set certifies a threshold (the grid from held-back items' confidences); the
    held-back items, whose truth calibration never sees, measure what it delivered."""
    gold_conf, gold_wrong = family.draw(rng, gold)
    held_conf, held_wrong = family.draw(rng, held)
    scored = list(zip(gold_conf.tolist(), (~gold_wrong).tolist(), strict=True))
    calibration = choose_threshold(
        scored, target, guarantee=guarantee, population=held_conf.tolist()
    )
    threshold = calibration.threshold
    kept = held_conf >= threshold if threshold is not None else np.zeros(held, dtype=bool)
    return {
        "coverage": float(kept.mean()),
        "held_precision": float(1 - held_wrong[kept].mean()) if kept.any() else None,
        "violated": threshold is not None and family.precision_above(threshold) < target,
        "hindsight_coverage": hindsight_coverage(held_conf, held_wrong, target),
    }


def hindsight_coverage(confidences: np.ndarray, wrong: np.ndarray, target: float) -> float:
    """The share the lowest threshold whose held-back precision reaches the target accepts."""
    order = np.argsort(-confidences, kind="stable")
    precision = 1 - np.cumsum(wrong[order]) / np.arange(1, len(order) + 1)
    passing = np.flatnonzero(precision >= target)
    return float((passing[-1] + 1) / len(order)) if len(passing) else 0.0


def flat_case_run(
    rng: np.random.Generator, *, gold: int, target: float, guarantee: float
) -> tuple[bool, bool]:
    """(new test certified something, old scan did) on one gold set from the flat family, where
    any accepted set is below target: every certification is a violation."""
    family = FAMILIES["flat"]
    conf, wrong = family.draw(rng, gold)
    scored = list(zip(conf.tolist(), (~wrong).tolist(), strict=True))
    new = choose_threshold(scored, target, guarantee=guarantee).threshold is not None
    return new, old_scan(conf, ~wrong, target) is not None


# -- dataset error: a uniform sample certifies a cut ----------------------------------------


def error_run(
    family: Family,
    rng: np.random.Generator,
    *,
    population: int,
    target: float,
    guarantee: float,
    sample_size: int | None = None,
) -> dict[str, float | bool]:
    """One batch: draw the sample, certify a cut on it, and measure the final dataset (sampled
    and below-cut items reviewed, and taken to be right)."""
    conf, wrong = family.draw(rng, population)
    rate = sample_rate(population, target, sample_size)
    sampled = rng.random(population) < rate
    sample = [
        SampledLabel(c, w)
        for c, w in zip(conf[sampled].tolist(), wrong[sampled].tolist(), strict=True)
    ]
    cut = certify_cut(
        sample, population=population, rate=rate, target_error=target, guarantee=guarantee
    ).cut
    kept = ~sampled & (conf >= cut) if cut is not None else np.zeros(population, dtype=bool)
    error = float((wrong & kept).sum() / population)
    return {
        "error": error,
        "violated": error > target,
        "reviews": float(1 - kept.mean()),
        "hindsight_reviews": hindsight_reviews(conf, wrong, target),
    }


def hindsight_reviews(confidences: np.ndarray, wrong: np.ndarray, target: float) -> float:
    """The fewest reviews, as a share: review the least confident items first until the kept
    labels' wrong ones are at most target * N."""
    order = np.argsort(-confidences, kind="stable")
    allowed = math.floor(target * len(order) + 1e-9)
    kept = int(np.searchsorted(np.cumsum(wrong[order]), allowed, side="right"))
    return 1 - kept / len(order)
