"""The fake's tokenizer: answers as tokens with log-probabilities and their alternatives.

A token is `(text, logprob, top)`, `top` being every alternative at that position as
`(text, logprob)`, most probable first; the response cuts it to the requested `top_logprobs`.
This module owns how text is cut into tokens (pieces of at most four characters, structural JSON
joined into one token), how alternatives are ranked and polluted with junk the way an
unconstrained server reports them, and how an enum of strings is spelled. It holds no beliefs.

Enum strings are spelled so the reported alternatives are the real conditional distribution:
each value is its JSON-escaped text plus the closing quote, in pieces, so no value's pieces are a
prefix of another's and a value that ends early shows up as its own alternative (`pos"` next to
`posi`, or `"` next to `s"`). The product of the emitted pieces' conditionals is then exactly
P(chosen value).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

Alternative = tuple[str, float]
Token = tuple[str, float, list[Alternative]]

# Structural JSON and free text: certain, but not exactly 0 (real models never report 0 either).
CERTAIN_LOGPROB = -0.0001
_PIECE = 4
# Tokens a grammar would forbid at the start of a label; one is mixed into the alternatives the
# way a real server reports the unconstrained distribution.
_FORBIDDEN = ("neut", "none", "othe", "unkn", "N/A", "mixe", "n/a")


def json_escaped(text: str) -> str:
    """`text` as it appears between the quotes of a JSON string."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


def pieces(text: str) -> list[str]:
    return [text[i : i + _PIECE] for i in range(0, len(text), _PIECE)] or [""]


def certain_token(text: str) -> Token:
    return (text, CERTAIN_LOGPROB, [(text, CERTAIN_LOGPROB)])


def certain_tokens(text: str) -> list[Token]:
    """`text` as certain tokens (plain answers, and the odd answer cut inside one token)."""
    return [certain_token(piece) for piece in pieces(text) if piece]


def token_text(tokens: Sequence[Token]) -> str:
    return "".join(token[0] for token in tokens)


def log(p: float) -> float:
    return math.log(max(p, 1e-300))


def ranked(probs: dict[str, float]) -> list[Alternative]:
    """Alternatives as logprobs, most probable first (ties keep their order)."""
    return sorted(((t, log(p)) for t, p in probs.items()), key=lambda alt: -alt[1])


def with_junk(
    real: dict[str, float], variant: str | None, forbidden: Sequence[str], rng: random.Random
) -> list[Alternative]:
    """The alternatives as an unconstrained model reports them: a case variant of the emitted
    token and a token the grammar forbids take their mass from the allowed ones, so only
    renormalising over the allowed tokens recovers the conditional distribution."""
    junk: dict[str, float] = {}
    if variant and variant not in real:
        junk[variant] = 0.04 + 0.08 * rng.random()
    if forbidden:
        junk[rng.choice(forbidden)] = 0.005 + 0.02 * rng.random()
    scale = 1.0 - sum(junk.values())
    scored = {text: p * scale for text, p in real.items()}
    scored.update(junk)
    return ranked(scored)


class TokenWriter:
    """Collects tokens; structural text is buffered so `": "` or `"}` come out as one token."""

    __slots__ = ("_open", "_pending", "tokens")

    def __init__(self) -> None:
        self.tokens: list[Token] = []
        self._pending = ""
        # The last token is a lone closing quote that the next punctuation joins (`"` + `}`).
        self._open = False

    def struct(self, text: str) -> None:
        if not self._open:
            self._pending += text
            return
        old, logprob, top = self.tokens[-1]
        new = old + text
        self.tokens[-1] = (new, logprob, [(new if t == old else t, lp) for t, lp in top])

    def _flush(self) -> None:
        if self._pending:
            self.tokens.append(certain_token(self._pending))
            self._pending = ""
        self._open = False

    def certain(self, text: str) -> None:
        self._flush()
        self.tokens.extend(certain_tokens(text))

    def whole(self, text: str) -> None:
        """One certain token however long: a key (`label`), as real vocabularies hold them."""
        self._flush()
        self.tokens.append(certain_token(text))

    def scored(self, text: str, top: list[Alternative]) -> None:
        """The token `text`, whose logprob is its own entry among the alternatives `top`."""
        self._flush()
        logprob = next(lp for t, lp in top if t == text)
        self.tokens.append((text, logprob, top))
        self._open = text == '"'

    def finish(self) -> list[Token]:
        self._flush()
        return self.tokens


@dataclass(frozen=True)
class StringEnum:
    """How an enum of strings is spelled, worked out once per distinct enum."""

    values: tuple[str, ...]  # distinct, in schema order
    spelled: tuple[tuple[str, ...], ...]  # each value's pieces, closing quote included
    spellings: tuple[str, ...]  # each value's JSON-escaped text and closing quote
    forbidden: tuple[str, ...]  # junk tokens that cannot start any value

    def could_start(self, piece: str) -> bool:
        """Whether `piece`, as the first token of a string value, is consistent with some value."""
        return _could_start(piece, self.spellings)


@lru_cache(maxsize=1024)
def string_enum(enum: tuple[str, ...]) -> StringEnum:
    values = tuple(dict.fromkeys(enum))
    spellings = tuple(json_escaped(v) + '"' for v in values)
    return StringEnum(
        values=values,
        spelled=tuple(tuple(pieces(s)) for s in spellings),
        spellings=spellings,
        forbidden=tuple(f for f in _FORBIDDEN if not _could_start(f, spellings)),
    )


def _could_start(piece: str, spellings: Sequence[str]) -> bool:
    return any(s.startswith(piece) or piece.startswith(s) for s in spellings)
