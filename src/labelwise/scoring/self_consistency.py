"""Self-consistency: confidence from how often repeated samples give the same answer.

Used when the provider gives no log-probabilities: the model is asked again at temperature > 0
and the share of samples behind the majority answer stands in for its confidence. The stored
confidence method for these scores is `agreement` (`ConfidenceMethod.AGREEMENT`).

Everything here is a pure function of its arguments; nothing does I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence


def self_consistency(values: Sequence[Hashable]) -> tuple[Hashable, float]:
    """The majority value across samples and the share of samples that gave it.

    Ties go to the value seen first, so the result does not depend on hash order.
    """
    if not values:
        raise ValueError("self_consistency needs at least one sample")
    counts = Counter(values)  # insertion-ordered: first-seen values come first
    best, best_count = values[0], 0
    for value, count in counts.items():
        if count > best_count:
            best, best_count = value, count
    return best, best_count / len(values)


def per_label_self_consistency(
    samples: Sequence[frozenset[str]], labels: Sequence[str]
) -> tuple[frozenset[str], dict[str, float]]:
    """Per label, the majority yes/no over samples and the share agreeing with it.

    A tie counts as "no": a label is only asserted when most samples assert it.
    """
    if not samples:
        raise ValueError("per_label_self_consistency needs at least one sample")
    chosen: set[str] = set()
    shares: dict[str, float] = {}
    for label in dict.fromkeys(labels):
        yes = sum(1 for sample in samples if label in sample)
        if 2 * yes > len(samples):
            chosen.add(label)
            shares[label] = yes / len(samples)
        else:
            shares[label] = (len(samples) - yes) / len(samples)
    return frozenset(chosen), shares
