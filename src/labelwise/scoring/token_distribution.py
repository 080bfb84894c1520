"""The distribution a provider reports at one generated token, read as plain probabilities.

Providers send log-probabilities with quirks (NaN, -inf, values just above 0, the same text
listed twice, the sampled token missing from its own top-k list). This module turns one position
into text -> probability, bounds what the unlisted tokens could have had, and tells which
alternatives continue the same JSON structure up to a value.

Everything here is a pure function of its arguments; nothing does I/O.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence

from labelwise.domain import TokenLogprob
from labelwise.scoring.json_regions import WHITESPACE, skip_whitespace


def token_starts(tokens: Sequence[TokenLogprob]) -> list[int]:
    """The character offset at which each token starts in the concatenated content."""
    starts: list[int] = []
    offset = 0
    for token in tokens:
        starts.append(offset)
        offset += len(token.token)
    return starts


def token_at(tokens: Sequence[TokenLogprob], starts: Sequence[int], offset: int) -> int | None:
    """Index of the token whose text covers character `offset` (empty tokens cover nothing)."""
    # Of tokens starting at the same offset, all but the last are empty.
    index = bisect_right(starts, offset) - 1
    if index >= 0 and offset < starts[index] + len(tokens[index].token):
        return index
    return None


def probability(logprob: float) -> float:
    """exp(logprob), robust to the odd values providers send (NaN, -inf, tiny positive)."""
    if math.isnan(logprob):
        return 0.0
    # A logprob above 0 is a rounding artifact; capping avoids probabilities above 1 (or overflow).
    return math.exp(min(logprob, 0.0))


def alternatives(token: TokenLogprob) -> dict[str, float]:
    """The alternatives at a position as text -> probability, including the emitted token.

    Providers sometimes list the same text twice (distinct token ids decoding alike, or a plain
    duplicate); we keep the larger entry rather than summing so a duplicate cannot double-count.
    """
    by_text: dict[str, float] = {}
    for text, logprob in token.top:
        by_text[text] = max(by_text.get(text, 0.0), probability(logprob))
    # Some providers omit the sampled token from `top` (it fell outside k under their ranking).
    by_text.setdefault(token.token, probability(token.logprob))
    return by_text


def unseen_bound(token: TokenLogprob) -> float:
    """The most probability an alternative missing from the top-k list can have had: no more
    than the least likely token listed, and no more than the mass the list leaves over.

    Without this bound, a model that ranks forbidden tokens above every allowed one (a real
    server under a grammar returns the unconstrained distribution) would look certain of
    whichever label it was forced to."""
    listed = [probability(logprob) for _, logprob in token.top]
    if not listed:
        return 0.0
    left_over = max(0.0, 1.0 - sum(alternatives(token).values()))
    return min(min(listed), left_over)


def after_lead(alternative: str, lead: str, exact: int, *, in_string: bool) -> str | None:
    """The part of `alternative` that falls in the value region, or None if it is no continuation.

    `lead` is the emitted token's text before the value start. Its first `exact` characters run
    up to the key's closing quote (string content, or earlier structure), so an alternative must
    repeat them verbatim to be the same answer. The rest is `ws : ws` (plus the opening quote of
    a string value), where JSON whitespace is insignificant: `":"pos` and `": "pos` lead to the
    same value. Inside a string nothing is insignificant, so `":" pos` is not `":"pos`.
    """
    if not lead:
        # The token starts at the value: all of the alternative is value text. Before a literal
        # we are still between JSON tokens, so leading whitespace may be dropped.
        return alternative if in_string else alternative.lstrip(WHITESPACE)
    if not alternative.startswith(lead[:exact]):
        return None
    structure = lead[exact:]
    if in_string:
        structure = structure[:-1]  # the value's opening quote, matched below
    i = skip_whitespace(alternative, exact)
    if ":" in structure:
        if alternative[i : i + 1] != ":":
            return None
        i = skip_whitespace(alternative, i + 1)
    if in_string:
        if alternative[i : i + 1] != '"':
            return None
        i += 1
    return alternative[i:]
