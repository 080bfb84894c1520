"""Projects and their versions. Editing a project writes a new version; nothing is overwritten."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from labelwise.errors import NotFoundError, ValidationFailedError
from labelwise.spec import ProjectSpec
from labelwise.store.models import Project, ProjectVersion, utcnow


@dataclass(frozen=True)
class ProjectRecord:
    id: int
    team: str
    name: str
    version: int
    spec: ProjectSpec
    created_at: datetime
    spend_limit_usd: float | None
    updated_at: datetime
    spent_usd: float = 0.0


def _record(project: Project, spec: dict[str, Any]) -> ProjectRecord:
    return ProjectRecord(
        id=project.id,
        team=project.team,
        name=project.name,
        version=project.current_version,
        spec=ProjectSpec.model_validate(spec),
        created_at=project.created_at,
        updated_at=project.updated_at,
        spend_limit_usd=project.spend_limit_usd,
        spent_usd=project.spent_usd or 0.0,
    )


def _with_current_spec() -> Select[tuple[Project, dict[str, Any]]]:
    return select(Project, ProjectVersion.spec).join(
        ProjectVersion,
        (ProjectVersion.project_id == Project.id)
        & (ProjectVersion.version == Project.current_version),
    )


def create_project(
    session: Session,
    *,
    team: str,
    name: str,
    spec: ProjectSpec,
    spend_limit_usd: float | None = None,
) -> ProjectRecord:
    project = Project(team=team, name=name, current_version=1, spend_limit_usd=spend_limit_usd)
    session.add(project)
    session.flush()
    session.add(ProjectVersion(project_id=project.id, version=1, spec=spec.model_dump(mode="json")))
    session.commit()
    return _record(project, spec.model_dump(mode="json"))


def get_project(session: Session, *, team: str, project_id: int) -> ProjectRecord:
    """The project at its current version; another team's project is simply not found."""
    row = session.execute(
        _with_current_spec().where(Project.id == project_id, Project.team == team)
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"project {project_id} not found")
    return _record(row[0], row[1])


def list_projects(session: Session, *, team: str) -> list[ProjectRecord]:
    rows = session.execute(
        _with_current_spec().where(Project.team == team).order_by(Project.id)
    ).all()
    return [_record(project, spec) for project, spec in rows]


def update_project(
    session: Session,
    *,
    team: str,
    project_id: int,
    name: str | None,
    changes: Mapping[str, Any],
    spend_limit: tuple[float | None] | None = None,
) -> ProjectRecord:
    """Rename and/or write a new version with `changes` (parts of the spec) applied.

    The merge happens under the row lock, so two concurrent edits of different parts both land
    instead of the later one silently restoring what the earlier one changed. An edit that
    changes nothing makes no version.
    """
    project = session.execute(
        select(Project).where(Project.id == project_id, Project.team == team).with_for_update()
    ).scalar_one_or_none()
    if project is None:
        raise NotFoundError(f"project {project_id} not found")
    current = ProjectSpec.model_validate(
        session.execute(
            select(ProjectVersion.spec).where(
                ProjectVersion.project_id == project_id,
                ProjectVersion.version == project.current_version,
            )
        ).scalar_one()
    )
    edited = checked_spec(
        {**current.model_dump(), **{part: _dumped(value) for part, value in changes.items()}}
    )
    if name is not None:
        project.name = name
    if spend_limit is not None:  # a 1-tuple, so that (None,) removes the limit
        project.spend_limit_usd = spend_limit[0]
    if edited != current:
        project.current_version += 1
        session.add(
            ProjectVersion(
                project_id=project.id,
                version=project.current_version,
                spec=edited.model_dump(mode="json"),
            )
        )
    project.updated_at = utcnow()
    session.commit()
    return get_project(session, team=team, project_id=project_id)


def get_version_specs(
    session: Session, keys: set[tuple[int, int]]
) -> dict[tuple[int, int], ProjectSpec]:
    """Specs by (project_id, version), for the worker to label with exactly the version asked."""
    if not keys:
        return {}
    project_ids = {project_id for project_id, _ in keys}
    rows = session.execute(
        select(ProjectVersion.project_id, ProjectVersion.version, ProjectVersion.spec).where(
            ProjectVersion.project_id.in_(project_ids)
        )
    ).all()
    return {
        (pid, version): ProjectSpec.model_validate(spec)
        for pid, version, spec in rows
        if (pid, version) in keys
    }


def _dumped(value: Any) -> Any:
    return value.model_dump() if isinstance(value, BaseModel) else value


def checked_spec(parts: Mapping[str, Any]) -> ProjectSpec:
    """A project definition validated as a whole, parts that constrain each other included."""
    try:
        return ProjectSpec.model_validate(parts)
    except ValidationError as exc:
        problems = "; ".join(error["msg"].removeprefix("Value error, ") for error in exc.errors())
        raise ValidationFailedError(problems) from exc
