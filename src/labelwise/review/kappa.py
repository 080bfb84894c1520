"""Agreement between reviewers: Cohen's kappa for two, Fleiss' kappa for more, per label and
overall. Pure functions over the categories each reviewer gave each item.

Kappa is the agreement beyond what chance would give: 1 is perfect, 0 is chance, below 0 worse.
None when it is undefined (no items, or every rating in one category so chance agreement is 1).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence


def cohen_kappa(pairs: Sequence[tuple[Hashable, Hashable]]) -> float | None:
    """Two ratings per item: the first and the second reviewer's."""
    n = len(pairs)
    if n == 0:
        return None
    observed = sum(a == b for a, b in pairs) / n
    first = Counter(a for a, _ in pairs)
    second = Counter(b for _, b in pairs)
    expected = sum(first[c] * second[c] for c in first.keys() | second.keys()) / (n * n)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


def fleiss_kappa(ratings: Sequence[Sequence[Hashable]]) -> float | None:
    """Each item's ratings, the same number for every item (reviewers may differ per item)."""
    items = [list(r) for r in ratings if len(r) >= 2]
    if not items:
        return None
    m = len(items[0])
    items = [r for r in items if len(r) == m]
    n = len(items)
    totals: Counter[Hashable] = Counter()
    agreement = 0.0
    for rated in items:
        counts = Counter(rated)
        totals.update(counts)
        agreement += (sum(c * c for c in counts.values()) - m) / (m * (m - 1))
    observed = agreement / n
    expected = sum((total / (n * m)) ** 2 for total in totals.values())
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


def kappa(ratings: Sequence[Sequence[Hashable]]) -> float | None:
    """Cohen's for two ratings an item, Fleiss' for more."""
    if ratings and all(len(r) == 2 for r in ratings):
        return cohen_kappa([(r[0], r[1]) for r in ratings])
    return fleiss_kappa(ratings)


def per_label_kappa(
    ratings: Sequence[Sequence[frozenset[str]]], labels: Sequence[str]
) -> dict[str, float | None]:
    """For each label, agreement on whether it applies (one label against the rest; for
    multi-label items, each label is its own yes/no question)."""
    return {
        label: kappa([[label in given for given in item] for item in ratings]) for label in labels
    }
