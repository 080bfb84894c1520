"""Reading a provider's `x-ratelimit-*` headers: limits, exhaustion and reset times."""

from __future__ import annotations

import pytest

from labelwise.llm.rate_headers import limit_exhausted, parse_reset, read_headers


@pytest.mark.parametrize(
    ("headers", "exhausted"),
    [
        ({}, True),  # nothing stated: a limit was hit
        ({"x-ratelimit-remaining-requests": "0"}, True),
        ({"x-ratelimit-remaining-requests": "12", "x-ratelimit-remaining-tokens": "0"}, True),
        ({"x-ratelimit-remaining-requests": "12"}, False),
        ({"x-ratelimit-remaining-requests": "3", "x-ratelimit-remaining-tokens": "900"}, False),
    ],
)
def test_limit_exhausted(headers: dict[str, str], exhausted: bool) -> None:
    assert limit_exhausted(headers) is exhausted


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1s", 1.0),
        ("20ms", 0.02),
        ("6m0s", 360.0),
        ("1m30.5s", 90.5),
        ("1h2m", 3720.0),
        ("2.5", 2.5),
        ("", None),
        (None, None),
        ("soon", None),
        ("5x", None),
    ],
)
def test_parse_reset(text: str | None, seconds: float | None) -> None:
    assert parse_reset(text) == (pytest.approx(seconds) if seconds is not None else None)


@pytest.mark.parametrize(
    ("headers", "limits", "exhausted_for"),
    [
        ({}, (None, None), None),
        (
            {"x-ratelimit-limit-requests": "500", "x-ratelimit-limit-tokens": "30000"},
            (500, 30000),
            None,
        ),
        (
            {"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "250ms"},
            (None, None),
            0.25,
        ),
        # Both exhausted: the later reset decides; an unreadable reset counts as a second.
        (
            {
                "x-ratelimit-remaining-requests": "0",
                "x-ratelimit-reset-requests": "later",
                "x-ratelimit-remaining-tokens": "0",
                "x-ratelimit-reset-tokens": "200ms",
            },
            (None, None),
            1.0,
        ),
        ({"x-ratelimit-remaining-requests": "3"}, (None, None), None),
    ],
)
def test_read_headers(
    headers: dict[str, str], limits: tuple[int | None, int | None], exhausted_for: float | None
) -> None:
    reading = read_headers(headers)
    assert (reading.limit_requests, reading.limit_tokens) == limits
    assert reading.exhausted_for == exhausted_for
