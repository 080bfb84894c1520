"""What a labeling call cost: token counts times the project's per-million-token prices.

Pure arithmetic; it owns no prices itself (they live in the project's `ModelSpec.price`).
"""

from __future__ import annotations

from labelwise.domain import Usage
from labelwise.spec import Price

_PER_MILLION = 1_000_000


def cost_usd(usage: Usage, price: Price) -> float:
    """US dollars for `usage` at `price`.

    `prompt_tokens` includes the cached ones (as providers report them), so cached tokens are
    billed once, at `price.cached_prompt` when the project sets it, else at the full prompt price.
    """
    cached = min(usage.cached_tokens, usage.prompt_tokens)
    uncached = usage.prompt_tokens - cached
    cached_price = price.prompt if price.cached_prompt is None else price.cached_prompt
    dollars = (
        uncached * price.prompt + cached * cached_price + usage.completion_tokens * price.completion
    )
    return dollars / _PER_MILLION
