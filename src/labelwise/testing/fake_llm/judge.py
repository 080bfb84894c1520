"""What the fake model "believes" about an item: a pure function of the seed and the item text.

This module owns the beliefs (`Judge`: the distribution over an enum's values, P(true) for a
boolean property) and the stable hashing everything deterministic in the fake derives from.
It knows nothing of tokens, schemas or HTTP.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

# No probability may be 0: log(0) is -inf, which is not valid JSON.
_FLOOR = 1e-6


def stable_seed(*parts: object) -> int:
    """A stable 64-bit number: Python's own hash() is salted per process, this is not."""
    data = "\x1f".join(str(part) for part in parts).encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


def _unit(*parts: object) -> float:
    """A stable number in [0, 1)."""
    return stable_seed(*parts) / 2**64


@lru_cache(maxsize=8192)
def _word_pattern(value: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)" + re.escape(value) + r"(?!\w)", re.IGNORECASE)


def mentions(text: str, word: str) -> bool:
    """Whether `word` appears in `text` as a whole word, ignoring case. The plain substring
    test first: most labels are not in most texts, and it is many times cheaper than the
    case-blind regex over a document."""
    if not word or word.casefold() not in text.casefold():
        return False
    return _word_pattern(word).search(text) is not None


def normalised(probs: list[float]) -> list[float]:
    probs = [max(p, _FLOOR) for p in probs]
    total = sum(probs)
    return [p / total for p in probs]


def spread(mass: float, weights: list[float], indices: Sequence[int]) -> dict[int, float]:
    """`mass` shared over `indices` in proportion to their weights."""
    total = sum(weights[i] for i in indices)
    return {i: mass * weights[i] / total for i in indices}


class Judge:
    """The fake model's beliefs about one item: deterministic in (seed, text, accuracy_hint,
    confidence_spread).

    A value named in the text (as a word) gets `accuracy_hint` of the mass, less up to
    `confidence_spread` drawn per item, so answers are informative and confidences mean something
    and vary; otherwise a hash picks a favourite with moderate mass, so unclear items look
    unclear.
    """

    def __init__(
        self, text: str, *, seed: int, accuracy_hint: float, confidence_spread: float = 0.0
    ) -> None:
        self.text = text
        self.seed = seed
        self.accuracy_hint = min(max(accuracy_hint, 0.0), 1.0)
        self.confidence_spread = min(max(confidence_spread, 0.0), self.accuracy_hint)
        # Hash the (possibly long) text once; everything else derives from this key.
        self._key = f"{seed}:{stable_seed(seed, text):016x}"
        self._enums: dict[tuple[str, ...], list[float]] = {}
        # What the other answer shapes work out once per item (entities, fields): the n samples
        # of a request share one judge.
        self.memo: dict[object, Any] = {}

    def unit(self, *parts: object) -> float:
        """A stable number in [0, 1) for this item and `parts`."""
        return _unit(self._key, *parts)

    def named_mass(self) -> float:
        """The mass an answer the text names gets: the hint, less this item's draw of the spread
        (squared: most named items are confident, as most of a real model's answers are)."""
        return self.accuracy_hint - self.confidence_spread * _unit(self._key, "spread") ** 2

    def enum_distribution(self, values: Sequence[str]) -> list[float]:
        """P(value) for each of `values` (distinct), in their order."""
        key = tuple(values)
        cached = self._enums.get(key)
        if cached is None:
            cached = self._enums[key] = normalised(self._enum_probs(key))
        return cached

    def _enum_probs(self, values: tuple[str, ...]) -> list[float]:
        n = len(values)
        if n == 1:
            return [1.0]
        matched = [i for i, value in enumerate(values) if mentions(self.text, value)]
        if matched and len(matched) == n:
            return [1.0 / n] * n
        weights = [0.5 + _unit(self._key, "w", value) for value in values]
        if matched:
            hint = self.named_mass()
            named = dict.fromkeys(matched, hint / len(matched))
            rest = [i for i in range(n) if i not in named]
            probs = {**named, **spread(1.0 - hint, weights, rest)}
        else:
            favourite = stable_seed(self._key, "favourite", *values) % n
            # With two values 0.45 would not even be the favourite.
            lower = max(0.45, 1.0 / n + 0.05)
            mass = lower + (0.7 - lower) * _unit(self._key, "mass", *values)
            rest = [i for i in range(n) if i != favourite]
            probs = {favourite: mass, **spread(1.0 - mass, weights, rest)}
        return [probs[i] for i in range(n)]

    def focused(
        self, values: Sequence[str], chosen: Sequence[int], mass: float, *salt: object
    ) -> list[float]:
        """`mass` shared by the values at `chosen`, the rest spread over the others by weights
        drawn per item (and `salt`); normalised, no value at 0."""
        n = len(values)
        rest = [i for i in range(n) if i not in chosen]
        if not rest:
            return normalised([1.0] * n)
        if not chosen:
            mass = 0.0
        weights = [0.5 + self.unit("w", *salt, value) for value in values]
        probs = {**dict.fromkeys(chosen, mass / max(len(chosen), 1))}
        probs.update(spread(1.0 - mass, weights, rest))
        return normalised([probs[i] for i in range(n)])

    def true_probability(self, name: str) -> float:
        """P(true) for the boolean property `name` (a multi-label label)."""
        if mentions(self.text, name):
            p = self.accuracy_hint
        else:
            p = 1.0 - (0.6 + 0.35 * _unit(self._key, "bool", name))
        return min(max(p, _FLOOR), 1.0 - _FLOOR)


def enum_distribution(
    values: Sequence[str],
    text: str,
    *,
    seed: int = 0,
    accuracy_hint: float = 0.9,
    confidence_spread: float = 0.0,
) -> list[float]:
    """The distribution the fake answers `values` from for an item `text` (for tests and
    benchmarks that need to know the fake's belief in advance)."""
    judge = Judge(text, seed=seed, accuracy_hint=accuracy_hint, confidence_spread=confidence_spread)
    return judge.enum_distribution(values)
