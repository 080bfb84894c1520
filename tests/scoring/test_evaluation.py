from __future__ import annotations

import pytest

from labelwise.scoring.evaluation import auroc


@pytest.mark.parametrize(
    ("right", "wrong", "expected"),
    [
        ([0.9, 0.8], [0.1, 0.2], 1.0),
        ([0.1, 0.2], [0.9, 0.8], 0.0),
        ([0.5, 0.5], [0.5, 0.5], 0.5),
        ([0.9, 0.4], [0.5], 0.5),
        ([0.9, 0.6, 0.3], [0.6, 0.2], (2 + 1.5 + 1) / 6),
        ([], [0.3], None),
        ([0.3], [], None),
    ],
)
def test_auroc(right: list[float], wrong: list[float], expected: float | None) -> None:
    result = auroc(right, wrong)
    assert result == (None if expected is None else pytest.approx(expected))
