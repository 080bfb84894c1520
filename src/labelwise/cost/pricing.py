"""What a labeling call cost: token counts times the project's per-million-token prices.

Pure arithmetic; it owns no prices itself: they are the project's `ModelSpec.price`, else the
operator's table (`Settings.prices`) by model name.
"""

from __future__ import annotations

from collections.abc import Mapping

from labelwise.domain import Usage
from labelwise.spec import ModelSpec, Price

_PER_MILLION = 1_000_000


def price_for(model: ModelSpec, table: Mapping[str, Price]) -> Price | None:
    """The price a model is billed at; None when neither the project nor the table knows it."""
    return model.price if model.price is not None else table.get(model.name)


def outcome_cost_usd(
    usage: Usage, batch_usage: Usage, price: Price | None, batch_factor: float
) -> float:
    """`usage` at `price`, the part of it answered through a provider's batch API (`batch_usage`)
    at the batch discount (`batch_factor`: 0.5 is half price)."""
    return cost_usd(usage - batch_usage, price) + batch_factor * cost_usd(batch_usage, price)


def cost_usd(usage: Usage, price: Price | None) -> float:
    """US dollars for `usage` at `price`.

    `prompt_tokens` includes the cached ones (as providers report them), so cached tokens are
    billed once, at `price.cached_prompt` when the project sets it, else at the full prompt price.
    """
    if price is None:
        return 0.0
    cached = min(usage.cached_tokens, usage.prompt_tokens)
    uncached = usage.prompt_tokens - cached
    cached_price = price.prompt if price.cached_prompt is None else price.cached_prompt
    dollars = (
        uncached * price.prompt + cached * cached_price + usage.completion_tokens * price.completion
    )
    return dollars / _PER_MILLION
