"""Which task's answer a schema asks for, told from the schema alone.

A labelwise answer object carries one property that says what it is (after an optional
`rationale`, and an `id` in an answer about several items): `entities` (an array of objects with
`text` and `label`: spans), `fields` (an object of the user's fields: extraction), `score` (an
integer enum: rating) or `winner` (a string enum holding `A` and `B`: pairwise). Anything else
(classification's `label`/`labels`, any other schema) is no shape here and is answered by the
plain schema walk. Pure functions of the schema.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

Schema = dict[str, Any]
Resolver = Callable[[Schema], Schema]
ShapeKind = Literal["spans", "extraction", "rating", "pairwise"]


@dataclass(frozen=True)
class Shape:
    kind: ShapeKind
    key: str  # the property whose value the shape writes


def answer_shape(properties: dict[str, Any], resolve: Resolver) -> Shape | None:
    """The shape of an answer object with these `properties`, or None."""
    if "label" in properties or "labels" in properties:
        return None
    checks: tuple[tuple[str, ShapeKind, Callable[[Schema, Resolver], bool]], ...] = (
        ("entities", "spans", _is_entities),
        ("fields", "extraction", _is_fields),
        ("score", "rating", _is_score),
        ("winner", "pairwise", _is_winner),
    )
    for key, kind, check in checks:
        sub = properties.get(key)
        if isinstance(sub, dict) and check(resolve(sub), resolve):
            return Shape(kind, key)
    return None


def _is_entities(schema: Schema, resolve: Resolver) -> bool:
    items = schema.get("items")
    if schema.get("type") != "array" or not isinstance(items, dict):
        return False
    properties = resolve(items).get("properties")
    return isinstance(properties, dict) and {"text", "label"} <= set(properties)


def _is_fields(schema: Schema, resolve: Resolver) -> bool:
    return schema.get("type") == "object" and isinstance(schema.get("properties"), dict)


def integer_scores(schema: Schema) -> list[int] | None:
    """The scores a rating's `score` may take: its integer enum, or its integer range."""
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        if all(isinstance(v, int) and not isinstance(v, bool) for v in enum):
            return list(dict.fromkeys(enum))
        return None
    low, high = schema.get("minimum"), schema.get("maximum")
    bounded = isinstance(low, int) and isinstance(high, int) and 0 <= high - low <= 100
    if schema.get("type") == "integer" and bounded:
        return list(range(low, high + 1))
    return None


def _is_score(schema: Schema, resolve: Resolver) -> bool:
    return integer_scores(schema) is not None


def _is_winner(schema: Schema, resolve: Resolver) -> bool:
    enum = schema.get("enum")
    return (
        isinstance(enum, list) and {"A", "B"} <= set(enum) and all(isinstance(v, str) for v in enum)
    )


def nullable_inner(schema: Schema) -> tuple[Schema, bool]:
    """A field's schema without its `null` option, and whether it had one (`["string", "null"]`,
    `anyOf: [..., {"type": "null"}]`, an enum holding null)."""
    options = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(options, list):
        rest = [o for o in options if isinstance(o, dict) and o.get("type") != "null"]
        inner = dict(rest[0]) if rest else {}
        return inner, len(rest) < len(options)
    inner = dict(schema)
    nullable = False
    kind = inner.get("type")
    if isinstance(kind, list):
        nullable = "null" in kind
        kinds = [k for k in kind if k != "null"]
        inner["type"] = kinds[0] if kinds else "null"
    enum = inner.get("enum")
    if isinstance(enum, list) and None in enum:
        nullable = True
        inner["enum"] = [v for v in enum if v is not None]
    return inner, nullable
