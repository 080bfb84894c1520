"""The spans answer: its schema and model, and turning the entities it names into spans.

The model answers `{"entities": [{"text": ..., "label": ..., "occurrence": k}, ...]}`: the text
of the entity as it appears in the item, its type (an enum of the project's entity types), and
which occurrence of that text it means (1 = first). It never gives offsets; they are found in
code (`labelwise.scoring.span_location`), so a value's `text` is always the slice it points at.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from labelwise.scoring.span_location import locate, occurrence_of, without_overlaps
from labelwise.spec import TaskSpec
from labelwise.tasks.base import RATIONALE_CHARS, answer_object, strict_object

# Answers are judged strictly: no coercion of "2" to 2, no unknown keys.
_ANSWER_CONFIG = ConfigDict(extra="forbid", strict=True)
# To size max_tokens: room for this many entities of up to this many characters of text each
# (a token is at least one character, so this is generous for typical entities). A longer
# answer is cut off by the provider and goes to review as truncated; a project with long
# documents sets the model's `max_tokens` itself.
ENTITY_BUDGET = 64
ENTITY_TEXT_CHARS = 40


@dataclass(frozen=True)
class Entity:
    """One entity as the answer names it."""

    text: str
    label: str
    occurrence: int


@dataclass(frozen=True)
class Located:
    """The answer's entities found in the text: the spans (sorted by position), for each span
    the position of the entity that gave it in the answer, and whether an entity was not
    found."""

    spans: list[dict[str, Any]]
    sources: list[int]
    missing: bool


def entity_schema(names: Sequence[str]) -> dict[str, Any]:
    properties = {
        "text": {"type": "string", "description": "the entity exactly as written in the text"},
        "label": {"type": "string", "enum": list(names)},
        "occurrence": {
            "type": "integer",
            "minimum": 1,
            "description": "which occurrence of this text is meant: 1 for the first",
        },
    }
    return strict_object(properties)


def answer_schema(names: Sequence[str], *, rationale: bool = False) -> dict[str, Any]:
    """A rationale comes first, so the model reasons before it names entities (constrained
    decoding writes properties in schema order)."""
    entities = {"type": "array", "items": entity_schema(names)}
    return answer_object({"entities": entities}, rationale=rationale)


def answer_model(names: Sequence[str], *, rationale: bool = False) -> type[BaseModel]:
    allowed: Any = Literal.__getitem__(tuple(names))
    entity = create_model(
        "NamedEntity",
        __config__=_ANSWER_CONFIG,
        text=(str, ...),
        label=(allowed, ...),
        occurrence=(int, Field(ge=1)),
    )
    fields: dict[str, Any] = {"entities": (list[entity], ...)}  # type: ignore[valid-type]
    if rationale:
        fields = {"rationale": (str, ...), **fields}
    return create_model("EntityList", __config__=_ANSWER_CONFIG, **fields)


def max_answer_chars(names: Sequence[str], *, rationale: bool) -> int:
    widest = max(names, key=lambda name: len(json.dumps(name)))
    one = {"text": "x" * ENTITY_TEXT_CHARS, "label": widest, "occurrence": 99}
    per_entity = len(json.dumps(one, ensure_ascii=False)) + 8  # indentation and the comma
    return 40 + ENTITY_BUDGET * per_entity + (RATIONALE_CHARS if rationale else 0)


def entities(answer: BaseModel) -> list[Entity]:
    return [Entity(e.text, e.label, e.occurrence) for e in getattr(answer, "entities", [])]


def item_text(task: TaskSpec, data: Mapping[str, Any]) -> str:
    """The text spans point into; an item without one has no entity to find."""
    text = data.get(task.text_field)
    return text if isinstance(text, str) else ""


def locate_entities(text: str, named: Sequence[Entity]) -> Located:
    """The spans the entities point at. An entity not in the text is dropped (and `missing`
    says so); of entities that overlap, the one named first is kept."""
    found: list[tuple[int, int, int, str]] = []
    missing = False
    for position, entity in enumerate(named):
        where = locate(text, entity.text, entity.occurrence)
        if where is None:
            missing = True
            continue
        found.append((position, where.start, where.end, entity.label))
    kept = [found[k] for k in without_overlaps([(s, e, label) for _, s, e, label in found])]
    kept.sort(key=lambda f: (f[1], f[2]))
    spans = [
        {"start": start, "end": end, "label": label, "text": text[start:end]}
        for _, start, end, label in kept
    ]
    return Located(spans, [position for position, *_ in kept], missing)


def answer_json(text: str, spans: Sequence[Mapping[str, Any]]) -> str:
    """Spans as the model should name them (text, label, occurrence), for few-shot examples."""
    named = [
        {
            "text": text[span["start"] : span["end"]],
            "label": span["label"],
            "occurrence": occurrence_of(text, span["start"], span["end"]),
        }
        for span in sorted(spans, key=lambda s: (s["start"], s["end"]))
    ]
    return json.dumps({"entities": named}, ensure_ascii=False)
