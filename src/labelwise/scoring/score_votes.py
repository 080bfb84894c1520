"""Several answers to one rating as one score: the majority of samples, or votes weighed by how
sure each voter was.

Scores are ordered, so a tie between the most frequent scores is broken by the median of all
the answers rather than by which came first: of scores 2, 2, 4, 4, 5 the tie between 2 and 4 goes
to 4 (the median), and of 1, 1, 5, 5 (median 3, equally far from both) to the score the first
answer gave when it is among them, else the lower one, so the result never depends on hash order.

Everything here is a pure function of its arguments; nothing does I/O.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence

from labelwise.scoring.consensus import Vote, vote_mass


def tie_break(tied: Sequence[int], answers: Sequence[int]) -> int:
    """Of the `tied` scores, the one nearest the median of `answers` (see the module's notes)."""
    middle = statistics.median(answers)
    first = answers[0] if answers else None
    return min(tied, key=lambda score: (abs(score - middle), score != first, score))


def majority_score(answers: Sequence[int]) -> tuple[int, float]:
    """The most frequent score across samples and the share of samples that gave it."""
    if not answers:
        raise ValueError("a majority needs at least one answer")
    counts = Counter(answers)
    most = max(counts.values())
    chosen = tie_break([score for score, n in counts.items() if n == most], answers)
    return chosen, most / len(answers)


def combined_score(votes: Sequence[Vote], scores: Sequence[int]) -> tuple[int, float]:
    """The score with the most averaged probability, and that probability.

    A vote with a confidence puts it on its score and spreads the rest evenly over the scale's
    other scores; one without counts as certain. Without any confidence this is the majority
    and its share."""
    mass = vote_mass(votes, scores)
    best = max(mass.values())
    tied = [score for score, m in mass.items() if abs(m - best) <= 1e-12]
    chosen = tie_break(tied, [vote.value for vote in votes])
    return chosen, mass[chosen] / len(votes)
