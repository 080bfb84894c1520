"""Decoding JSON from outside: the one parser every request body goes through.

Python's `json` recurses once per nesting level, so a body of ten thousand `[` raises
`RecursionError` deep inside the parser; the depth is therefore measured on the text first, and a
body nested deeper than the bound is never parsed. What the parser accepts but the store cannot
keep is refused too, naming the field: NUL characters (PostgreSQL refuses them in text and JSON),
lone surrogates (not characters; they cannot be encoded as UTF-8), and `NaN`, `Infinity` or
numbers too large for a float (not JSON; PostgreSQL's JSON refuses them and responses cannot
carry them).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Sequence
from itertools import accumulate
from typing import Any

from labelwise.errors import InvalidTextError, NestingTooDeepError, ValidationFailedError

Path = Sequence[str | int]
Where = tuple[str | int, ...]

# A JSON string, escapes included, from its opening quote to its closing one or, when it is never
# closed, to the end of the text; matching it never backtracks, so any input is scanned in linear
# time.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
# Escapes that may decode to a NUL or a surrogate. Decoded text without one cannot hold either:
# strict UTF-8 has no surrogates, and the parser refuses a raw NUL in a string or outside one.
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")
_BAD_CHARACTER = re.compile("[\x00\ud800-\udfff]")
# Brackets measured at once while looking for the first level past the bound.
_SLICE = 65536


def field_name(path: Path) -> str:
    """`items.3.data.text`. Keys come from the client: a bad character in one is shown escaped
    (a response cannot carry a lone surrogate), and a long one is cut short."""
    return ".".join(_shown(part) for part in path) or "body"


def _shown(part: str | int) -> str:
    text = str(part)
    text = text if len(text) <= 80 else text[:80] + "…"
    return _BAD_CHARACTER.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def check_depth(text: str, max_depth: int, where: str = "body") -> None:
    """Refuse text whose arrays and objects nest deeper than `max_depth`, without parsing it:
    strings are cut out (their brackets are text), then the brackets left are counted."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    if brackets.count("[") + brackets.count("{") <= max_depth:
        return
    depth = 0
    for start in range(0, len(brackets), _SLICE):
        steps = map(_STEP.__getitem__, brackets[start : start + _SLICE])
        levels = list(accumulate(steps, initial=depth))
        if max(levels) > max_depth:
            raise NestingTooDeepError(
                f"{where}: nested deeper than {max_depth} levels of arrays and objects"
            )
        depth = levels[-1]


def check_text(value: Any, path: Path = ()) -> None:
    """Refuse a NUL character or a lone surrogate in any string of `value`, keys included."""
    for where, text in _strings(value, tuple(path)):
        found = _BAD_CHARACTER.search(text)
        if found is None:
            continue
        character = found.group()
        if character == "\x00":
            problem = "contains a NUL character (\\u0000), which cannot be stored"
        else:
            problem = (
                f"contains a lone surrogate (\\u{ord(character):04x}), which is not a character"
            )
        raise InvalidTextError(f"{field_name(where)}: {problem}")


def _strings(value: Any, path: Where) -> Iterator[tuple[Where, str]]:
    """Every string in `value` (keys too) with where it is."""
    pending: list[tuple[Where, Any]] = [(path, value)]
    while pending:
        where, current = pending.pop()
        if isinstance(current, str):
            yield where, current
        elif isinstance(current, dict):
            for key, child in current.items():
                yield (*where, key), key
                pending.append(((*where, key), child))
        elif isinstance(current, list):
            pending.extend(((*where, index), child) for index, child in enumerate(current))


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"the number {text[:40]} is too large")
    return number


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def loads(raw: bytes, *, max_depth: int, path: Path = (), document: str | None = None) -> Any:
    """The parsed document, or a 422 naming what is wrong and where: `path` prefixes the fields
    named (`("items", 3)` for the fourth item of an NDJSON batch), `document` names the whole
    when it is not valid or too deep (`line 5`; by default, the path).

    Bytes, not text: they are decoded here, strictly as UTF-8 (`json.loads` of bytes would guess
    UTF-16 or pass encoded surrogates through), so the text measured is the text parsed and holds
    no raw surrogate."""
    where = document or field_name(path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailedError(
            f"{where}: not UTF-8 (invalid byte at position {exc.start})"
        ) from None
    check_depth(text, max_depth, where)
    try:
        parsed = json.loads(text, parse_float=_finite_float, parse_constant=_no_constant)
    except ValueError as exc:
        raise ValidationFailedError(f"{where}: not valid JSON ({exc})") from None
    if _SUSPECT_ESCAPE.search(text):
        check_text(parsed, path)
    return parsed
