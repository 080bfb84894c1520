"""Request parameters a provider rejects, learned from its 400 answers and remembered per
(endpoint, model): one model name served by two endpoints (a provider and a local server, say)
may accept different parameters.

OpenAI-compatible servers differ: reasoning models refuse `logprobs` and want
`max_completion_tokens` instead of `max_tokens`; some servers refuse `temperature`. Rather than
sending every item of a batch to review with the same 400, the first rejection teaches the process
to send the request without the parameter (confidence then comes from sample agreement).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import openai

Params = dict[str, Any]


def _drop(*names: str) -> Callable[[Params], Params]:
    def fix(params: Params) -> Params:
        return {k: v for k, v in params.items() if k not in names}

    return fix


def _rename_max_tokens(params: Params) -> Params:
    params = dict(params)
    if "max_tokens" in params:
        params["max_completion_tokens"] = params.pop("max_tokens")
    return params


# The parameter named in the provider's error -> how to send the request without it.
_FIXES: dict[str, Callable[[Params], Params]] = {
    "top_logprobs": _drop("logprobs", "top_logprobs"),
    "logprobs": _drop("logprobs", "top_logprobs"),
    "max_tokens": _rename_max_tokens,
    "temperature": _drop("temperature"),
}


class ProviderQuirks:
    """What each (endpoint base URL, model) has refused so far in this process."""

    def __init__(self) -> None:
        self._learned: dict[tuple[str, str], list[str]] = {}

    def adjust(self, base_url: str, model: str, params: Params) -> Params:
        """`params` without what this endpoint's model has refused before."""
        for name in self._learned.get(_endpoint(base_url, model), ()):
            params = _FIXES[name](params)
        return params

    def learn(self, base_url: str, model: str, exc: BaseException | None, params: Params) -> bool:
        """True when `exc` rejects a parameter we sent and can do without; remembered for this
        endpoint's model only."""
        if not isinstance(exc, openai.BadRequestError):
            return False
        text = f"{exc.message} {getattr(exc, 'param', '') or ''}".lower()
        learned = self._learned.setdefault(_endpoint(base_url, model), [])
        for name in _FIXES:
            if name in params and name in text and name not in learned:
                learned.append(name)
                return True
        return False


def _endpoint(base_url: str, model: str) -> tuple[str, str]:
    """One key for a base URL however its trailing slash is written."""
    return base_url.rstrip("/"), model
