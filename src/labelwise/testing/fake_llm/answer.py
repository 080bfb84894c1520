"""The fake model's answer: a JSON value valid under a schema, spelled out token by token.

This module owns walking a JSON schema (`$ref`, `anyOf`, `allOf`, objects, arrays, enums,
booleans), sampling each choice from the judge's beliefs at the request's temperature, and
spoiling an answer on purpose when the fault injector asks for one that breaks the schema.
An object in the shape of a task's answer (`shapes`: entities, fields, a score, a winner) has
that property written by `shaped`. The beliefs are `judge`'s, the tokens `tokens`'; it knows
nothing of HTTP.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from typing import Any

from labelwise.testing.fake_llm.judge import Judge
from labelwise.testing.fake_llm.request import NO_NOTES, PromptNotes
from labelwise.testing.fake_llm.shaped import write_shaped
from labelwise.testing.fake_llm.shapes import answer_shape
from labelwise.testing.fake_llm.tokens import (
    Alternative,
    StringEnum,
    Token,
    TokenWriter,
    certain_tokens,
    json_escaped,
    ranked,
    string_enum,
    with_junk,
)

_RATIONALE = "The wording of the item points to this answer."
_PLAIN_ANSWER = "This is a fake answer from the labelwise fake LLM."
_MAX_DEPTH = 32


def pick(probs: Sequence[float], temperature: float, rng: random.Random) -> int:
    """Argmax at temperature 0; otherwise a sample from the distribution sharpened by 1/T."""
    if temperature <= 1e-6:
        return max(range(len(probs)), key=probs.__getitem__)
    scaled = [p ** (1.0 / temperature) for p in probs]
    threshold = rng.random() * sum(scaled)
    for i, p in enumerate(scaled):
        threshold -= p
        if threshold < 0:
            return i
    return len(probs) - 1


class AnswerWriter:
    """Spells one answer (one choice) under a schema."""

    def __init__(
        self,
        judge: Judge,
        *,
        rng: random.Random,
        temperature: float,
        junk: bool,
        invalid: bool = False,
        pack: Sequence[tuple[str, Judge]] = (),
        drop_rate: float = 0.0,
        notes: Callable[[], PromptNotes] = lambda: NO_NOTES,
    ) -> None:
        self.judge = judge
        # What the prompt says beyond the schema, read only when an answer needs it.
        self.notes = notes
        # A request about several items: the first array of objects gets one element per item,
        # each judged on its own item, with its id written into the element's "id".
        self.pack = list(pack)
        self.drop_rate = drop_rate
        self._pack_id: str | None = None
        self.rng = rng
        self.temperature = temperature
        self.junk = junk
        # An invalid answer puts a value outside the schema at the first enum or boolean.
        self.invalid = invalid
        self._spoiled = False
        self.out = TokenWriter()
        self._root: dict[str, Any] = {}

    def write(self, schema: dict[str, Any] | None) -> list[Token]:
        if schema is None:
            return certain_tokens(_PLAIN_ANSWER)
        self._root = schema
        if self.invalid and self.rng.random() < 0.5:
            self._wrong_shape(schema)
        else:
            self.value(schema, name=None, depth=0)
            if self.invalid and not self._spoiled:
                # Nothing to spoil in place (no enum, no boolean): fall back to a wrong shape.
                self.out = TokenWriter()
                self._wrong_shape(schema)
        return self.out.finish()

    def spoil_here(self) -> bool:
        """Whether to put the wrong value here: the first place an invalid answer can."""
        if self.invalid and not self._spoiled:
            self._spoiled = True
            return True
        return False

    def _wrong_shape(self, schema: dict[str, Any]) -> None:
        """Valid JSON that cannot match: the answer wrapped in an array (or an object)."""
        is_array = self.resolve(schema).get("type") == "array"
        self.out.struct('{"answer": ' if is_array else "[")
        self._spoiled = True
        self.value(schema, name=None, depth=0)
        self.out.struct("}" if is_array else "]")

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        for _ in range(_MAX_DEPTH):
            ref = schema.get("$ref")
            if isinstance(ref, str) and ref.startswith("#"):
                target: Any = self._root
                for part in ref[1:].split("/"):
                    if part:
                        target = target.get(part.replace("~1", "/").replace("~0", "~"), {})
                schema = target if isinstance(target, dict) else {}
                continue
            options = schema.get("anyOf") or schema.get("oneOf")
            if isinstance(options, list) and options:
                non_null = [o for o in options if isinstance(o, dict) and o.get("type") != "null"]
                schema = non_null[0] if non_null else options[0]
                continue
            all_of = schema.get("allOf")
            if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], dict):
                schema = all_of[0]
                continue
            return schema
        return {}

    def value(self, schema: dict[str, Any], *, name: str | None, depth: int) -> None:
        out = self.out
        schema = self.resolve(schema)
        if depth > _MAX_DEPTH:
            out.struct("null")
            return
        if "const" in schema:
            out.struct(json.dumps(schema["const"], ensure_ascii=False))
            return
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            if all(isinstance(v, str) for v in enum):
                self.enum_string(string_enum(tuple(enum)))
            else:
                self.enum_literal(list(dict.fromkeys(json.dumps(v) for v in enum)))
            return
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in schema else "string"
        if kind == "object":
            self._object(schema, depth)
        elif kind == "array" and self.pack and isinstance(schema.get("items"), dict):
            self._pack_array(schema["items"], depth)
        elif kind == "array":
            out.struct("[")
            items = schema.get("items")
            for i in range(int(schema.get("minItems", 0) or 0)):
                if i:
                    out.struct(", ")
                self.value(items if isinstance(items, dict) else {}, name=name, depth=depth + 1)
            out.struct("]")
        elif kind == "boolean":
            self._boolean(name or "")
        elif kind in ("integer", "number"):
            out.struct(json.dumps(schema.get("minimum", 0)))
        elif kind == "null":
            out.struct("null")
        else:
            self.string(_RATIONALE)

    def _pack_array(self, items: dict[str, Any], depth: int) -> None:
        pack, self.pack = self.pack, []
        kept = [entry for entry in pack if self.rng.random() >= self.drop_rate]
        self.out.struct("[")
        for i, (item_id, judge) in enumerate(kept):
            if i:
                self.out.struct(", ")
            self.judge, self._pack_id = judge, item_id
            self.value(items, name=None, depth=depth + 1)
        self._pack_id = None
        self.out.struct("]")

    def string(self, text: str) -> None:
        self.out.struct('"')
        self.out.certain(json_escaped(text))
        self.out.struct('"')

    def key(self, key: str, first: bool) -> None:
        """An object's key and its colon, the comma before it unless it is the first."""
        self.out.struct('"' if first else ', "')
        self.out.whole(json_escaped(key))
        self.out.struct('": ')

    def _object(self, schema: dict[str, Any], depth: int) -> None:
        properties = schema.get("properties")
        self.out.struct("{")
        if isinstance(properties, dict):
            shape = answer_shape(properties, self.resolve)
            for i, (key, sub) in enumerate(properties.items()):
                self.key(key, i == 0)
                sub = sub if isinstance(sub, dict) else {}
                if key == "id" and self._pack_id is not None:
                    self.string(self._pack_id)
                elif shape is not None and key == shape.key:
                    write_shaped(self, shape, self.resolve(sub), depth + 1)
                else:
                    self.value(sub, name=key, depth=depth + 1)
        self.out.struct("}")

    def _alternatives(
        self, real: dict[str, float], variant: str | None, forbidden: Sequence[str]
    ) -> list[Alternative]:
        """The reported alternatives: with junk mixed in when the config asks for it."""
        if self.junk:
            return with_junk(real, variant, forbidden, self.rng)
        return ranked(real)

    def enum_string(self, enum: StringEnum, probs: Sequence[float] | None = None) -> None:
        """One of the enum's strings, drawn from `probs` (by default the judge's belief)."""
        values, spelled = enum.values, enum.spelled
        if probs is None:
            probs = self.judge.enum_distribution(values)
        chosen = pick(probs, self.temperature, self.rng)
        if self.spoil_here():
            self.string(_outside(values[chosen], values))
            return
        self.out.struct('"')
        alive = range(len(values))
        for position, piece in enumerate(spelled[chosen]):
            # P(next piece | the pieces emitted so far), over the values still possible.
            real: dict[str, float] = {}
            for i in alive:
                if position < len(spelled[i]):
                    text = spelled[i][position]
                    real[text] = real.get(text, 0.0) + probs[i]
            total = sum(real.values())
            real = {text: p / total for text, p in real.items()}
            if position == 0:
                variant: str | None = piece[:1].swapcase() + piece[1:]
                if enum.could_start(variant):
                    variant = None  # e.g. both `yes` and `Yes` are labels: not junk then
                top = self._alternatives(real, variant, enum.forbidden)
            else:
                top = ranked(real)
            self.out.scored(piece, top)
            alive = [i for i in alive if spelled[i][position : position + 1] == (piece,)]

    def enum_literal(self, values: list[str], probs: Sequence[float] | None = None) -> None:
        """An enum of numbers, booleans or mixed JSON: one token per value."""
        if probs is None:
            probs = self.judge.enum_distribution(values)
        chosen = pick(probs, self.temperature, self.rng)
        self.out.scored(values[chosen], ranked(dict(zip(values, probs, strict=True))))

    def _boolean(self, name: str) -> None:
        if self.spoil_here():
            self.out.struct('"yes"')
            return
        p_true = self.judge.true_probability(name)
        value = "true" if pick([p_true, 1.0 - p_true], self.temperature, self.rng) == 0 else "false"
        real = {"true": p_true, "false": 1.0 - p_true}
        self.out.scored(value, self._alternatives(real, value.capitalize(), ["null"]))


def _outside(chosen: str, values: Sequence[str]) -> str:
    """A label that is not one of `values`: how a model misspells one."""
    taken = set(values)
    for candidate in (chosen.capitalize(), chosen.upper(), f"{chosen} ", "unknown"):
        if candidate not in taken:
            return candidate
    n = 2
    while f"{chosen}_{n}" in taken:
        n += 1
    return f"{chosen}_{n}"
