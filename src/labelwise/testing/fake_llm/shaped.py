"""Writing the answers of labelwise's task shapes: entities, fields, a score, a winner.

`shapes` tells which shape an answer object has; this module spells the shaped property's value
with the writer's tokens, drawing each choice from the beliefs of `entities`, `fields`,
`ratings` and `preference`. Every choice is a scored token whose alternatives are the fake's
whole distribution there: an entity's type over the types, a field's value against null, the
score over the scale at its digit token, the winner over the options. What is not a choice (an
entity's text, an occurrence) is certain, except a misread entity text, which is in doubt where
it leaves the real one.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from labelwise.testing.fake_llm.entities import Entity, entities
from labelwise.testing.fake_llm.fields import enum_field_distribution, field_belief
from labelwise.testing.fake_llm.preference import preference_distribution
from labelwise.testing.fake_llm.ratings import rating_distribution
from labelwise.testing.fake_llm.shapes import Shape, integer_scores, nullable_inner
from labelwise.testing.fake_llm.tokens import json_escaped, pieces, ranked, string_enum

if TYPE_CHECKING:
    from labelwise.testing.fake_llm.answer import AnswerWriter

Schema = dict[str, Any]


def write_shaped(writer: AnswerWriter, shape: Shape, schema: Schema, depth: int) -> None:
    """The value of the shape's property, under its (resolved) `schema`."""
    if shape.kind == "spans":
        _entities(writer, schema, depth)
    elif shape.kind == "extraction":
        _fields(writer, schema, depth)
    elif shape.kind == "rating":
        _score(writer, integer_scores(schema) or [])
    else:
        options = tuple(schema["enum"])
        writer.enum_string(string_enum(options), preference_distribution(writer.judge, options))


def _entities(writer: AnswerWriter, schema: Schema, depth: int) -> None:
    out = writer.out
    item = writer.resolve(schema["items"])
    properties: dict[str, Any] = item["properties"]
    enum = writer.resolve(properties["label"]).get("enum")
    labels = [v for v in enum if isinstance(v, str)] if isinstance(enum, list) else []
    notes = writer.notes()
    found = entities(writer.judge, labels, notes.labels, notes.text_field) if labels else []
    limit = schema.get("maxItems")
    if isinstance(limit, int):
        found = found[:limit]
    out.struct("[")
    for i, entity in enumerate(found):
        out.struct(", {" if i else "{")
        for j, (key, sub) in enumerate(properties.items()):
            writer.key(key, j == 0)
            if key == "text":
                _entity_text(writer, entity)
            elif key == "label":
                writer.enum_string(string_enum(tuple(labels)), entity.probs)
            elif key == "occurrence":
                out.struct(str(entity.occurrence))
            else:
                writer.value(sub if isinstance(sub, dict) else {}, name=key, depth=depth + 2)
        out.struct("}")
    out.struct("]")


def _entity_text(writer: AnswerWriter, entity: Entity) -> None:
    """The entity's text; a misread one is in doubt at its first piece that differs from the
    real text, the real text's piece (or its end) being the alternative."""
    out = writer.out
    spelled = pieces(json_escaped(entity.text))
    real = pieces(json_escaped(entity.misread_from)) if entity.misread_from else spelled
    out.struct('"')
    doubted = False
    for k, piece in enumerate(spelled):
        other = real[k] if k < len(real) else '"'
        if not doubted and piece != other:
            doubted = True
            p = 0.3 + 0.3 * writer.judge.unit("misread", entity.text)
            out.scored(piece, ranked({piece: p, other: 1.0 - p}))
        else:
            out.certain(piece)
    out.struct('"')


def _fields(writer: AnswerWriter, schema: Schema, depth: int) -> None:
    properties: dict[str, Any] = schema["properties"]
    writer.out.struct("{")
    for i, (name, sub) in enumerate(properties.items()):
        writer.key(name, i == 0)
        inner, nullable = nullable_inner(writer.resolve(sub if isinstance(sub, dict) else {}))
        _field(writer, name, writer.resolve(inner), nullable, depth + 1)
    writer.out.struct("}")


def _field(writer: AnswerWriter, name: str, schema: Schema, nullable: bool, depth: int) -> None:
    out, judge = writer.out, writer.judge
    enum = schema.get("enum")
    if isinstance(enum, list) and enum and all(isinstance(v, str) for v in enum):
        writer.enum_string(string_enum(tuple(enum)), enum_field_distribution(judge, name, schema))
        return
    if isinstance(enum, list) and enum:
        writer.enum_literal(list(dict.fromkeys(json.dumps(v) for v in enum)))
        return
    belief = field_belief(judge, name, schema)
    p, value = belief.probability, belief.value
    if value is None and not nullable:
        writer.value(schema, name=name, depth=depth)
    elif value is None:
        kind = schema.get("type")
        alternative = {"array": "[", "boolean": "false", "number": "0", "integer": "0"}
        out.scored("null", ranked({"null": p, alternative.get(kind, '"'): 1.0 - p}))
    elif isinstance(value, bool):
        if writer.spoil_here():
            out.struct('"yes"')
            return
        chosen, other = ("true", "false") if value else ("false", "true")
        doubt = {other: 1.0 - p} if not nullable else {other: (1 - p) / 2, "null": (1 - p) / 2}
        out.scored(chosen, ranked({chosen: p, **doubt}))
    elif isinstance(value, str):
        spelled = pieces(json_escaped(value))
        first = '"' + spelled[0]
        out.scored(first, ranked({first: p, "null": 1.0 - p}))
        for piece in spelled[1:]:
            out.certain(piece)
        out.struct('"')
    else:
        literal = json.dumps(value, ensure_ascii=False)
        first = literal[:1] if isinstance(value, list) else literal
        out.scored(first, ranked({first: p, "null": 1.0 - p}))
        if len(literal) > len(first):
            out.certain(literal[len(first) :])


def _score(writer: AnswerWriter, scores: list[int]) -> None:
    """The score, one token over the whole scale; an answer meant to break the schema gives a
    score just outside it."""
    if writer.spoil_here():
        writer.out.struct(json.dumps(max(scores) + 1))
        return
    values = [json.dumps(score) for score in scores]
    writer.enum_literal(values, rating_distribution(writer.judge, scores))
