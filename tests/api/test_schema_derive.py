"""The project bodies are built from the project definition: every part appears in each, with the
bounds and defaults a request must respect, and an answer shows each part always."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, Field, ValidationError, create_model

from labelwise.api.schemas import ProjectCreate, ProjectPublic, ProjectUpdate
from labelwise.api.schemas.derive import optional_fields, required_fields
from labelwise.spec import DEFAULT_ACCEPT_THRESHOLD, ProjectParts, ProjectSpec, RoutingSpec

TASK = {"labels": ["a", "b"]}
MODEL = {"name": "m"}


class _Sample(BaseModel):
    count: int = Field(default=1, ge=1, le=5)
    tags: list[str] = Field(default_factory=list)
    title: str = Field(min_length=1, description="what it is called")


_Optional = create_model("_Optional", **optional_fields(_Sample))
_Required = create_model("_Required", **required_fields(_Sample))


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({}, {"count": None, "tags": None, "title": None}),
        ({"count": 5}, {"count": 5, "tags": None, "title": None}),
        ({"count": None, "title": "x"}, {"count": None, "tags": None, "title": "x"}),
        ({"tags": ["t"]}, {"count": None, "tags": ["t"], "title": None}),
    ],
)
def test_optional_fields_are_none_unless_given(given: dict[str, Any], expected: Any) -> None:
    assert _Optional(**given).model_dump() == expected


@pytest.mark.parametrize("given", [{"count": 0}, {"count": 6}, {"title": ""}, {"tags": "t"}])
def test_optional_fields_keep_their_bounds(given: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        _Optional(**given)


def test_optional_fields_keep_their_description() -> None:
    assert _Optional.model_fields["title"].description == "what it is called"


@pytest.mark.parametrize(
    ("given", "valid"),
    [
        ({"count": 0, "tags": [], "title": ""}, True),  # bounds describe requests, not answers
        ({"count": 9, "tags": ["t"], "title": "x"}, True),
        ({"tags": [], "title": "x"}, False),  # no default: every field is required
        ({"count": 1, "title": "x"}, False),
        ({"count": 1, "tags": []}, False),
    ],
)
def test_required_fields_have_no_default_and_no_bounds(given: dict[str, Any], valid: bool) -> None:
    if valid:
        assert _Required(**given).model_dump() == given
    else:
        with pytest.raises(ValidationError):
            _Required(**given)


@pytest.mark.parametrize("body", [ProjectCreate, ProjectUpdate, ProjectPublic])
def test_project_bodies_hold_every_part_of_the_definition(body: type[BaseModel]) -> None:
    assert set(ProjectParts.model_fields) <= set(body.model_fields)


def test_project_bodies_keep_the_name_first_and_the_spend_limit_after_the_parts() -> None:
    parts = list(ProjectParts.model_fields)
    assert list(ProjectCreate.model_fields) == ["name", *parts, "spend_limit_usd"]
    assert list(ProjectUpdate.model_fields) == ["name", *parts, "spend_limit_usd"]
    assert list(ProjectPublic.model_fields)[3 : 3 + len(parts)] == parts


def test_created_and_stored_projects_route_by_the_same_default() -> None:
    created = ProjectCreate(name="p", task=TASK, model=MODEL)
    stored = ProjectSpec(task=TASK, model=MODEL)
    assert created.routing == stored.routing == RoutingSpec(accept_threshold=0.8)
    assert DEFAULT_ACCEPT_THRESHOLD == 0.8


@pytest.mark.parametrize(
    ("field", "value"),
    [("items_per_request", 0), ("items_per_request", 51), ("name", ""), ("spend_limit_usd", -1)],
)
def test_project_edits_keep_the_bounds_of_creation(field: str, value: Any) -> None:
    with pytest.raises(ValidationError):
        ProjectCreate(**{"name": "p", "task": TASK, "model": MODEL, field: value})
    with pytest.raises(ValidationError):
        ProjectUpdate(**{field: value})
