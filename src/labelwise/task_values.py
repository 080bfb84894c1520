"""What a value of each task type looks like, checked without a model: examples in a project's
definition, an item's `ground_truth`, a reviewer's correction.

Pure functions. `normalized_value` answers the value as it is stored (labels of a multi-label
answer sorted, spans sorted by position) or raises ValueError saying what is wrong; an extraction
schema is checked by `schema_error`, which accepts the subset every provider's structured output
supports: an object of string, number, integer and boolean fields, enums, arrays of these, each
optionally nullable.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from labelwise.task_spec import TaskSpec

SCALARS = {"string", "number", "integer", "boolean"}
MAX_FIELDS = 100
MAX_SPANS = 1000
TIE = "tie"


def example_error(task: TaskSpec, value: Any, data: Mapping[str, Any] | None = None) -> str | None:
    try:
        normalized_value(task, value, data)
    except ValueError as exc:
        return str(exc)
    return None


def normalized_value(task: TaskSpec, value: Any, data: Mapping[str, Any] | None = None) -> Any:
    """`value` as stored for `task`, or ValueError. With the item's `data`, spans are also
    checked against its text (their `text` must be the slice they point at)."""
    if task.type == "classification":
        return _classification(task, value)
    if task.type == "spans":
        return _spans(task, value, data)
    if task.type == "extraction":
        return _extraction(task.fields_schema or {}, value)
    if task.type == "rating":
        return _rating(task, value)
    return _pairwise(task, value)


def pairwise_choices(task: TaskSpec) -> list[str]:
    """A pairwise value: "a" when the candidate in `fields[0]` is better, "b" when the one in
    `fields[1]` is, "tie" (only where the task allows it) when neither is."""
    return ["a", "b", TIE] if task.allow_tie else ["a", "b"]


def _shown(value: str) -> str:
    """A value quoted for an error message, cut short: it came from the client, at any length."""
    return repr(value if len(value) <= 60 else value[:60] + "…")


def _classification(task: TaskSpec, value: Any) -> Any:
    allowed = set(task.label_names)
    if task.multi_label:
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError("a multi-label project takes a list of label names")
        unknown = [v for v in value if v not in allowed]
        if unknown:
            raise ValueError(f"{_shown(unknown[0])} is not one of the labels")
        return sorted(set(value))
    if not isinstance(value, str):
        raise ValueError("must be one label name")
    if value not in allowed:
        raise ValueError(f"{_shown(value)} is not one of the labels")
    return value


def _spans(task: TaskSpec, value: Any, data: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    if not isinstance(value, list) or len(value) > MAX_SPANS:
        raise ValueError(f"spans are a list of at most {MAX_SPANS} {{start, end, label, text}}")
    text = data.get(task.text_field) if data is not None else None
    if data is not None and not isinstance(text, str):
        raise ValueError(f"the item has no text in {task.text_field!r} for spans to point into")
    allowed = set(task.label_names)
    spans = []
    for span in value:
        if not isinstance(span, dict) or set(span) - {"start", "end", "label", "text"}:
            raise ValueError("a span is {start, end, label, text}")
        start, end, label = span.get("start"), span.get("end"), span.get("label")
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in (start, end)):
            raise ValueError("a span's start and end are integers")
        if not 0 <= start < end:
            raise ValueError("a span needs 0 <= start < end")
        if not isinstance(label, str) or label not in allowed:
            raise ValueError(f"{_shown(str(label))} is not one of the entity types")
        if text is not None:
            if end > len(text):
                raise ValueError("a span ends past the end of the text")
            shown = span.get("text", text[start:end])
            if shown != text[start:end]:
                raise ValueError(f"span text {_shown(str(shown))} is not the text at its offsets")
        elif not isinstance(span.get("text"), str):
            raise ValueError("a span's text is the text it points at")
        spans.append(
            {"start": start, "end": end, "label": label, "text": span.get("text", "")}
            if text is None
            else {"start": start, "end": end, "label": label, "text": text[start:end]}
        )
    return sorted(spans, key=lambda s: (s["start"], s["end"], s["label"]))


def _rating(task: TaskSpec, value: Any) -> int:
    scale = task.scale
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError("a rating is an integer")
    if scale is not None and not scale.min <= value <= scale.max:
        raise ValueError(f"{value} is outside the scale {scale.min}..{scale.max}")
    return value


def _pairwise(task: TaskSpec, value: Any) -> str:
    choices = pairwise_choices(task)
    if not isinstance(value, str) or value not in choices:
        shown = ", ".join(repr(choice) for choice in choices)
        raise ValueError(f"a pairwise value is one of {shown} (the better candidate)")
    return value


# --- Extraction -------------------------------------------------------------------------------


def field_types(prop: Mapping[str, Any]) -> tuple[set[str], bool]:
    """A field's JSON types without "null", and whether it may be null."""
    declared = prop.get("type", "string")
    types = set(declared) if isinstance(declared, list) else {declared}
    nullable = "null" in types or bool(prop.get("nullable"))
    return types - {"null"}, nullable


def schema_error(schema: Any) -> str | None:
    """Why `schema` is not an extraction schema this service can ask for and check, or None."""
    if not isinstance(schema, dict) or schema.get("type", "object") != "object":
        return "must be a JSON Schema object ({'type': 'object', 'properties': {...}})"
    properties = schema.get("properties")
    if not isinstance(properties, dict) or not properties:
        return "properties must name at least one field"
    if len(properties) > MAX_FIELDS:
        return f"at most {MAX_FIELDS} fields"
    for name, prop in properties.items():
        problem = _field_error(prop)
        if problem:
            return f"field {_shown(str(name))}: {problem}"
    return None


def _field_error(prop: Any, *, in_array: bool = False) -> str | None:
    if not isinstance(prop, dict):
        return "must be a schema object"
    types, _ = field_types(prop)
    if "enum" in prop:
        enum = prop["enum"]
        if not isinstance(enum, list) or not enum:
            return "enum must be a non-empty list"
        if not all(isinstance(v, str | int | float | bool) for v in enum):
            return "enum values must be strings, numbers or booleans"
        return None
    if len(types) != 1:
        return "must have one type (and optionally null)"
    (kind,) = types
    if kind == "array" and not in_array:
        return _field_error(prop.get("items", {}), in_array=True)
    if kind not in SCALARS:
        supported = "string, number, integer, boolean, enum, arrays of these"
        return f"type {_shown(str(kind))} is not supported ({supported})"
    return None


def _extraction(schema: Mapping[str, Any], value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError("an extraction value is an object of the schema's fields")
    properties = schema.get("properties", {})
    unknown = [name for name in value if name not in properties]
    if unknown:
        raise ValueError(f"{_shown(unknown[0])} is not a field of the schema")
    checked = {}
    for name, prop in properties.items():
        field_value = value.get(name)
        problem = field_value_error(prop, field_value)
        if problem:
            raise ValueError(f"field {_shown(name)}: {problem}")
        checked[name] = field_value
    return checked


def field_value_error(prop: Mapping[str, Any], value: Any) -> str | None:
    """Why `value` does not fit the field `prop`, or None. Every field may be null: "absent"."""
    if value is None:
        return None
    if "enum" in prop:
        return None if _in_enum(value, prop["enum"]) else "not one of the enum's values"
    types, _ = field_types(prop)
    kind = next(iter(types), "string")
    if kind == "array":
        if not isinstance(value, list):
            return "must be a list"
        item = prop.get("items", {})
        return next((e for e in (field_value_error(item, v) for v in value) if e), None)
    return None if _is_kind(kind, value) else f"must be a {kind}"


def _in_enum(value: Any, enum: list[Any]) -> bool:
    """`value in enum`, except that `true` is not `1` (Python says it is; JSON does not)."""
    return any(v == value and isinstance(v, bool) == isinstance(value, bool) for v in enum)


def _is_kind(kind: str, value: Any) -> bool:
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, str)
