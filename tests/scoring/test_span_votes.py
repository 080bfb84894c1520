"""Samples and votes about spans decided per span."""

from __future__ import annotations

from typing import Any

import pytest

from labelwise.scoring.span_votes import combine_span_votes, majority_spans


def s(start: int, end: int, label: str = "PER") -> dict[str, Any]:
    return {"start": start, "end": end, "label": label, "text": "x" * (end - start)}


A, B, C = s(0, 3), s(5, 9, "LOC"), s(5, 9, "PER")


@pytest.mark.parametrize(
    ("samples", "value", "share"),
    [
        ([[A]], [A], 1.0),
        ([[], []], [], 1.0),
        ([[A], [A], []], [A], 2 / 3),
        # A tie drops the span; both sides of the tie agree half.
        ([[A], []], [], 0.5),
        # B kept by 2 of 3, C (same offsets, other label) dropped by 2 of 3; A by all.
        ([[B, A], [A, B], [A, C]], [A, B], 2 / 3),
        ([[A, B], [A, B], [A, B], [A]], [A, B], 3 / 4),
        ([[B], [A], [C]], [], 2 / 3),
    ],
)
def test_majority_spans(
    samples: list[list[dict[str, Any]]], value: list[dict[str, Any]], share: float
) -> None:
    got, agreed = majority_spans(samples)
    assert got == value
    assert agreed == pytest.approx(share)


def test_majority_needs_a_sample() -> None:
    with pytest.raises(ValueError):
        majority_spans([])


@pytest.mark.parametrize(
    ("votes", "value", "confidence"),
    [
        ([([A], 0.9)], [A], 0.9),
        ([([A], None)], [A], 1.0),
        ([([], 0.8), ([], None)], [], 0.9),
        # A: yes .9 and no .6 -> (.9 + .4) / 2 = .65 kept.
        ([([A], 0.9), ([], 0.6)], [A], 0.65),
        # A: (.7 + .1) / 2 = .4, dropped, decided with .6.
        ([([A], 0.7), ([], 0.9)], [], 0.6),
        # B: (.8 + .3) / 2 = .55 kept; C: (.2 + .7) / 2 = .45 dropped (.55).
        ([([B], 0.8), ([C], 0.7)], [B], 0.55),
    ],
)
def test_combine_span_votes(
    votes: list[tuple[list[dict[str, Any]], float | None]],
    value: list[dict[str, Any]],
    confidence: float,
) -> None:
    got, score = combine_span_votes(votes)
    assert got == value
    assert score == pytest.approx(confidence)
