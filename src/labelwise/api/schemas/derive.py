"""Request and response models derived from another model's fields, so a field is declared once.

A partial edit takes every field optionally, bounds kept; an answer shows every field by its type
alone, always present: what a response carries is described as it is, not as what a request may
send.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field


def optional_fields(model: type[BaseModel]) -> dict[str, Any]:
    """`model`'s fields for `create_model`, each one optional and None unless given, with the
    same bounds and description: a body that changes only what it names."""
    return {
        name: (
            Annotated[info.annotation | None, *info.metadata, Field(description=info.description)],
            None,
        )
        for name, info in model.model_fields.items()
    }


def required_fields(model: type[BaseModel]) -> dict[str, Any]:
    """`model`'s fields for `create_model`, each one required and by its type alone: no default
    and no bounds, which describe what may be sent, not what is shown."""
    return {name: (info.annotation, ...) for name, info in model.model_fields.items()}
