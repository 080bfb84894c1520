from __future__ import annotations

import pytest

from labelwise.cost.pricing import cost_usd
from labelwise.domain import Usage
from labelwise.spec import Price


@pytest.mark.parametrize(
    ("usage", "price", "expected"),
    [
        (Usage(), Price(prompt=2.5, completion=10.0), 0.0),
        (Usage(1_000_000, 0, 0), Price(prompt=2.5, completion=10.0), 2.5),
        (Usage(0, 0, 1_000_000), Price(prompt=2.5, completion=10.0), 10.0),
        # Cached tokens are part of prompt_tokens and billed at the cached price when set ...
        (Usage(1_000_000, 400_000, 0), Price(prompt=2.0, cached_prompt=0.5), 1.2 + 0.2),
        # ... and at the full prompt price when not.
        (Usage(1_000_000, 400_000, 0), Price(prompt=2.0), 2.0),
        (Usage(1000, 0, 500), Price(prompt=0.15, completion=0.6), 0.00015 + 0.0003),
        # A free cached prefix is a price of 0, not "unset".
        (Usage(100, 100, 0), Price(prompt=1.0, cached_prompt=0.0), 0.0),
    ],
)
def test_cost_usd(usage: Usage, price: Price, expected: float) -> None:
    assert cost_usd(usage, price) == pytest.approx(expected)


def test_cached_tokens_never_exceed_prompt_tokens() -> None:
    # A provider that reports more cached than prompt tokens must not produce a negative bill.
    assert cost_usd(Usage(10, 50, 0), Price(prompt=1.0, cached_prompt=0.5)) == pytest.approx(5e-6)
