"""The fake's belief about a pairwise question: which of candidates A and B is better, or a tie.

Each candidate gets a quality that depends only on its own text (and the seed): longer, more
specific answers (numbers, names, varied words) score higher, with a little noise. The gap in
quality decides the preference the same way whichever order the candidates are shown in; a mild
bias toward the candidate shown first then tips close calls, so asking in both orders sometimes
gets two answers that disagree, as it does with real models. Close candidates are likely ties
when a tie is allowed. Pure functions.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from labelwise.testing.fake_llm.item import candidates, item_fields
from labelwise.testing.fake_llm.judge import Judge, normalised, stable_seed

# Logit added for the candidate shown first: close calls tip toward it.
POSITION_BIAS = 0.35
# How sharply a gap in quality turns into a preference.
_SHARPNESS = 2.0
_TIE_MASS = 0.5
_WORD = re.compile(r"\w+")


def quality(text: str, seed: int) -> float:
    """How good a candidate looks, from its own text alone."""
    words = _WORD.findall(text)
    specific = sum(1 for w in words if w[:1].isupper() or any(c.isdigit() for c in w))
    varied = len({w.lower() for w in words})
    noise = stable_seed(seed, "quality", text) / 2**64 - 0.5
    return math.log1p(len(words)) + 0.3 * math.log1p(varied) + 0.1 * min(specific, 10) + 0.3 * noise


def preference_distribution(judge: Judge, options: Sequence[str]) -> list[float]:
    """P(option) for each of `options` (`A`, `B`, maybe `tie`; anything else gets none)."""
    first, second = candidates(item_fields(judge.text))
    gap = quality(first, judge.seed) - quality(second, judge.seed)
    p_tie = _TIE_MASS * math.exp(-3.0 * abs(gap)) if "tie" in options else 0.0
    p_first = 1.0 / (1.0 + math.exp(-(_SHARPNESS * gap + POSITION_BIAS)))
    belief = {"A": (1.0 - p_tie) * p_first, "B": (1.0 - p_tie) * (1.0 - p_first), "tie": p_tie}
    return normalised([belief.get(option, 0.0) for option in options])
