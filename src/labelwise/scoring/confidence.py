"""Confidence scores for a model's answer, read from token log-probabilities.

Given the generated tokens (with the provider's top-k alternatives) this reads how much
probability the model put on the chosen label *among the allowed labels*, at the positions where
the labels' spellings diverge. Finding the value in the text is `labelwise.scoring.json_regions`;
reading one position's distribution is `labelwise.scoring.token_distribution`. When the provider
gives no log-probabilities, `labelwise.scoring.self_consistency` scores repeated samples instead.

Everything here is a pure function of its arguments; nothing does I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from labelwise.domain import TokenLogprob
from labelwise.scoring.json_regions import (
    ROOT,
    Member,
    Region,
    decode_string,
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

_LITERALS = ("true", "false")


# --- Single label -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _StringValue:
    """The chosen label's string value in the content: the member it is the value of, and the
    offsets of its text between the quotes, spelled as the model wrote it."""

    member: Member
    start: int  # first character after the opening quote
    end: int  # offset of the closing quote
    raw: str


@dataclass(frozen=True)
class _ChoiceReading:
    """What stays fixed while the chosen label's tokens are read one position at a time."""

    content: str
    value: _StringValue
    spellings: Mapping[str, set[str]]
    chosen: str


def _escaped_forms(label: str) -> set[str]:
    """How `label` may be spelled inside a JSON string: raw UTF-8, or with \\u escapes."""
    return {json.dumps(label, ensure_ascii=False)[1:-1], json.dumps(label)[1:-1]}


def _consistent(candidate: str, forms: set[str]) -> bool:
    """Whether value text `candidate` can still become (or already closed as) one of `forms`."""
    return any(f.startswith(candidate) or candidate.startswith(f + '"') for f in forms)


def _chosen_string_value(
    content: str, *, key: str, chosen: str, region: Region
) -> _StringValue | None:
    """The string value of `key` in `region`, when it decodes to `chosen`; None otherwise."""
    members = [m for m in members_of(content) if m.key == key and region.holds(m)]
    if not members:
        return None
    # Duplicate keys: the JSON parser keeps the last one, so that is the value that was used.
    member = members[-1]
    if content[member.value_start : member.value_start + 1] != '"':
        return None
    start = member.value_start + 1
    end = string_end(content, start)
    if end < 0:
        return None
    raw = content[start:end]
    if decode_string(raw) != chosen:
        return None
    return _StringValue(member, start, end, raw)


def _spellings(allowed: Sequence[str], chosen: str, raw: str) -> dict[str, set[str]]:
    """Every allowed label's possible spellings inside the JSON string."""
    forms = {label: _escaped_forms(label) for label in allowed}
    # The model may escape differently from json.dumps (`\/`, mixed \u escapes); its own spelling
    # of the chosen label is by definition a valid one.
    forms[chosen] = forms[chosen] | {raw}
    return forms


def _chosen_share(
    reading: _ChoiceReading,
    token: TokenLogprob,
    token_start: int,
    *,
    first: bool,
    candidates: set[str],
) -> float:
    """The chosen label's share of the allowed labels' probability at one token position."""
    if not token.top:
        # No alternatives to renormalise over: the raw probability is the conservative read.
        return probability(token.logprob)
    value_start = reading.value.start
    emitted_before = "" if first else reading.content[value_start:token_start]
    # Only the first token can carry text before the value (`":"pos`).
    lead = token.token[: value_start - token_start] if first else ""
    exact = max(0, reading.value.member.key_end + 1 - token_start)
    chosen_mass = 0.0
    allowed_mass = 0.0
    seen: set[str] = set()
    for text, prob in alternatives(token).items():
        part = after_lead(text, lead, exact, in_string=True)
        # An alternative that emits no value text does not say which label follows;
        # letting it vote for every candidate would only inflate the score.
        if not part:
            continue
        candidate = emitted_before + part
        consistent = {c for c in candidates if _consistent(candidate, reading.spellings[c])}
        if not consistent:
            continue  # a forbidden continuation: not part of the allowed distribution
        seen |= consistent
        allowed_mass += prob
        if reading.chosen in consistent:
            chosen_mass += prob
    # A label the top-k list does not show still had some probability (see `unseen_bound`).
    allowed_mass += unseen_bound(token) * len(candidates - seen - {reading.chosen})
    return chosen_mass / allowed_mass if allowed_mass > 0 else 0.0


def _read_choice(
    reading: _ChoiceReading, tokens: Sequence[TokenLogprob], allowed: Sequence[str]
) -> float | None:
    """The product of the chosen label's shares over the positions where it was contested."""
    starts = token_starts(tokens)
    first = token_at(tokens, starts, reading.value.start)
    if first is None:
        return None
    confidence = 1.0
    candidates = set(allowed)  # labels consistent with the value text emitted so far
    j = first
    while True:
        confidence *= _chosen_share(
            reading, tokens[j], starts[j], first=j == first, candidates=candidates
        )
        j += 1
        if j >= len(tokens) or starts[j] > reading.value.end:
            break  # the closing quote is out: the value is fully determined
        emitted = reading.content[reading.value.start : starts[j]]
        candidates = {
            c for c in candidates if any(f.startswith(emitted) for f in reading.spellings[c])
        }
        if candidates <= {reading.chosen}:
            break
    return min(max(confidence, 0.0), 1.0)


def label_choice_confidence(
    tokens: Sequence[TokenLogprob],
    *,
    key: str,
    labels: Sequence[str],
    chosen: str,
    region: Region = ROOT,
) -> float | None:
    """P(`chosen` | the answer is one of `labels`), read where the labels' spellings diverge.

    The sampled token's own probability is not the answer: a label spread over several tokens
    is only contested where it could still become another label, and the provider reports the
    unconstrained distribution (capitalised variants, forbidden tokens), which we renormalise
    over the allowed labels. Returns None when `key` has no string value equal to `chosen`
    in `region`.
    """
    allowed = list(dict.fromkeys(labels))
    if chosen not in allowed:
        return None
    content = "".join(t.token for t in tokens)
    value = _chosen_string_value(content, key=key, chosen=chosen, region=region)
    if value is None:
        return None
    spellings = _spellings(allowed, chosen, value.raw)
    return _read_choice(_ChoiceReading(content, value, spellings, chosen), tokens, allowed)


# --- Multi label --------------------------------------------------------------------------------


def _boolean_share(token: TokenLogprob, *, lead: str, exact: int, emitted: str) -> float:
    """P(`emitted` | the literal is `true` or `false`) at the token where the literal starts."""
    if not token.top:
        return min(probability(token.logprob), 1.0)
    masses = dict.fromkeys(_LITERALS, 0.0)
    for text, prob in alternatives(token).items():
        part = after_lead(text, lead, exact, in_string=False)
        if not part:
            continue
        for literal in _LITERALS:
            if literal.startswith(part) or part.startswith(literal):
                masses[literal] += prob
                break
    other = "false" if emitted == "true" else "true"
    if masses[other] == 0.0:
        masses[other] = unseen_bound(token)
    total = masses["true"] + masses["false"]
    return min(masses[emitted] / total, 1.0) if total > 0 else 0.0


def boolean_confidences(
    tokens: Sequence[TokenLogprob],
    *,
    labels: Sequence[str],
    values: Mapping[str, bool],
    region: Region = ROOT,
) -> dict[str, float] | None:
    """Per label, P(emitted boolean | the value is `true` or `false`) in `{"labels": {...}}`
    (of the answer object in `region`).

    Returns None when a label's boolean cannot be found in the `"labels"` object or disagrees
    with `values` (the parsed answer), since the score would then describe something else.
    """
    content = "".join(t.token for t in tokens)
    found: dict[str, Member] = {}
    for member in members_of(content):
        # Only keys of the "labels" object: a label name elsewhere (a rationale) is not a vote.
        if region.holds(member, under=("labels",)):
            found[member.key] = member
    starts = token_starts(tokens)
    result: dict[str, float] = {}
    for label in dict.fromkeys(labels):
        if label not in found or label not in values:
            return None
        member = found[label]
        start = member.value_start
        emitted = "true" if values[label] else "false"
        if not content.startswith(emitted, start):
            return None
        index = token_at(tokens, starts, start)
        if index is None:
            return None
        result[label] = _boolean_share(
            tokens[index],
            lead=tokens[index].token[: start - starts[index]],
            exact=max(0, member.key_end + 1 - starts[index]),
            emitted=emitted,
        )
    return result


def combine_label_confidences(per_label: Mapping[str, float]) -> float:
    """Item confidence for a multi-label answer: the weakest label decides how it is routed."""
    return min(per_label.values(), default=0.0)
