"""The fake's belief about an extraction field: the value the item gives it, typed, or null.

A field's value is what follows its name in the text ("total: 12.50", "vendor is Acme",
"Due date = 2024-05-01"), read as the field's type: a number or an integer (currency signs and
thousands separators dropped), a boolean (yes/no, true/false), a list (split at commas), an enum
value (matched ignoring case), a string. A field the text does not give is null, unless it is an
enum: those are chosen from the enum like a classification label. Each belief carries the
probability the fake puts on its value against the alternative (null for a found value, a value
for null). Pure functions of the judge and the field's schema.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from labelwise.testing.fake_llm.item import all_text, item_fields
from labelwise.testing.fake_llm.judge import Judge
from labelwise.testing.fake_llm.shapes import nullable_inner

_MAX_CHARS = 200
_TRUE = {"yes", "y", "true", "1", "paid", "on", "present"}
_FALSE = {"no", "n", "false", "0", "unpaid", "off", "absent", "none"}
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_LIST_SPLIT = re.compile(r"\s*(?:,|;|\band\b)\s*")


@dataclass(frozen=True)
class FieldBelief:
    """`value` (None: null) and the probability of writing it rather than the alternative."""

    value: Any
    probability: float


@lru_cache(maxsize=1024)
def _after_name(name: str, *, to_line_end: bool) -> re.Pattern[str]:
    words = [w for w in re.split(r"[_\-\s]+|(?<=[a-z])(?=[A-Z])", name) if w]
    spelled = r"[\s_\-]*".join(map(re.escape, words)) or re.escape(name)
    # A clause ends at a line, a semicolon, a full stop or (unless a list is wanted) a comma
    # before a space; `1,212.50` stays one number.
    comma = "" if to_line_end else r"|,(?:\s|$)"
    end = r"(?=\s*(?:[\n;]|\.(?:\s|$)" + comma + r"|$))"
    return re.compile(
        r"(?<![\w])" + spelled + r"\s*(?:[:=]|\bis\b|\bwas\b|\bof\b)\s*(.+?)" + end,
        re.IGNORECASE,
    )


def raw_value(text: str, name: str, *, to_line_end: bool = False) -> str | None:
    """The text that follows `name` and a separator in `text`, up to the end of its clause."""
    match = _after_name(name, to_line_end=to_line_end).search(text)
    if match is None:
        return None
    raw = match.group(1).strip().strip("\"'")
    return raw[:_MAX_CHARS] or None


def typed(raw: str, schema: dict[str, Any]) -> Any:
    """`raw` as a value of `schema`'s type; None when it is not one."""
    kind = schema.get("type")
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        by_text = {str(v).lower(): v for v in enum}
        return by_text.get(raw.lower())
    if kind in ("number", "integer"):
        match = _NUMBER.search(raw.replace(",", ""))
        if match is None:
            return None
        number = float(match.group())
        if kind == "integer":
            return round(number) if number.is_integer() else None
        return int(number) if number.is_integer() and "." not in match.group() else number
    if kind == "boolean":
        words = re.findall(r"\w+", raw.lower())
        word = words[0] if words else ""
        return True if word in _TRUE else False if word in _FALSE else None
    if kind == "array":
        items = schema.get("items")
        items = nullable_inner(items)[0] if isinstance(items, dict) else {}
        parts = [typed(part, items) for part in _LIST_SPLIT.split(raw) if part]
        kept = [part for part in parts if part is not None]
        return kept or None
    return raw


def field_belief(judge: Judge, name: str, schema: dict[str, Any]) -> FieldBelief:
    """What the fake believes field `name` (of inner schema `schema`, null removed) holds."""
    key = ("field", name, repr(schema))
    cached = judge.memo.get(key)
    if cached is None:
        text = all_text(item_fields(judge.text))
        raw = raw_value(text, name, to_line_end=schema.get("type") == "array")
        value = typed(raw, schema) if raw is not None else None
        if value is not None:
            probability = 0.85 + 0.14 * judge.unit("field", name, "found")
        else:
            probability = 0.75 + 0.2 * judge.unit("field", name, "null")
        cached = judge.memo[key] = FieldBelief(value, probability)
    return cached


def enum_field_distribution(judge: Judge, name: str, schema: dict[str, Any]) -> list[float]:
    """P(value) over an enum field's values: the judge's named mass on the value the text gives
    the field, else the judge's belief over the enum as a classification label."""
    values = [str(v) for v in schema["enum"]]
    belief = field_belief(judge, name, schema)
    if belief.value is None:
        return judge.enum_distribution(values)
    chosen = [values.index(str(belief.value))]
    return judge.focused(values, chosen, judge.named_mass(), "field", name)
