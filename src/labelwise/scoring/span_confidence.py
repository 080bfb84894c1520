"""How sure the model was of the entities it named, read from token logprobs.

An answer is `{"entities": [{"text": ..., "label": ..., "occurrence": ...}, ...]}`. Per entity:
- the label's probability among the entity types, read in that entity's own object with
  `confidence.label_choice_confidence` (the label enum is renormalised as for classification);
- the text's probability: the product of the probabilities of the tokens that spell the string,
  from its first character through its closing quote (ending the text there is part of choosing
  it). Inside the string the schema constrains nothing, so each token's reported probability is
  already the allowed distribution and is used as is. Only the first token may also carry the
  fixed structure before the value (`":"Par`); there the probability is renormalised over the
  alternatives that keep that structure, as a grammar would.
An entity's confidence is label x text. The occurrence number is not scored: it only says which
copy of the text is meant.

With no entity, the question is whether the list is empty at all: at the first character after
`[`, `]` (empty) competes with `{` (an entity follows); whitespace-only alternatives decide
nothing and are left out. The score is P(`]`) / (P(`]`) + P(`{`)), with an unlisted `{` bounded
by `token_distribution.unseen_bound`.

Pure functions; nothing does I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from labelwise.domain import TokenLogprob
from labelwise.scoring.confidence import label_choice_confidence
from labelwise.scoring.json_regions import (
    WHITESPACE,
    Member,
    Region,
    decode_string,
    members_of,
    object_elements,
    skip_whitespace,
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

ENTITIES_KEY = "entities"


@dataclass(frozen=True)
class EntityConfidence:
    label: float
    text: float

    @property
    def score(self) -> float:
        return self.label * self.text


def _entities_member(content: str, region: Region) -> Member | None:
    found = [m for m in members_of(content) if m.key == ENTITIES_KEY and region.holds(m)]
    if not found or content[found[-1].value_start : found[-1].value_start + 1] != "[":
        return None
    return found[-1]


def entity_regions(content: str, region: Region) -> list[Region]:
    """The regions of the entity objects of the answer in `region`, in order."""
    member = _entities_member(content, region)
    if member is None:
        return []
    return object_elements(content, member.value_start, (*region.path, None, None))


def _first_token_share(token: TokenLogprob, lead: str, exact: int) -> float:
    """The emitted first token's probability among those that keep the structure before the
    value (`lead`); with no structure in the token, its plain probability."""
    emitted = probability(token.logprob)
    if not lead or not token.top:
        return emitted
    kept = sum(
        prob
        for text, prob in alternatives(token).items()
        if after_lead(text, lead, exact, in_string=True) is not None
    )
    return min(emitted / kept, 1.0) if kept > 0 else 0.0


def text_confidence(tokens: Sequence[TokenLogprob], region: Region, text: str) -> float | None:
    """P(the string value of `"text"` in `region`), or None when it is not there as `text`."""
    content = "".join(t.token for t in tokens)
    members = [m for m in members_of(content) if m.key == "text" and region.holds(m)]
    if not members or content[members[-1].value_start : members[-1].value_start + 1] != '"':
        return None
    member = members[-1]
    start = member.value_start + 1
    end = string_end(content, start)
    if end < 0 or decode_string(content[start:end]) != text:
        return None
    starts = token_starts(tokens)
    first, last = token_at(tokens, starts, start), token_at(tokens, starts, end)
    if first is None or last is None:
        return None
    lead = tokens[first].token[: start - starts[first]]
    score = _first_token_share(tokens[first], lead, max(0, member.key_end + 1 - starts[first]))
    for index in range(first + 1, last + 1):
        score *= probability(tokens[index].logprob)
    return min(max(score, 0.0), 1.0)


def entity_confidences(
    tokens: Sequence[TokenLogprob],
    entities: Sequence[tuple[str, str]],
    labels: Sequence[str],
    region: Region,
) -> list[EntityConfidence] | None:
    """Per entity (text, label) of the answer in `region`, in order, its label and text
    probabilities; None when the entities cannot all be found in the tokens as parsed."""
    content = "".join(t.token for t in tokens)
    regions = entity_regions(content, region)
    if len(regions) != len(entities):
        return None
    result: list[EntityConfidence] = []
    for (text, label), element in zip(entities, regions, strict=True):
        label_score = label_choice_confidence(
            tokens, key="label", labels=labels, chosen=label, region=element
        )
        text_score = text_confidence(tokens, element, text)
        if label_score is None or text_score is None:
            return None
        result.append(EntityConfidence(label_score, text_score))
    return result


def empty_list_confidence(tokens: Sequence[TokenLogprob], region: Region) -> float | None:
    """P(the entity list is empty | it is empty or starts an entity), read at the first
    character after `[`; None when the answer's list is not an empty one in the tokens."""
    content = "".join(t.token for t in tokens)
    member = _entities_member(content, region)
    if member is None:
        return None
    decision = skip_whitespace(content, member.value_start + 1)
    if content[decision : decision + 1] != "]":
        return None
    starts = token_starts(tokens)
    index = token_at(tokens, starts, decision)
    if index is None:
        return None
    token = tokens[index]
    if not token.top:
        return probability(token.logprob)
    lead = token.token[: decision - starts[index]].rstrip(WHITESPACE)
    closes = opens = 0.0
    for text, prob in alternatives(token).items():
        if not text.startswith(lead):
            continue
        rest = text[len(lead) :].lstrip(WHITESPACE)
        if rest.startswith("]"):
            closes += prob
        elif rest.startswith("{"):
            opens += prob
    opens = opens or unseen_bound(token)
    return closes / (closes + opens) if closes + opens > 0 else 0.0
