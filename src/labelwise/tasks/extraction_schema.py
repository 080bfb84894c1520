"""The answer an extraction asks for, built from the user's schema of fields.

The answer is `{"fields": {...}}` with every field of the user's schema required and nullable:
structured output fills every property it is given, so "the document does not say" must be a
value the model can write (null) rather than a field it leaves out. Descriptions, enums and
arrays are kept; keys a provider's structured output may refuse (`format`, `pattern`, ...) are
not sent, and the value is checked against the user's schema in code all the same.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from labelwise.spec import TaskSpec
from labelwise.task_values import field_types, field_value_error
from labelwise.tasks.base import strict_object

FIELDS_KEY = "fields"
# Room for one free-text field and for the elements of a list, to size `max_tokens`: generous
# for what a field of a document holds, and a bound all the same.
TEXT_CHARS = 400
LIST_ITEMS = 20
_SCALAR_CHARS = {"number": 32, "integer": 24, "boolean": 5, "string": TEXT_CHARS}
_PYTHON = {"string": str, "number": float, "integer": int, "boolean": bool}
_JSON_KIND = {bool: "boolean", int: "integer", float: "number", str: "string"}


def properties(task: TaskSpec) -> dict[str, dict[str, Any]]:
    """The user's fields, by name, in the schema's order."""
    return dict((task.fields_schema or {}).get("properties", {}))


def kind(prop: Mapping[str, Any]) -> str:
    """`enum`, `array`, or the field's scalar JSON type."""
    if "enum" in prop:
        return "enum"
    types, _ = field_types(prop)
    return next(iter(types), "string")


def choices(prop: Mapping[str, Any]) -> list[Any] | None:
    """What a field whose answer is a choice allows, null included; None for a free field."""
    if "enum" in prop:
        return [*prop["enum"], None]
    if kind(prop) == "boolean":
        return [True, False, None]
    return None


def _json_type(value: Any) -> str:
    return _JSON_KIND[type(value)]


def _value_schema(prop: Mapping[str, Any], *, nullable: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(prop.get("description"), str):
        out["description"] = prop["description"]
    null = ["null"] if nullable else []
    field_kind = kind(prop)
    if field_kind == "enum":
        enum = list(prop["enum"])
        out["type"] = sorted({_json_type(v) for v in enum}) + null
        out["enum"] = enum + ([None] if nullable else [])
    elif field_kind == "array":
        out["type"] = ["array", *null]
        item = prop.get("items", {})
        out["items"] = _value_schema(item, nullable=field_types(item)[1])
    else:
        out["type"] = [field_kind, *null] if nullable else field_kind
    return out


def answer_schema(task: TaskSpec, *, rationale_schema: dict[str, Any] | None) -> dict[str, Any]:
    """`{"fields": {<every field, required, nullable>}}`, a rationale first when asked for."""
    props = properties(task)
    fields = strict_object(
        {name: _value_schema(prop, nullable=True) for name, prop in props.items()}
    )
    answer: dict[str, Any] = {FIELDS_KEY: fields}
    if rationale_schema is not None:
        answer = {"rationale": rationale_schema, **answer}
    return strict_object(answer)


def _python_type(prop: Mapping[str, Any], *, nullable: bool) -> Any:
    field_kind = kind(prop)
    if field_kind == "enum":
        python: Any = Literal.__getitem__(tuple(prop["enum"]))
    elif field_kind == "array":
        item = prop.get("items", {})
        python = list[_python_type(item, nullable=field_types(item)[1])]
    else:
        python = _PYTHON[field_kind]
    return python | None if nullable else python


class FieldValues(BaseModel):
    """The fields object of an answer. Types are judged strictly (no "12" for 12, no unknown
    keys), and each value is checked again against the user's own schema."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
    user_properties: ClassVar[dict[str, dict[str, Any]]] = {}

    @model_validator(mode="before")
    @classmethod
    def _fits_the_users_schema(cls, data: Any) -> Any:
        """Checked as written, before pydantic converts anything: a `true` where the enum is
        `[1, 2]` is refused, not read as 1."""
        if isinstance(data, Mapping):
            for name, prop in cls.user_properties.items():
                problem = field_value_error(prop, data.get(name))
                if problem:
                    raise ValueError(f"field {name!r}: {problem}")
        return data


def answer_model(task: TaskSpec, *, rationale: bool) -> type[BaseModel]:
    props = properties(task)
    # Field names need not be Python identifiers ("due date", "model_config"): fields get
    # neutral names and the user's name is the alias.
    fields: dict[str, Any] = {
        f"field_{i}": (_python_type(prop, nullable=True), Field(alias=name))
        for i, (name, prop) in enumerate(props.items())
    }
    values = create_model("FieldValues", __base__=FieldValues, **fields)
    values.user_properties = props
    outer: dict[str, Any] = {FIELDS_KEY: (values, ...)}
    if rationale:
        outer = {"rationale": (str, ...), **outer}
    config = ConfigDict(extra="forbid", strict=True)
    return create_model("ExtractionAnswer", __config__=config, **outer)


def answer_json(task: TaskSpec, value: Mapping[str, Any]) -> str:
    """A value as the model should write it: every field present, null where it is absent."""
    fields = {name: value.get(name) for name in properties(task)}
    return json.dumps({FIELDS_KEY: fields}, ensure_ascii=False)


def _longest(prop: Mapping[str, Any]) -> int:
    field_kind = kind(prop)
    if field_kind == "enum":
        return max(len(json.dumps(v)) for v in [*prop["enum"], None])
    if field_kind == "array":
        return 2 + LIST_ITEMS * (_longest(prop.get("items", {})) + 2)
    return _SCALAR_CHARS[field_kind]


def max_answer_chars(task: TaskSpec) -> int:
    """The longest answer, with free text and lists bounded (`TEXT_CHARS`, `LIST_ITEMS`)."""
    props = properties(task)
    per_field = sum(len(json.dumps(name)) + 4 + _longest(prop) for name, prop in props.items())
    return 2 * len(props) + per_field + len(json.dumps({FIELDS_KEY: {}})) + 8


def _typical(prop: Mapping[str, Any]) -> Any:
    field_kind = kind(prop)
    if field_kind == "enum":
        return prop["enum"][0]
    if field_kind == "array":
        item = _typical(prop.get("items", {}))
        return [item, item]
    return {"string": "a short phrase from the text", "number": 1234.5, "integer": 42}.get(
        field_kind, True
    )


def typical_value(task: TaskSpec) -> dict[str, Any]:
    """A value with every field filled, as a plausible answer: what an answer costs."""
    return {name: _typical(prop) for name, prop in properties(task).items()}


def type_text(prop: Mapping[str, Any]) -> str:
    """The field's type as the prompt names it."""
    field_kind = kind(prop)
    if field_kind == "enum":
        return "one of " + ", ".join(json.dumps(v, ensure_ascii=False) for v in prop["enum"])
    if field_kind == "array":
        return "a list, each element " + type_text(prop.get("items", {}))
    return {
        "string": "text",
        "number": "a number",
        "integer": "a whole number",
        "boolean": "true or false",
    }[field_kind]
