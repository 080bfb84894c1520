"""The distribution of an integer answer over a scale, read from token log-probabilities.

A rating's answer is `{"score": 7}`: the integer is a JSON literal, not a string, so there are
no quotes around it and its spelling has no fixed length. The member's value is found in the
raw text (`labelwise.scoring.json_regions`), then the tokens that spell it are walked one
position at a time, as `labelwise.scoring.confidence` does for labels:

- Each listed alternative at a position is read as the value text it would make (what was
  emitted before it, plus its own text) and mapped to the scores of the scale that text can
  still become or has completed: `1` can become 1 or 10, `1}` is 1. Alternatives no score allows
  (a digit that leaves the scale, a quote, `5.`) are forbidden by the schema and dropped; the
  rest is renormalised.
- The generated token's share is carried to the next position; every other alternative's share
  is settled at once, split evenly among the scores it is consistent with: its continuation was
  never generated, so nothing tells them apart (`1` listed beside a generated `7` on a 0-10 scale
  counts half for 1 and half for 10).
- Tokenizers spell multi-digit and negative scores either in one token (`10`, `-1`) or digit by
  digit (`1` then `0`; `-` then `1`). Both read the same way: after a generated `1`, the next
  position decides between 1 (a terminator follows: `}`, `,`, whitespace) and 10 (`0` follows).
  Reading stops once the emitted text can only be the chosen score; whatever is still carried
  then is the chosen score's, as the parsed answer says.
- Scores the top-k list does not show at a position share what the list leaves over, each at
  most the least likely listed token (`unseen_bound`): a short list cannot make the model look
  certain. Without a list, the generated token's own probability is kept and the rest is spread
  evenly over the other scores still possible.

Everything here is a pure function of its arguments; nothing does I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from labelwise.domain import TokenLogprob
from labelwise.scoring.json_regions import ROOT, WHITESPACE, Member, Region, members_of
from labelwise.scoring.token_distribution import (
    after_lead,
    alternatives,
    probability,
    token_at,
    token_starts,
    unseen_bound,
)

# What may follow an integer literal in a JSON object; anything else (`.`, `e`, a digit the
# scale does not have) makes it a different number.
_TERMINATORS = WHITESPACE + ",}]"
_INTEGER = re.compile(r"-?\d+")


@dataclass(frozen=True)
class _Literal:
    """The chosen score's literal in the content: its member and the offsets of its text."""

    member: Member
    start: int
    end: int  # just past the last digit


@dataclass(frozen=True)
class _Position:
    """What one position says: the share settled on each score here, the share the generated
    token carries on, and the scores the generated text can still become."""

    settled: dict[int, float]
    carried: float
    following: frozenset[int]


def consistent_scores(text: str, scores: Sequence[int] | frozenset[int]) -> frozenset[int]:
    """The scores whose spelling begins with `text`, or that `text` spells and then ends."""
    found = set()
    for score in scores:
        spelled = str(score)
        becomes = spelled.startswith(text)
        ends = text.startswith(spelled) and text[len(spelled) : len(spelled) + 1] in _TERMINATORS
        if becomes or ends:
            found.add(score)
    return frozenset(found)


def _chosen_literal(content: str, *, key: str, chosen: int, region: Region) -> _Literal | None:
    """The integer value of `key` in `region`, when it is spelled as `chosen`; None otherwise."""
    members = [m for m in members_of(content) if m.key == key and region.holds(m)]
    if not members:
        return None
    # Duplicate keys: the JSON parser keeps the last one, so that is the value that was used.
    member = members[-1]
    match = _INTEGER.match(content, member.value_start)
    if match is None or match.group() != str(chosen):
        return None
    if content[match.end() : match.end() + 1] not in ("", *_TERMINATORS):
        return None
    return _Literal(member, match.start(), match.end())


def _read_position(
    content: str,
    literal: _Literal,
    token: TokenLogprob,
    token_start: int,
    *,
    first: bool,
    candidates: frozenset[int],
) -> _Position | None:
    """The shares at one position, renormalised over the alternatives the scale allows."""
    before = "" if first else content[literal.start : token_start]
    # Only the first token can carry text before the value (`": 7`).
    lead = token.token[: literal.start - token_start] if first else ""
    exact = max(0, literal.member.key_end + 1 - token_start)

    def value_text(text: str) -> str | None:
        part = after_lead(text, lead, exact, in_string=False)
        # An alternative that emits no value text does not say which score follows.
        return before + part if part else None

    generated = value_text(token.token)
    following = consistent_scores(generated, candidates) if generated else frozenset()
    if not following:
        return None
    if not token.top:
        others = candidates - following
        p = probability(token.logprob) if others else 1.0
        return _Position({s: (1.0 - p) / len(others) for s in others}, p, following)
    settled: dict[int, float] = {}
    carried, seen = 0.0, set(following)
    for text, prob in alternatives(token).items():
        shown = value_text(text)
        if shown == generated:
            carried += prob
            continue
        reached = consistent_scores(shown, candidates) if shown else frozenset()
        seen |= reached
        for score in reached:
            settled[score] = settled.get(score, 0.0) + prob / len(reached)
    unseen = candidates - seen
    if unseen:
        left_over = max(0.0, 1.0 - sum(alternatives(token).values()))
        each = min(unseen_bound(token), left_over / len(unseen))
        settled.update(dict.fromkeys(unseen, each))
    total = carried + sum(settled.values())
    if total <= 0:
        return None
    return _Position({s: p / total for s, p in settled.items()}, carried / total, following)


def score_distribution(
    tokens: Sequence[TokenLogprob],
    *,
    key: str,
    scores: Sequence[int],
    chosen: int,
    region: Region = ROOT,
) -> dict[int, float] | None:
    """P(score | the answer is one of `scores`) for every score, read where the spellings of
    the scores diverge (see the module's notes). None when `key` has no integer value spelled
    as `chosen` in `region`, or when its tokens cannot be read."""
    allowed = list(dict.fromkeys(scores))
    if chosen not in allowed:
        return None
    content = "".join(t.token for t in tokens)
    literal = _chosen_literal(content, key=key, chosen=chosen, region=region)
    if literal is None:
        return None
    starts = token_starts(tokens)
    first = token_at(tokens, starts, literal.start)
    if first is None:
        return None
    mass = dict.fromkeys(allowed, 0.0)
    carried, candidates, j = 1.0, frozenset(allowed), first
    while True:
        read = _read_position(
            content, literal, tokens[j], starts[j], first=j == first, candidates=candidates
        )
        if read is None:
            return None
        for score, share in read.settled.items():
            mass[score] += carried * share
        carried *= read.carried
        candidates = read.following
        j += 1
        if candidates == {chosen} or j >= len(tokens) or starts[j] > literal.end:
            break
    mass[chosen] += carried
    return {score: min(max(p, 0.0), 1.0) for score, p in mass.items()}
