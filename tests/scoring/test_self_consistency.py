"""Self-consistency over repeated samples: the majority answer and its share of the samples."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import pytest

from labelwise.scoring.self_consistency import per_label_self_consistency, self_consistency


@pytest.mark.parametrize(
    ("values", "expected_value", "expected_share"),
    [
        (["a", "b", "a"], "a", 2 / 3),
        (["b", "a", "a", "b"], "b", 0.5),  # tie: first seen wins
        (["a", "b", "b", "a"], "a", 0.5),
        (["x", "y", "z"], "x", 1 / 3),
        (["c", "a", "b", "b"], "b", 0.5),
        (["only"], "only", 1.0),
        ([True, False, False, False, True], False, 0.6),
        ([frozenset({"a"}), frozenset({"a"}), frozenset()], frozenset({"a"}), 2 / 3),
    ],
)
def test_self_consistency(
    values: Sequence[Hashable], expected_value: Hashable, expected_share: float
) -> None:
    value, share = self_consistency(values)
    assert value == expected_value
    assert share == pytest.approx(expected_share)


def test_self_consistency_needs_samples() -> None:
    with pytest.raises(ValueError):
        self_consistency([])


@pytest.mark.parametrize(
    ("samples", "expected_set", "expected_shares"),
    [
        (
            [frozenset({"a"}), frozenset({"a", "b"}), frozenset({"b"})],
            frozenset({"a", "b"}),
            {"a": 2 / 3, "b": 2 / 3, "c": 1.0},
        ),
        (
            [frozenset({"a"}), frozenset()],  # a tie means no
            frozenset(),
            {"a": 0.5, "b": 1.0, "c": 1.0},
        ),
        (
            [frozenset({"a", "c"}), frozenset({"c"}), frozenset({"c", "zzz"}), frozenset()],
            frozenset({"c"}),
            {"a": 0.75, "b": 1.0, "c": 0.75},
        ),
    ],
)
def test_per_label_self_consistency(
    samples: list[frozenset[str]], expected_set: frozenset[str], expected_shares: dict[str, float]
) -> None:
    chosen, shares = per_label_self_consistency(samples, ["a", "b", "c"])
    assert chosen == expected_set
    assert shares == pytest.approx(expected_shares)


def test_per_label_self_consistency_needs_samples() -> None:
    with pytest.raises(ValueError):
        per_label_self_consistency([], ["a"])
