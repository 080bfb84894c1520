"""Confidence scores for a model's answer: from token log-probabilities, or from sample agreement.

This module owns the arithmetic only. Given the generated tokens (with the provider's top-k
alternatives) it reads how much probability the model put on the chosen label *among the allowed
labels*, at the positions where the labels' spellings diverge. It also owns the agreement scores
used when the provider gives no log-probabilities and we sample several answers instead.

Everything here is a pure function of its arguments; nothing does I/O.
"""

from __future__ import annotations

import json
import math
from bisect import bisect_right
from collections import Counter
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from labelwise.domain import TokenLogprob

_WHITESPACE = " \t\n\r"
_LITERALS = ("true", "false")


# --- Locating values in the generated JSON ----------------------------------------------------


@dataclass(frozen=True)
class _Member:
    """One `"key": value` pair of a JSON object in the content."""

    # Keys of the enclosing containers, outermost first; None for the root or for an array.
    path: tuple[str | None, ...]
    key: str
    key_end: int  # offset of the quote closing the key
    value_start: int  # offset of the first character of the value


def _string_end(content: str, start: int) -> int:
    """Offset of the quote closing a JSON string whose body starts at `start`; -1 if unclosed."""
    i = start
    while i < len(content):
        c = content[i]
        if c == "\\":
            i += 2
            continue
        if c == '"':
            return i
        i += 1
    return -1


def _decode_string(raw: str) -> str | None:
    """The text of a JSON string body, or None when the escapes are malformed."""
    try:
        value = json.loads(f'"{raw}"')
    except ValueError:
        return None
    return value if isinstance(value, str) else None


def _skip_whitespace(content: str, i: int) -> int:
    while i < len(content) and content[i] in _WHITESPACE:
        i += 1
    return i


@lru_cache(maxsize=64)
def _members_of(content: str) -> tuple[_Member, ...]:
    """`_members`, remembered: every item of a request about several reads the same content."""
    return tuple(_members(content))


def _members(content: str) -> Iterator[_Member]:
    """Every object member in `content`, found by a small scanner that knows strings.

    A scanner rather than a regex because a key's spelling may also appear inside another string
    (a rationale quoting `"label": "x"`); only structural keys count. It tolerates content the
    parser would reject (a truncated tail), yielding what it found before the damage.
    """
    stack: list[tuple[str, str | None]] = []  # (bracket, key the container is the value of)
    pending_key: str | None = None
    i = 0
    while i < len(content):
        c = content[i]
        if c == '"':
            end = _string_end(content, i + 1)
            if end < 0:
                return
            after = _skip_whitespace(content, end + 1)
            is_key = bool(stack) and stack[-1][0] == "{" and content[after : after + 1] == ":"
            if is_key:
                key = _decode_string(content[i + 1 : end])
                if key is not None:
                    path = tuple(name if bracket == "{" else None for bracket, name in stack)
                    yield _Member(path, key, end, _skip_whitespace(content, after + 1))
                pending_key = key
                i = after + 1
                continue
            i = end + 1
            continue
        if c in "{[":
            stack.append((c, pending_key))
            pending_key = None
        elif c in "}]":
            if stack:
                stack.pop()
            pending_key = None
        elif c == ",":
            pending_key = None
        i += 1


@dataclass(frozen=True)
class Region:
    """Where one answer object sits in the generated content: the container path its members
    have (see `_Member.path`) and the character span it occupies. The default is the whole
    content as one root object; an answer for several items holds one region per item."""

    path: tuple[str | None, ...] = (None,)
    start: int = 0
    end: int | None = None

    def holds(self, member: _Member, *, under: tuple[str, ...] = ()) -> bool:
        if member.path != self.path + under:
            return False
        return self.start <= member.key_end and (self.end is None or member.key_end < self.end)


ROOT = Region()
# The members of an object inside an array that is the value of a root member.
_ELEMENT_PATH: tuple[str | None, ...] = (None, None, None)


def array_elements(content: str, key: str) -> list[Region]:
    """The regions of the objects in the array under the root member `key`, in order.

    An answer about several items is `{"<key>": [{...}, {...}]}`; each item's confidence is
    read only inside its own object. A truncated tail yields the objects completed before it.
    """
    member = next((m for m in _members_of(content) if m.path == (None,) and m.key == key), None)
    if member is None or content[member.value_start : member.value_start + 1] != "[":
        return []
    regions: list[Region] = []
    depth, start = 0, 0
    i = member.value_start + 1
    while i < len(content):
        c = content[i]
        if c == '"':
            end = _string_end(content, i + 1)
            if end < 0:
                break
            i = end + 1
            continue
        if c in "{[":
            if depth == 0:
                start = i
            depth += 1
        elif c in "}]":
            if depth == 0:
                break  # the array's own closing bracket
            depth -= 1
            if depth == 0 and content[start] == "{":
                regions.append(Region(_ELEMENT_PATH, start, i + 1))
        i += 1
    return regions


def _token_starts(tokens: Sequence[TokenLogprob]) -> list[int]:
    starts: list[int] = []
    offset = 0
    for token in tokens:
        starts.append(offset)
        offset += len(token.token)
    return starts


def _token_at(tokens: Sequence[TokenLogprob], starts: Sequence[int], offset: int) -> int | None:
    """Index of the token whose text covers character `offset` (empty tokens cover nothing)."""
    # Of tokens starting at the same offset, all but the last are empty.
    index = bisect_right(starts, offset) - 1
    if index >= 0 and offset < starts[index] + len(tokens[index].token):
        return index
    return None


# --- Reading the distribution at one token position --------------------------------------------


def _prob(logprob: float) -> float:
    """exp(logprob), robust to the odd values providers send (NaN, -inf, tiny positive)."""
    if math.isnan(logprob):
        return 0.0
    # A logprob above 0 is a rounding artifact; capping avoids probabilities above 1 (or overflow).
    return math.exp(min(logprob, 0.0))


def _alternatives(token: TokenLogprob) -> dict[str, float]:
    """The alternatives at a position as text -> probability, including the emitted token.

    Providers sometimes list the same text twice (distinct token ids decoding alike, or a plain
    duplicate); we keep the larger entry rather than summing so a duplicate cannot double-count.
    """
    by_text: dict[str, float] = {}
    for text, logprob in token.top:
        by_text[text] = max(by_text.get(text, 0.0), _prob(logprob))
    # Some providers omit the sampled token from `top` (it fell outside k under their ranking).
    by_text.setdefault(token.token, _prob(token.logprob))
    return by_text


def _unseen_bound(token: TokenLogprob) -> float:
    """The most probability an alternative missing from the top-k list can have had: no more
    than the least likely token listed, and no more than the mass the list leaves over."""
    listed = [_prob(logprob) for _, logprob in token.top]
    if not listed:
        return 0.0
    left_over = max(0.0, 1.0 - sum(_alternatives(token).values()))
    return min(min(listed), left_over)


def _after_lead(alternative: str, lead: str, exact: int, *, in_string: bool) -> str | None:
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
        return alternative if in_string else alternative.lstrip(_WHITESPACE)
    if not alternative.startswith(lead[:exact]):
        return None
    structure = lead[exact:]
    if in_string:
        structure = structure[:-1]  # the value's opening quote, matched below
    i = _skip_whitespace(alternative, exact)
    if ":" in structure:
        if alternative[i : i + 1] != ":":
            return None
        i = _skip_whitespace(alternative, i + 1)
    if in_string:
        if alternative[i : i + 1] != '"':
            return None
        i += 1
    return alternative[i:]


# --- Single label -------------------------------------------------------------------------------


def _escaped_forms(label: str) -> set[str]:
    """How `label` may be spelled inside a JSON string: raw UTF-8, or with \\u escapes."""
    return {json.dumps(label, ensure_ascii=False)[1:-1], json.dumps(label)[1:-1]}


def _consistent(candidate: str, forms: set[str]) -> bool:
    """Whether value text `candidate` can still become (or already closed as) one of `forms`."""
    return any(f.startswith(candidate) or candidate.startswith(f + '"') for f in forms)


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
    members = [m for m in _members_of(content) if m.key == key and region.holds(m)]
    if not members:
        return None
    # Duplicate keys: the JSON parser keeps the last one, so that is the value that was used.
    member = members[-1]
    value_start = member.value_start
    if content[value_start : value_start + 1] != '"':
        return None
    v0 = value_start + 1
    v_end = _string_end(content, v0)
    if v_end < 0:
        return None
    raw_value = content[v0:v_end]
    if _decode_string(raw_value) != chosen:
        return None

    forms = {label: _escaped_forms(label) for label in allowed}
    # The model may escape differently from json.dumps (`\/`, mixed \u escapes); its own spelling
    # of the chosen label is by definition a valid one.
    forms[chosen] = forms[chosen] | {raw_value}

    starts = _token_starts(tokens)
    first = _token_at(tokens, starts, v0)
    if first is None:
        return None

    confidence = 1.0
    candidates = set(allowed)  # labels consistent with the value text emitted so far
    j = first
    while True:
        token = tokens[j]
        emitted_before = "" if j == first else content[v0 : starts[j]]
        if not token.top:
            # No alternatives to renormalise over: the raw probability is the conservative read.
            factor = _prob(token.logprob)
        else:
            # Only the first token can carry text before the value (`":"pos`).
            lead = token.token[: v0 - starts[j]] if j == first else ""
            exact = max(0, member.key_end + 1 - starts[j])
            chosen_mass = 0.0
            allowed_mass = 0.0
            seen: set[str] = set()
            for text, prob in _alternatives(token).items():
                part = _after_lead(text, lead, exact, in_string=True)
                # An alternative that emits no value text does not say which label follows;
                # letting it vote for every candidate would only inflate the score.
                if not part:
                    continue
                candidate = emitted_before + part
                consistent = {c for c in candidates if _consistent(candidate, forms[c])}
                if not consistent:
                    continue  # a forbidden continuation: not part of the allowed distribution
                seen |= consistent
                allowed_mass += prob
                if chosen in consistent:
                    chosen_mass += prob
            # A label the top-k list does not show still had some probability: at most that of
            # the least likely token listed. Without this bound, a model that ranks forbidden
            # tokens above every allowed one (a real server under a grammar returns the
            # unconstrained distribution) would look certain of whichever label it was forced to.
            allowed_mass += _unseen_bound(token) * len(candidates - seen - {chosen})
            factor = chosen_mass / allowed_mass if allowed_mass > 0 else 0.0
        confidence *= factor

        j += 1
        if j >= len(tokens) or starts[j] > v_end:
            break  # the closing quote is out: the value is fully determined
        emitted = content[v0 : starts[j]]
        candidates = {c for c in candidates if any(f.startswith(emitted) for f in forms[c])}
        if candidates <= {chosen}:
            break
    return min(max(confidence, 0.0), 1.0)


# --- Multi label --------------------------------------------------------------------------------


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
    found: dict[str, _Member] = {}
    for member in _members_of(content):
        # Only keys of the "labels" object: a label name elsewhere (a rationale) is not a vote.
        if region.holds(member, under=("labels",)):
            found[member.key] = member
    starts = _token_starts(tokens)
    result: dict[str, float] = {}
    for label in dict.fromkeys(labels):
        if label not in found or label not in values:
            return None
        member = found[label]
        start = member.value_start
        emitted_value = "true" if values[label] else "false"
        if not content.startswith(emitted_value, start):
            return None
        index = _token_at(tokens, starts, start)
        if index is None:
            return None
        token = tokens[index]
        if not token.top:
            result[label] = min(_prob(token.logprob), 1.0)
            continue
        lead = token.token[: start - starts[index]]
        exact = max(0, member.key_end + 1 - starts[index])
        masses = dict.fromkeys(_LITERALS, 0.0)
        for text, prob in _alternatives(token).items():
            part = _after_lead(text, lead, exact, in_string=False)
            if not part:
                continue
            for literal in _LITERALS:
                if literal.startswith(part) or part.startswith(literal):
                    masses[literal] += prob
                    break
        other = "false" if emitted_value == "true" else "true"
        if masses[other] == 0.0:
            masses[other] = _unseen_bound(token)  # see label_choice_confidence
        total = masses["true"] + masses["false"]
        result[label] = min(masses[emitted_value] / total, 1.0) if total > 0 else 0.0
    return result


def combine_label_confidences(per_label: Mapping[str, float]) -> float:
    """Item confidence for a multi-label answer: the weakest label decides how it is routed."""
    return min(per_label.values(), default=0.0)


# --- Agreement across samples -------------------------------------------------------------------


def agreement(values: Sequence[Hashable]) -> tuple[Hashable, float]:
    """The majority value across samples and the share of samples that gave it.

    Ties go to the value seen first, so the result does not depend on hash order.
    """
    if not values:
        raise ValueError("agreement needs at least one sample")
    counts = Counter(values)  # insertion-ordered: first-seen values come first
    best, best_count = values[0], 0
    for value, count in counts.items():
        if count > best_count:
            best, best_count = value, count
    return best, best_count / len(values)


def per_label_agreement(
    samples: Sequence[frozenset[str]], labels: Sequence[str]
) -> tuple[frozenset[str], dict[str, float]]:
    """Per label, the majority yes/no over samples and the share agreeing with it.

    A tie counts as "no": a label is only asserted when most samples assert it.
    """
    if not samples:
        raise ValueError("per_label_agreement needs at least one sample")
    chosen: set[str] = set()
    shares: dict[str, float] = {}
    for label in dict.fromkeys(labels):
        yes = sum(1 for sample in samples if label in sample)
        if 2 * yes > len(samples):
            chosen.add(label)
            shares[label] = yes / len(samples)
        else:
            shares[label] = (len(samples) - yes) / len(samples)
    return frozenset(chosen), shares
