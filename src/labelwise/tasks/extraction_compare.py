"""When two extraction values say the same thing, field by field, and what follows from it: the
comparison with gold, the quality report's measures, and the majority over several answers.

A field's value is compared in a normal form, so that writing differs without the answer
differing: text ignores case and runs of whitespace ("ACME  Corp" is "Acme Corp"), a number
field reads numbers however they are written ("1,000.50" is 1000.5, "12" is 12), and a list is
a multiset (order does not matter, repeats do). Null is an answer ("the document does not say")
and matches only null. Pure functions.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

from labelwise.spec import TaskSpec
from labelwise.tasks.extraction_schema import kind, properties

# Digits with comma thousands separators: "1,000", "12,345.6". A lone comma ("1,5") is left
# alone: it may be a decimal comma, and guessing would make different numbers equal.
_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?")
_NUMERIC = {"number", "integer"}


def _text(value: str) -> str:
    return " ".join(value.split()).casefold()


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        return None
    written = value.strip().replace("_", "")
    if _GROUPED.fullmatch(written):
        written = written.replace(",", "")
    try:
        return float(written)
    except ValueError:
        return None


def _scalar_form(field_kind: str, value: Any) -> Hashable:
    """A scalar in normal form, tagged with what it is so that `true` never equals `1`."""
    if isinstance(value, bool):
        return ("boolean", value)
    if field_kind == "boolean" and isinstance(value, str) and _text(value) in {"true", "false"}:
        return ("boolean", _text(value) == "true")
    number = _number(value)
    if number is not None and (field_kind in _NUMERIC or not isinstance(value, str)):
        return ("number", number)
    if isinstance(value, str):
        return ("text", _text(value))
    return ("other", repr(value))


def field_form(prop: Mapping[str, Any], value: Any) -> Hashable:
    """`value` of the field `prop` in normal form: equal forms are the same answer."""
    if value is None:
        return None
    field_kind = kind(prop)
    if field_kind == "array":
        item = prop.get("items", {})
        elements = value if isinstance(value, list) else [value]
        counted = Counter(_scalar_form(kind(item), element) for element in elements)
        return ("list", frozenset(counted.items()))
    return _scalar_form(field_kind, value)


def _field(value: Any, name: str) -> Any:
    return value.get(name) if isinstance(value, Mapping) else None


def field_matches(prop: Mapping[str, Any], value: Any, truth: Any) -> bool:
    return field_form(prop, value) == field_form(prop, truth)


def values_match(task: TaskSpec, value: Any, truth: Any) -> bool:
    """Whether every field of the schema matches; a field left out is null."""
    if not isinstance(value, Mapping) or not isinstance(truth, Mapping):
        return bool(value == truth)
    return all(
        field_matches(prop, value.get(name), truth.get(name))
        for name, prop in properties(task).items()
    )


def extraction_field_accuracy(task: TaskSpec, pairs: Iterable[tuple[Any, Any]]) -> dict[str, float]:
    """Per field of the schema, the share of (value, gold) pairs whose field matches; empty
    when there are no pairs."""
    pairs = list(pairs)
    if not pairs:
        return {}
    return {
        name: sum(field_matches(prop, _field(v, name), _field(t, name)) for v, t in pairs)
        / len(pairs)
        for name, prop in properties(task).items()
    }


def extraction_exact_match(task: TaskSpec, pairs: Iterable[tuple[Any, Any]]) -> float | None:
    """The share of (value, gold) pairs whose every field matches; None when there are none."""
    pairs = list(pairs)
    if not pairs:
        return None
    return sum(values_match(task, value, truth) for value, truth in pairs) / len(pairs)


def field_majority(
    task: TaskSpec,
    values: Sequence[Mapping[str, Any]],
    weights: Sequence[Mapping[str, float]],
) -> tuple[dict[str, Any], dict[str, float]]:
    """Per field, the value with the most weight behind it (in normal form) and that weight's
    share of the answers. `weights[i][name]` is how much answer `i` counts for field `name`
    (1 for a plain vote). Ties go to the value the earlier answer gave; the value kept is as
    the first answer behind it wrote it."""
    if not values:
        raise ValueError("a majority needs at least one answer")
    chosen: dict[str, Any] = {}
    shares: dict[str, float] = {}
    for name, prop in properties(task).items():
        mass: dict[Hashable, float] = {}
        written: dict[Hashable, Any] = {}
        for value, weight in zip(values, weights, strict=True):
            form = field_form(prop, value.get(name))
            mass[form] = mass.get(form, 0.0) + min(max(weight.get(name, 1.0), 0.0), 1.0)
            written.setdefault(form, value.get(name))
        best = max(mass, key=mass.__getitem__)  # the first of equals: insertion order
        chosen[name], shares[name] = written[best], mass[best] / len(values)
    return chosen, shares
