"""A dataset-error guarantee: the share of wrong final labels in a batch is at most a target with
a stated probability, however the model's confidence is calibrated.

How (after "Probably Approximately Correct Labels", Candès, Ilyas and Zrnic, 2025):

1. Each item of a batch of N is drawn into a sample independently with a known probability q
   (`in_sample`), before any label is read; reviewers label the sample first.
2. A cut c keeps the model's label on items with confidence >= c and sends the rest to review.
   Let D(c) be the number of wrong model labels at or above c in the whole batch; the final
   dataset's error is at most D(c) / N (reviewers are taken to be right).
3. The sample's wrong labels at or above c, K(c), are Binomial(D(c), q): the sampling ignores
   the labels. If D(c) exceeded the allowed E = floor(target * N), K(c) would be at least a
   Binomial(E + 1, q) variable, so a small P(Binomial(E + 1, q) <= K(c)) rejects it. The test is
   exact: no normal approximation, no assumption about the model.
4. Cuts are tested from the most confident down and testing stops at the first failure. D(c)
   only grows as c falls, so a wrong certification needs the highest cut with too many errors to
   pass its test: probability at most 1 - guarantee. The test only changes at the confidence of
   a sampled wrong label, so the certified cut sits just above the (k* + 1)-th most confident
   sampled error, k* being the most errors the test allows.

Why uniform Bernoulli sampling and the exact binomial bound, not importance weights and a
betting bound: with one known rate the count of sampled errors has an exact distribution, so
the bound is as tight as the data allow and needs no tuning; weighted sampling pays off when the
sample is a large share of the batch, which the default sample size avoids.

Pure functions, no I/O.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

from labelwise.domain import BatchGuarantee
from labelwise.scoring.bounds import binomial_cdf
from labelwise.spec import RoutingSpec

# Every sampled item is a review, and a larger sample shrinks the test's slack, so the cut falls
# lower and fewer items below it need review. The slack is the spread of the sampled-error count
# scaled back to the batch, about z * N * sqrt(target / size) wrong labels, and keeping it out
# costs reviews where the cut falls. Sample plus that cost is least near
# size = SAMPLE_SCALE * N^(2/3) / sqrt(target). Simulated batches of 500 to 100,000 items, four
# model families (calibrated, overconfident, weak, 5.5% wrong everywhere) and targets 0.02 to
# 0.1 put the best size within about 2x of it, and the reviews at this size within 3 points of
# the batch of the best size's from 1,500 items up (8 at 500 items, where few errors are allowed
# and the curve is jagged); see benchmarks/guarantees.py --sweep.
SAMPLE_SCALE = 0.4
# ... and never fewer than would see this many errors were the batch exactly at the target: the
# least with which the exact test can certify a cut at all (for guarantees up to 0.99).
SAMPLE_ERRORS = 5


def default_sample_size(population: int, target_error: float) -> int:
    """About max(SAMPLE_ERRORS / target, SAMPLE_SCALE * N^(2/3) / sqrt(target)), at most N."""
    wanted = max(
        SAMPLE_ERRORS / target_error,
        SAMPLE_SCALE * population ** (2 / 3) / math.sqrt(target_error),
    )
    return min(population, math.ceil(wanted))


def sample_rate(population: int, target_error: float, sample_size: int | None = None) -> float:
    """The probability with which each item of a batch of `population` is drawn."""
    if population <= 0:
        return 1.0
    size = sample_size if sample_size is not None else default_sample_size(population, target_error)
    return min(1.0, size / population)


def new_guarantee(routing: RoutingSpec, population: int) -> BatchGuarantee | None:
    """The guarantee a new batch of `population` items starts with under `routing`: its sample
    drawn at a known rate, no cut yet. None without a dataset-error target."""
    if routing.target_error is None or population <= 0:
        return None
    return BatchGuarantee(
        target_error=routing.target_error,
        guarantee=routing.guarantee,
        population=population,
        rate=sample_rate(population, routing.target_error, routing.sample_size),
    )


def sample_draw(item_id: int, batch_id: int) -> float:
    """A number in [0, 1) fixed by the item and batch, independent of its label and of the audit
    draw: whether an item is in the sample never changes when it is labeled or routed again."""
    digest = hashlib.blake2b(f"sample:{batch_id}:{item_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def in_sample(item_id: int, batch_id: int, rate: float) -> bool:
    return sample_draw(item_id, batch_id) < rate


@dataclass(frozen=True)
class SampledLabel:
    """A sampled item as reviewers settled it: the model's confidence (None: it gave no usable
    label, so it is never kept) and whether the model's label was wrong."""

    confidence: float | None
    wrong: bool


@dataclass(frozen=True)
class ErrorCut:
    """The certified cut, or None when no cut is: then every item goes to review."""

    cut: float | None
    # An upper bound, holding with the guarantee's probability, on the share of the batch's
    # items kept with a wrong model label at this cut (at most the target when certified).
    error_bound: float
    sampled: int
    sampled_errors_kept: int
    allowed_sampled_errors: int


def allowed_errors(population: int, target_error: float) -> int:
    """E: the most wrong labels a batch of `population` may keep and still meet the target."""
    return math.floor(target_error * population + 1e-9)


def most_sampled_errors(population: int, rate: float, target_error: float, delta: float) -> int:
    """k*: the most sampled errors kept that still reject "more than E errors kept"; -1 when even
    none would not (the sample is too small for this batch and target)."""
    too_many = allowed_errors(population, target_error) + 1
    k = -1
    while k + 1 <= too_many and binomial_cdf(k + 1, too_many, rate) <= delta:
        k += 1
    return k


def error_upper_bound(sampled_errors: int, rate: float, population: int, delta: float) -> float:
    """The largest error share D / N the sample does not rule out: the largest D with
    P(Binomial(D, rate) <= sampled_errors) > delta."""
    if rate >= 1.0:
        return sampled_errors / population if population else 0.0
    low, high = sampled_errors, population
    if binomial_cdf(sampled_errors, high, rate) > delta:
        return 1.0
    while high - low > 1:
        middle = (low + high) // 2
        if binomial_cdf(sampled_errors, middle, rate) > delta:
            low = middle
        else:
            high = middle
    return low / population if population else 0.0


def certify_cut(
    sample: Sequence[SampledLabel],
    *,
    population: int,
    rate: float,
    target_error: float,
    guarantee: float,
) -> ErrorCut:
    """The lowest cut whose kept labels meet the target with probability `guarantee`."""
    delta = 1 - guarantee
    allowed = most_sampled_errors(population, rate, target_error, delta)
    wrong_confidences = sorted(
        (s.confidence for s in sample if s.wrong and s.confidence is not None), reverse=True
    )
    if allowed < 0:
        return ErrorCut(None, 1.0, len(sample), 0, allowed)
    if allowed >= len(wrong_confidences):
        # Fewer sampled errors than the test allows: every labeled item may keep its label.
        cut, kept = 0.0, len(wrong_confidences)
    else:
        # Keep only what lies strictly above the (allowed + 1)-th most confident sampled error;
        # errors tied with it go to review with it, so fewer than `allowed` may be kept.
        cut = math.nextafter(wrong_confidences[allowed], math.inf)
        kept = sum(confidence >= cut for confidence in wrong_confidences)
    return ErrorCut(
        cut=cut,
        error_bound=error_upper_bound(kept, rate, population, delta),
        sampled=len(sample),
        sampled_errors_kept=kept,
        allowed_sampled_errors=allowed,
    )
