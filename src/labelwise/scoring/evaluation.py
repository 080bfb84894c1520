"""Measures of label quality against gold: accuracy, and how well confidence separates right from
wrong (AUROC). Pure functions; the quality report and the benchmarks use them."""

from __future__ import annotations

from collections.abc import Sequence


def auroc(right: Sequence[float], wrong: Sequence[float]) -> float | None:
    """The chance that a right label's confidence is above a wrong one's (ties count half).

    0.5 is no separation, 1.0 perfect. None when either side is empty: there is nothing to
    separate. Computed by ranks (Mann-Whitney U), O(n log n).
    """
    if not right or not wrong:
        return None
    ranked = sorted([(score, True) for score in right] + [(score, False) for score in wrong])
    rank_sum = 0.0
    i = 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        average_rank = (i + 1 + j) / 2  # ranks i+1..j share their mean
        rank_sum += average_rank * sum(1 for _, is_right in ranked[i:j] if is_right)
        i = j
    n_right, n_wrong = len(right), len(wrong)
    return (rank_sum - n_right * (n_right + 1) / 2) / (n_right * n_wrong)
