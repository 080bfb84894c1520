"""Several answers to one rating as one score: majorities, weighed votes, and the median as the
tie-break."""

from __future__ import annotations

import pytest

from labelwise.scoring.consensus import Vote
from labelwise.scoring.score_votes import combined_score, majority_score, tie_break


@pytest.mark.parametrize(
    ("answers", "score", "share"),
    [
        pytest.param([7], 7, 1.0, id="one-answer"),
        pytest.param([4, 4, 5], 4, 2 / 3, id="majority"),
        pytest.param([5, 4, 4], 4, 2 / 3, id="majority-not-first"),
        pytest.param([2, 2, 4, 4, 5], 4, 0.4, id="tie-to-the-median"),
        pytest.param([4, 4, 2, 2, 1], 2, 0.4, id="tie-to-the-median-low"),
        pytest.param([1, 1, 5, 5], 1, 0.5, id="median-equidistant-first-answer"),
        pytest.param([5, 1, 1, 5], 5, 0.5, id="median-equidistant-first-answer-high"),
        pytest.param([3, 1, 1, 5, 5], 1, 0.4, id="median-equidistant-lower"),
        pytest.param([-1, -1, -3, -3, 0], -1, 0.4, id="negative-scale"),
    ],
)
def test_majority_score(answers: list[int], score: int, share: float) -> None:
    assert majority_score(answers) == (score, pytest.approx(share))


def test_majority_needs_an_answer() -> None:
    with pytest.raises(ValueError):
        majority_score([])


def test_tie_break_prefers_the_median() -> None:
    assert tie_break([1, 9], [1, 9, 8, 8, 9, 1]) == 9  # median 8.5


SCALE = [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("votes", "score", "p"),
    [
        # 4: 0.9 + 0.4/4 = 1.0; 5: 0.6 + 0.1/4 = 0.625; averaged over two votes.
        pytest.param([Vote(4, 0.9), Vote(5, 0.6)], 4, 0.5, id="weighed"),
        # 5: 0.9 + 0.05 + 0.05; 4: 0.025 + 0.8 + 0.8.
        pytest.param(
            [Vote(5, 0.9), Vote(4, 0.8), Vote(4, 0.8)],
            4,
            (0.025 + 0.8 + 0.8) / 3,
            id="the-majority-when-sure",
        ),
        # 5: 0.95 + 0.175 + 0.175; 4: 0.0125 + 0.3 + 0.3: one sure voter beats two unsure ones.
        pytest.param(
            [Vote(5, 0.95), Vote(4, 0.3), Vote(4, 0.3)],
            5,
            (0.95 + 0.175 + 0.175) / 3,
            id="a-sure-minority-beats-unsure-votes",
        ),
        pytest.param([Vote(2), Vote(2), Vote(3)], 2, 2 / 3, id="no-confidence-is-majority"),
        pytest.param([Vote(1), Vote(5)], 1, 0.5, id="tie-first-answer-at-equal-distance"),
        pytest.param([Vote(1), Vote(5), Vote(4)], 4, 1 / 3, id="tie-to-the-median"),
    ],
)
def test_combined_score(votes: list[Vote], score: int, p: float) -> None:
    assert combined_score(votes, SCALE) == (score, pytest.approx(p))


def test_combining_needs_a_vote() -> None:
    with pytest.raises(ValueError):
        combined_score([], SCALE)
