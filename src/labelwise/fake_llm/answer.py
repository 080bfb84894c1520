"""The fake model's answer: a JSON value valid under a schema, as tokens with log-probabilities.

This module owns what the fake "believes" about an item (`Judge`, a pure function of the seed and
the item text) and how an answer is spelled out token by token. It knows nothing of HTTP.

A token is `(text, logprob, top)`, `top` being every alternative at that position as
`(text, logprob)`, most probable first; the server cuts it to the requested `top_logprobs`.
Enum strings are tokenized so the reported alternatives are the real conditional distribution:
each value is spelled as its JSON-escaped text plus the closing quote, in pieces of at most four
characters, so no value's pieces are a prefix of another's and a value that ends early shows up
as its own alternative (`pos"` next to `posi`, or `"` next to `s"`). The product of the emitted
pieces' conditionals is then exactly P(chosen value).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

Alternative = tuple[str, float]
Token = tuple[str, float, list[Alternative]]

# Structural JSON and free text: certain, but not exactly 0 (real models never report 0 either).
CERTAIN_LOGPROB = -0.0001
_PIECE = 4
# No probability may be 0: log(0) is -inf, which is not valid JSON.
_FLOOR = 1e-6
_RATIONALE = "The wording of the item points to this answer."
_PLAIN_ANSWER = "This is a fake answer from the labelwise fake LLM."
# Tokens a grammar would forbid at the start of a label; one is mixed into the alternatives the
# way a real server reports the unconstrained distribution.
_FORBIDDEN = ("neut", "none", "othe", "unkn", "N/A", "mixe", "n/a")
_MAX_DEPTH = 32


def _digest(*parts: object) -> int:
    data = "\x1f".join(str(part) for part in parts).encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


def _unit(*parts: object) -> float:
    """A stable number in [0, 1): Python's own hash() is salted per process, this is not."""
    return _digest(*parts) / 2**64


def stable_seed(*parts: object) -> int:
    return _digest(*parts)


@lru_cache(maxsize=8192)
def _word_pattern(value: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)" + re.escape(value) + r"(?!\w)", re.IGNORECASE)


def mentions(text: str, word: str) -> bool:
    """Whether `word` appears in `text` as a whole word, ignoring case."""
    return bool(word) and _word_pattern(word).search(text) is not None


def _normalised(probs: list[float]) -> list[float]:
    probs = [max(p, _FLOOR) for p in probs]
    total = sum(probs)
    return [p / total for p in probs]


class Judge:
    """The fake model's beliefs about one item: deterministic in (seed, text, accuracy_hint).

    A value named in the text (as a word) gets `accuracy_hint` of the mass, so answers are
    informative and confidences mean something; otherwise a hash picks a favourite with moderate
    mass, so unclear items look unclear.
    """

    def __init__(self, text: str, *, seed: int, accuracy_hint: float) -> None:
        self.text = text
        self.accuracy_hint = min(max(accuracy_hint, 0.0), 1.0)
        # Hash the (possibly long) text once; everything else derives from this key.
        self._key = f"{seed}:{_digest(seed, text):016x}"
        self._enums: dict[tuple[str, ...], list[float]] = {}

    def enum_distribution(self, values: Sequence[str]) -> list[float]:
        """P(value) for each of `values` (distinct), in their order."""
        key = tuple(values)
        cached = self._enums.get(key)
        if cached is not None:
            return cached
        n = len(key)
        matched = [i for i, value in enumerate(key) if mentions(self.text, value)]
        weights = [0.5 + _unit(self._key, "w", value) for value in key]
        probs = [0.0] * n
        if n == 1:
            probs = [1.0]
        elif matched and len(matched) < n:
            rest = [i for i in range(n) if i not in matched]
            rest_weight = sum(weights[i] for i in rest)
            for i in matched:
                probs[i] = self.accuracy_hint / len(matched)
            for i in rest:
                probs[i] = (1.0 - self.accuracy_hint) * weights[i] / rest_weight
        elif matched:
            probs = [1.0 / n] * n
        else:
            favourite = _digest(self._key, "favourite", *key) % n
            # With two values 0.45 would not even be the favourite.
            lower = max(0.45, 1.0 / n + 0.05)
            mass = lower + (0.7 - lower) * _unit(self._key, "mass", *key)
            rest_weight = sum(w for i, w in enumerate(weights) if i != favourite)
            probs = [
                mass if i == favourite else (1.0 - mass) * w / rest_weight
                for i, w in enumerate(weights)
            ]
        probs = _normalised(probs)
        self._enums[key] = probs
        return probs

    def true_probability(self, name: str) -> float:
        """P(true) for the boolean property `name` (a multi-label label)."""
        if mentions(self.text, name):
            p = self.accuracy_hint
        else:
            p = 1.0 - (0.6 + 0.35 * _unit(self._key, "bool", name))
        return min(max(p, _FLOOR), 1.0 - _FLOOR)


def enum_distribution(
    values: Sequence[str], text: str, *, seed: int = 0, accuracy_hint: float = 0.9
) -> list[float]:
    """The distribution the fake answers `values` from for an item `text` (for tests)."""
    return Judge(text, seed=seed, accuracy_hint=accuracy_hint).enum_distribution(values)


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


def pieces(text: str) -> list[str]:
    return [text[i : i + _PIECE] for i in range(0, len(text), _PIECE)] or [""]


def certain_tokens(text: str) -> list[Token]:
    """`text` as certain tokens (plain answers, and the odd answer cut inside one token)."""
    return [(piece, CERTAIN_LOGPROB, [(piece, CERTAIN_LOGPROB)]) for piece in pieces(text) if piece]


def _log(p: float) -> float:
    return math.log(max(p, 1e-300))


def _ranked(probs: dict[str, float]) -> list[Alternative]:
    """Alternatives as logprobs, most probable first (ties keep their order)."""
    return sorted(((t, _log(p)) for t, p in probs.items()), key=lambda alt: -alt[1])


class _Writer:
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
            self.tokens.append((self._pending, CERTAIN_LOGPROB, [(self._pending, CERTAIN_LOGPROB)]))
            self._pending = ""
        self._open = False

    def certain(self, text: str) -> None:
        self._flush()
        for piece in pieces(text):
            if piece:
                self.tokens.append((piece, CERTAIN_LOGPROB, [(piece, CERTAIN_LOGPROB)]))

    def whole(self, text: str) -> None:
        """One certain token however long: a key (`label`), as real vocabularies hold them."""
        self._flush()
        self.tokens.append((text, CERTAIN_LOGPROB, [(text, CERTAIN_LOGPROB)]))

    def scored(self, text: str, logprob: float, top: list[Alternative]) -> None:
        self._flush()
        self.tokens.append((text, logprob, top))
        self._open = text == '"'

    def finish(self) -> list[Token]:
        self._flush()
        return self.tokens


def _with_junk(
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
    return _ranked(scored)


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
    ) -> None:
        self.judge = judge
        self.rng = rng
        self.temperature = temperature
        self.junk = junk
        # An invalid answer puts a value outside the schema at the first enum or boolean.
        self.invalid = invalid
        self._spoiled = False
        self._out = _Writer()
        self._root: dict[str, Any] = {}

    def write(self, schema: dict[str, Any] | None) -> list[Token]:
        if schema is None:
            return certain_tokens(_PLAIN_ANSWER)
        self._root = schema
        if self.invalid and self.rng.random() < 0.5:
            self._wrong_shape(schema)
        else:
            self._value(schema, name=None, depth=0)
            if self.invalid and not self._spoiled:
                # Nothing to spoil in place (no enum, no boolean): fall back to a wrong shape.
                self._out = _Writer()
                self._wrong_shape(schema)
        return self._out.finish()

    def _wrong_shape(self, schema: dict[str, Any]) -> None:
        """Valid JSON that cannot match: the answer wrapped in an array (or an object)."""
        is_array = self._resolve(schema).get("type") == "array"
        self._out.struct('{"answer": ' if is_array else "[")
        self._spoiled = True
        self._value(schema, name=None, depth=0)
        self._out.struct("}" if is_array else "]")

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
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

    def _value(self, schema: dict[str, Any], *, name: str | None, depth: int) -> None:
        out = self._out
        schema = self._resolve(schema)
        if depth > _MAX_DEPTH:
            out.struct("null")
            return
        if "const" in schema:
            out.struct(json.dumps(schema["const"], ensure_ascii=False))
            return
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            if all(isinstance(v, str) for v in enum):
                self._enum_string(_string_enum(tuple(enum)))
            else:
                self._enum_literal(list(dict.fromkeys(json.dumps(v) for v in enum)))
            return
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in schema else "string"
        if kind == "object":
            self._object(schema, depth)
        elif kind == "array":
            out.struct("[")
            items = schema.get("items")
            for i in range(int(schema.get("minItems", 0) or 0)):
                if i:
                    out.struct(", ")
                self._value(items if isinstance(items, dict) else {}, name=name, depth=depth + 1)
            out.struct("]")
        elif kind == "boolean":
            self._boolean(name or "")
        elif kind in ("integer", "number"):
            out.struct(json.dumps(schema.get("minimum", 0)))
        elif kind == "null":
            out.struct("null")
        else:
            out.struct('"')
            out.certain(json.dumps(_RATIONALE)[1:-1])
            out.struct('"')

    def _object(self, schema: dict[str, Any], depth: int) -> None:
        out = self._out
        properties = schema.get("properties")
        out.struct("{")
        if isinstance(properties, dict):
            for i, (key, sub) in enumerate(properties.items()):
                out.struct(', "' if i else '"')
                out.whole(json.dumps(key, ensure_ascii=False)[1:-1])
                out.struct('": ')
                self._value(sub if isinstance(sub, dict) else {}, name=key, depth=depth + 1)
        out.struct("}")

    def _enum_string(self, enum: _StringEnum) -> None:
        out = self._out
        values, spelled = enum.values, enum.spelled
        probs = self.judge.enum_distribution(values)
        chosen = pick(probs, self.temperature, self.rng)
        out.struct('"')
        if self.invalid and not self._spoiled:
            self._spoiled = True
            out.certain(json.dumps(_outside(values[chosen], values), ensure_ascii=False)[1:-1])
            out.struct('"')
            return
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
            if self.junk and position == 0:
                variant: str | None = piece[:1].swapcase() + piece[1:]
                if _could_start(variant, enum.spellings):
                    variant = None  # e.g. both `yes` and `Yes` are labels: not junk then
                top = _with_junk(real, variant, enum.forbidden, self.rng)
            else:
                top = _ranked(real)
            logprob = next(lp for t, lp in top if t == piece)
            out.scored(piece, logprob, top)
            alive = [i for i in alive if spelled[i][position : position + 1] == (piece,)]

    def _enum_literal(self, values: list[str]) -> None:
        """An enum of numbers, booleans or mixed JSON: one token per value."""
        probs = self.judge.enum_distribution(values)
        chosen = pick(probs, self.temperature, self.rng)
        top = _ranked(dict(zip(values, probs, strict=True)))
        self._out.scored(values[chosen], _log(probs[chosen]), top)

    def _boolean(self, name: str) -> None:
        if self.invalid and not self._spoiled:
            self._spoiled = True
            self._out.struct('"yes"')
            return
        p_true = self.judge.true_probability(name)
        value = "true" if pick([p_true, 1.0 - p_true], self.temperature, self.rng) == 0 else "false"
        real = {"true": p_true, "false": 1.0 - p_true}
        if self.junk:
            top = _with_junk(real, value.capitalize(), ["null"], self.rng)
        else:
            top = _ranked(real)
        logprob = next(lp for t, lp in top if t == value)
        self._out.scored(value, logprob, top)


@dataclass(frozen=True)
class _StringEnum:
    """How an enum of strings is spelled, worked out once per distinct enum."""

    values: tuple[str, ...]  # distinct, in schema order
    spelled: tuple[tuple[str, ...], ...]  # each value's pieces, closing quote included
    spellings: tuple[str, ...]  # each value's JSON-escaped text and closing quote
    forbidden: tuple[str, ...]  # junk tokens that cannot start any value


@lru_cache(maxsize=1024)
def _string_enum(enum: tuple[str, ...]) -> _StringEnum:
    values = tuple(dict.fromkeys(enum))
    spellings = tuple(json.dumps(v, ensure_ascii=False)[1:-1] + '"' for v in values)
    return _StringEnum(
        values=values,
        spelled=tuple(tuple(pieces(s)) for s in spellings),
        spellings=spellings,
        forbidden=tuple(f for f in _FORBIDDEN if not _could_start(f, spellings)),
    )


def _could_start(piece: str, spellings: Sequence[str]) -> bool:
    """Whether `piece`, as the first token of a string value, is consistent with some value."""
    return any(s.startswith(piece) or piece.startswith(s) for s in spellings)


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
