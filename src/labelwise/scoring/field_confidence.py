"""Confidence in each field of an object answer (`{"fields": {"<name>": <value>, ...}}`), read
from token log-probabilities.

Two readings, by what the field allows:
- a choice (an enum, a boolean, each also null): the chosen value's probability renormalised
  over the values the schema allows, at the positions where their JSON spellings diverge. The
  provider reports the unconstrained distribution, so `"Paid"` or a forbidden token must not
  count against the chosen `"paid"`; null is one of the choices, since "the document does not
  say" is an answer too.
- anything else (free text, numbers, lists): the product of the probabilities of the tokens that
  spell the value, `null` included. There is no closed set to renormalise over, so the raw
  probability is used: never more than the value's probability under the schema, a
  conservative reading.

Everything here is a pure function of its arguments; nothing does I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from labelwise.domain import TokenLogprob
from labelwise.scoring.json_regions import (
    ROOT,
    WHITESPACE,
    Member,
    Region,
    members_of,
    string_end,
)
from labelwise.scoring.token_distribution import (
    after_lead,
    alternatives,
    probability,
    token_at,
    token_starts,
    unseen_bound,
)

# What may follow a complete scalar value in JSON.
_VALUE_END = ",}]" + WHITESPACE


@dataclass(frozen=True)
class _Value:
    """One field's value in the content: the member it is the value of and its span."""

    member: Member
    start: int
    end: int  # exclusive

    def raw(self, content: str) -> str:
        return content[self.start : self.end]


def value_end(content: str, start: int) -> int:
    """The offset just past the JSON value starting at `start`; -1 when it is not complete."""
    if start >= len(content):
        return -1
    first = content[start]
    if first == '"':
        end = string_end(content, start + 1)
        return end + 1 if end >= 0 else -1
    if first in "[{":
        depth, i = 0, start
        while i < len(content):
            c = content[i]
            if c == '"':
                i = string_end(content, i + 1)
                if i < 0:
                    return -1
            elif c in "[{":
                depth += 1
            elif c in "]}":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        return -1
    i = start
    while i < len(content) and content[i] not in _VALUE_END:
        i += 1
    return i if i < len(content) else -1


def same_json(a: Any, b: Any) -> bool:
    """Equal as JSON values: `true` is not `1`, `12` is `12.0`."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _spellings(value: Any) -> set[str]:
    return {json.dumps(value, ensure_ascii=False), json.dumps(value)}


def _consistent(candidate: str, form: str) -> bool:
    """Whether value text `candidate` can still become `form`, or is `form` already closed."""
    if form.startswith(candidate):
        return True
    return candidate.startswith(form) and candidate[len(form)] in _VALUE_END


def _open(forms: Mapping[int, set[str]], candidate: str) -> set[int]:
    """The choices that value text `candidate` can still become (or already is)."""
    return {c for c, spelled in forms.items() if any(_consistent(candidate, f) for f in spelled)}


def _choice_share(
    token: TokenLogprob,
    *,
    before: str,
    lead: str,
    exact: int,
    forms: Mapping[int, set[str]],
    chosen: int,
) -> float:
    """The chosen value's share of the allowed values' probability at one token position."""
    if not token.top:
        return probability(token.logprob)
    chosen_mass = allowed_mass = 0.0
    seen: set[int] = set()
    for text, prob in alternatives(token).items():
        # Only the first token can carry text before the value (`":"pai`).
        part = after_lead(text, lead, exact, in_string=False) if not before else text
        if not part:
            continue  # no value text: it says nothing about which value follows
        consistent = _open(forms, before + part)
        if not consistent:
            continue  # a forbidden continuation: outside the allowed distribution
        seen |= consistent
        allowed_mass += prob
        chosen_mass += prob if chosen in consistent else 0.0
    allowed_mass += unseen_bound(token) * len(set(forms) - seen - {chosen})
    return chosen_mass / allowed_mass if allowed_mass > 0 else 0.0


def choice_confidence(
    tokens: Sequence[TokenLogprob], content: str, value: _Value, choices: Sequence[Any]
) -> float | None:
    """P(the emitted value | the value is one of `choices`), as a product over the positions
    where the choices were still open."""
    raw = value.raw(content)
    parsed = json.loads(raw)
    chosen = next((i for i, c in enumerate(choices) if same_json(c, parsed)), None)
    if chosen is None:
        return None
    forms = {i: _spellings(c) for i, c in enumerate(choices)}
    forms[chosen] = forms[chosen] | {raw}
    starts = token_starts(tokens)
    j = first = token_at(tokens, starts, value.start)
    if first is None:
        return None
    open_choices = dict(forms)
    confidence = 1.0
    # Up to the token after the value: `1` is only settled against `10` once `,` follows.
    while j < len(tokens) and starts[j] <= value.end and set(open_choices) - {chosen}:
        token, is_first = tokens[j], j == first
        confidence *= _choice_share(
            token,
            before="" if is_first else content[value.start : starts[j]],
            lead=token.token[: value.start - starts[j]] if is_first else "",
            exact=max(0, value.member.key_end + 1 - starts[j]) if is_first else 0,
            forms=open_choices,
            chosen=chosen,
        )
        j += 1
        if j < len(tokens):
            emitted = content[value.start : starts[j]]
            open_choices = {c: forms[c] for c in _open(open_choices, emitted)}
    return min(max(confidence, 0.0), 1.0)


def spelled_confidence(tokens: Sequence[TokenLogprob], value: _Value) -> float | None:
    """The product of the probabilities of the tokens that spell the value."""
    starts = token_starts(tokens)
    first = token_at(tokens, starts, value.start)
    if first is None:
        return None
    confidence = 1.0
    j = first
    while j < len(tokens) and starts[j] < value.end:
        confidence *= probability(tokens[j].logprob)
        j += 1
    return min(max(confidence, 0.0), 1.0)


def _values(content: str, region: Region, under: tuple[str, ...]) -> dict[str, _Value]:
    found: dict[str, _Value] = {}
    for member in members_of(content):
        # Duplicate keys: the parser keeps the last one, so that is the value that was used.
        if region.holds(member, under=under):
            end = value_end(content, member.value_start)
            if end >= 0:
                found[member.key] = _Value(member, member.value_start, end)
            else:
                found.pop(member.key, None)
    return found


def field_confidences(
    tokens: Sequence[TokenLogprob],
    *,
    values: Mapping[str, Any],
    choices: Mapping[str, Sequence[Any] | None],
    region: Region = ROOT,
    under: tuple[str, ...] = ("fields",),
) -> dict[str, float | None]:
    """Per field of `values` (the parsed answer), its confidence; None for a field whose value
    cannot be found in the tokens or is not the parsed one (the score would describe something
    else). `choices[name]` lists what a choice field allows (null included); None marks a free
    field. The fields are the members of the object at `under` in `region`."""
    content = "".join(t.token for t in tokens)
    located = _values(content, region, under)
    result: dict[str, float | None] = {}
    for name, parsed in values.items():
        value = located.get(name)
        if value is None or not _parses_to(value.raw(content), parsed):
            result[name] = None
            continue
        allowed = choices.get(name)
        if allowed is None:
            result[name] = spelled_confidence(tokens, value)
        else:
            result[name] = choice_confidence(tokens, content, value, allowed)
    return result


def _parses_to(raw: str, parsed: Any) -> bool:
    try:
        return same_json(json.loads(raw), parsed)
    except ValueError:
        return False
