"""The fake's belief about a rating: a distribution over the scale, peaked where the item hints.

An item that states its score ("score 4", "4/5", "4 out of 5", "4 stars", "rated 4") puts the
judge's named mass on that score; one that only says how good it is ("excellent", "poor") puts a
moderate mass on the matching part of the scale; an item that says neither gets a hashed
favourite near the middle, unsure. The rest of the mass falls off with the distance from the
peak, as a real model's does between neighbouring scores. Pure functions of the judge.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from labelwise.testing.fake_llm.item import all_text, item_fields
from labelwise.testing.fake_llm.judge import Judge, normalised

_NUMBER = r"(-?\d+(?:\.\d+)?)"
_OUT_OF = re.compile(_NUMBER + r"\s*(?:/|out of)\s*(\d+)", re.IGNORECASE)
_SCORED = re.compile(
    r"(?<!\w)(?:score|rating|rated|grade|graded)\s*(?:of|:|=|is|as)?\s*" + _NUMBER + r"(?![\d/])",
    re.IGNORECASE,
)
_STARS = re.compile(_NUMBER + r"\s*stars?\b", re.IGNORECASE)
# How good a word says the item is, from 0 (the bottom of the scale) to 1 (the top).
_WORDS: dict[str, float] = {
    "excellent": 1.0, "outstanding": 1.0, "perfect": 1.0, "superb": 1.0, "amazing": 1.0,
    "great": 0.8, "very good": 0.8, "good": 0.7, "solid": 0.7,
    "fine": 0.5, "okay": 0.5, "ok": 0.5, "average": 0.5, "decent": 0.5, "mediocre": 0.4,
    "weak": 0.25, "poor": 0.2, "bad": 0.2,
    "terrible": 0.0, "awful": 0.0, "horrible": 0.0, "useless": 0.0, "worst": 0.0,
}  # fmt: skip
_WORD = re.compile(
    r"(?<!\w)(" + "|".join(sorted(map(re.escape, _WORDS), key=len, reverse=True)) + r")(?!\w)",
    re.IGNORECASE,
)


def stated_score(text: str, low: int, high: int) -> int | None:
    """The score the text states, mapped onto the scale from `low` to `high`."""
    for match in _OUT_OF.finditer(text):
        value, top = float(match.group(1)), int(match.group(2))
        if top == high and low <= value <= high:
            return round(value)
        if top > 0 and 0 <= value <= top:
            return low + round(value / top * (high - low))
    for pattern in (_SCORED, _STARS):
        for match in pattern.finditer(text):
            value = float(match.group(1))
            if low <= value <= high:
                return round(value)
    return None


def worded_score(text: str, low: int, high: int) -> int | None:
    """The part of the scale the text's words of praise or blame point to (their mean)."""
    found = [_WORDS[m.group(1).lower()] for m in _WORD.finditer(text)]
    if not found:
        return None
    return low + round(sum(found) / len(found) * (high - low))


def rating_distribution(judge: Judge, scores: Sequence[int]) -> list[float]:
    """P(score) for each of `scores` (distinct integers), in their order."""
    key = ("rating", tuple(scores))
    cached = judge.memo.get(key)
    if cached is None:
        cached = judge.memo[key] = _distribution(judge, list(scores))
    return list(cached)


def _distribution(judge: Judge, scores: list[int]) -> list[float]:
    n = len(scores)
    if n == 1:
        return [1.0]
    low, high = min(scores), max(scores)
    text = all_text(item_fields(judge.text))
    target = stated_score(text, low, high)
    if target is not None:
        mass = judge.named_mass()
    else:
        target = worded_score(text, low, high)
        if target is not None:
            mass = 0.5 + 0.3 * judge.unit("rating", "worded")
        else:
            target = low + round((0.25 + 0.5 * judge.unit("rating", "guess")) * (high - low))
            lower = max(0.3, 1.0 / n + 0.05)
            mass = lower + (0.55 - lower) * judge.unit("rating", "mass")
    peak = min(range(n), key=lambda i: (abs(scores[i] - target), i))
    # Neighbours of the peak share most of what is left: e^-distance, jittered per score.
    weights = [
        math.exp(-abs(score - scores[peak])) * (0.5 + judge.unit("rating", "w", score))
        for score in scores
    ]
    rest = sum(w for i, w in enumerate(weights) if i != peak)
    probs = [mass if i == peak else (1.0 - mass) * weights[i] / rest for i in range(n)]
    return normalised(probs)
