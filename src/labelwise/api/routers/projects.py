"""Projects: create, read, list, and edit (each edit of the definition is a new version)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel
from sqlalchemy.orm import Session

from labelwise.api.bounds import ResourceId
from labelwise.api.deps import (
    CurrentKey,
    ReadSessionDep,
    SessionDep,
    SettingsDep,
    StateDep,
    SubmitterKey,
)
from labelwise.api.guarded_route import GuardedRoute
from labelwise.api.schemas import (
    CalibrationPublic,
    EstimatePublic,
    EstimateRequest,
    ProjectCreate,
    ProjectPublic,
    ProjectUpdate,
)
from labelwise.api.schemas.projects import GoldAdvicePublic
from labelwise.api.spending import SAMPLE_SIZE, Reservoir, estimate_items
from labelwise.domain import Calibration
from labelwise.errors import ForbiddenError, ValidationFailedError
from labelwise.llm.client import endpoint_problem
from labelwise.scoring.routing import effective_threshold
from labelwise.settings import Settings
from labelwise.spec import ModelSpec, Price, ProjectParts, ProjectSpec, RoutingSpec, TaskSpec
from labelwise.store import projects as store
from labelwise.store.calibrations import version_calibration
from labelwise.store.keys import Principal, Role
from labelwise.store.projects import ProjectRecord, checked_spec
from labelwise.store.spend import recent_item_data, spent_usd
from labelwise.tasks import TASK_TYPES

router = APIRouter(route_class=GuardedRoute, prefix="/v1/projects", tags=["projects"])


def to_public(project: ProjectRecord, calibration: Calibration | None = None) -> ProjectPublic:
    return ProjectPublic(
        id=project.id,
        name=project.name,
        version=project.version,
        **_parts_of(project.spec),
        spend_limit_usd=project.spend_limit_usd,
        spent_usd=round(project.spent_usd, 6),
        accept_threshold=effective_threshold(project.spec.routing, calibration),
        created_at=project.created_at.isoformat(),
        updated_at=project.updated_at.isoformat(),
    )


def _parts_of(model: BaseModel) -> dict[str, Any]:
    """The parts of a project's definition that `model` holds, as they are (not dumped); an
    edit's parts left out (None) are not among them."""
    parts = {part: getattr(model, part) for part in ProjectParts.model_fields}
    return {part: value for part, value in parts.items() if value is not None}


def require_admin_for_spend(key: Principal) -> None:
    """A price or a spend limit is what bounds a team's spend: only its admins set them, so a
    submitter can neither lift the limit nor price the model at zero to slip under it."""
    if key.role is not Role.ADMIN:
        raise ForbiddenError(
            "only an admin key may set or change prices (model.price, a consensus voter's "
            "price, or a model that leaves its price behind) or spend_limit_usd"
        )


def _keeping_price(model: ModelSpec, current: ModelSpec) -> ModelSpec:
    """A change of the model's settings that leaves out the price keeps the one in force. A
    price belongs to one model at one endpoint: naming another leaves it behind (the operator's
    table prices the new one, or an admin does)."""
    if "price" in model.model_fields_set:
        return model
    same = (model.name, model.base_url) == (current.name, current.base_url)
    return model.model_copy(update={"price": current.price if same else None})


def _prices(spec: ProjectSpec) -> list[Price]:
    """The prices a project itself states, for its model and its voters (the others come from
    the operator's table)."""
    models = [spec.model, *spec.consensus.models, *([spec.cascade.model] if spec.cascade else [])]
    return [model.price for model in models if model.price is not None]


def check_endpoints(models: Iterable[ModelSpec], settings: Settings, *, team: str) -> None:
    """Every model a project calls, consensus voters included, must be an allowed endpoint."""
    for model in models:
        problem = endpoint_problem(model, settings, team=team)
        if problem is not None:
            raise ValidationFailedError(problem)


def _check_task_type(task: TaskSpec) -> None:
    """A task type this deployment can label: its definition alone is not enough."""
    if task.type not in TASK_TYPES:
        available = ", ".join(sorted(TASK_TYPES))
        raise ValidationFailedError(f"task.type: {task.type!r} is not one of {available}")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ProjectPublic)
def create_project(
    body: ProjectCreate, key: SubmitterKey, session: SessionDep, settings: SettingsDep
) -> ProjectPublic:
    cascade = [body.cascade.model] if body.cascade else []
    check_endpoints([body.model, *body.consensus.models, *cascade], settings, team=key.team)
    _check_task_type(body.task)
    if body.spend_limit_usd is not None or any(
        m.price is not None for m in (body.model, *body.consensus.models, *cascade)
    ):
        require_admin_for_spend(key)
    spec = checked_spec(body.model_dump(include=set(ProjectParts.model_fields)))
    return to_public(
        store.create_project(
            session, team=key.team, name=body.name, spec=spec, spend_limit_usd=body.spend_limit_usd
        )
    )


@router.get("", response_model=list[ProjectPublic])
def list_projects(key: CurrentKey, session: ReadSessionDep) -> list[ProjectPublic]:
    return [
        to_public(p, current_calibration(session, p))
        for p in store.list_projects(session, team=key.team)
    ]


@router.get("/{project_id}", response_model=ProjectPublic)
def get_project(project_id: ResourceId, key: CurrentKey, session: ReadSessionDep) -> ProjectPublic:
    project = store.get_project(session, team=key.team, project_id=project_id)
    return to_public(project, current_calibration(session, project))


@router.patch("/{project_id}", response_model=ProjectPublic)
def update_project(
    project_id: ResourceId,
    body: ProjectUpdate,
    key: SubmitterKey,
    session: SessionDep,
    settings: SettingsDep,
) -> ProjectPublic:
    check_endpoints(
        [
            *([body.model] if body.model else []),
            *(body.consensus.models if body.consensus else []),
            *([body.cascade.model] if body.cascade else []),
        ],
        settings,
        team=key.team,
    )
    if body.task is not None:
        _check_task_type(body.task)
    current = store.get_project(session, team=key.team, project_id=project_id)
    changes = _parts_of(body)
    if body.model is not None:
        changes["model"] = _keeping_price(body.model, current.spec.model)
    if "cascade" in body.model_fields_set:
        # null removes the cascade; a cascade model named again keeps its price, as `model` does.
        changes["cascade"] = body.cascade
        if body.cascade is not None and current.spec.cascade is not None:
            kept = _keeping_price(body.cascade.model, current.spec.cascade.model)
            changes["cascade"] = body.cascade.model_copy(update={"model": kept})
    after = current.spec.model_copy(update=changes)
    if "spend_limit_usd" in body.model_fields_set or _prices(after) != _prices(current.spec):
        require_admin_for_spend(key)
    spend_limit = (body.spend_limit_usd,) if "spend_limit_usd" in body.model_fields_set else None
    return to_public(
        store.update_project(
            session,
            team=key.team,
            project_id=project_id,
            name=body.name,
            changes=changes,
            spend_limit=spend_limit,
        )
    )


@router.get("/{project_id}/calibration", response_model=CalibrationPublic)
def get_calibration(
    project_id: ResourceId, key: CurrentKey, session: ReadSessionDep
) -> CalibrationPublic:
    """The threshold in force for the current version, and what gold says it delivers."""
    project = store.get_project(session, team=key.team, project_id=project_id)
    routing = project.spec.routing
    calibration = current_calibration(session, project)
    if routing.target_error is not None:
        reason = "a target_error is certified per batch, on the batch's own sample"
    elif routing.target_precision is None:
        reason = "a fixed accept_threshold is not calibrated"
    elif calibration is None:
        reason = "no gold scored by this version yet"
    else:
        reason = calibration.reason
    return CalibrationPublic(
        project_id=project.id,
        version=project.version,
        target_precision=routing.target_precision,
        threshold=effective_threshold(routing, calibration),
        calibrated=routing.target_precision is not None
        and calibration is not None
        and calibration.calibrated,
        expected_precision=calibration and calibration.expected_precision,
        precision_interval=calibration and calibration.precision_interval,
        expected_coverage=calibration and calibration.expected_coverage,
        gold=calibration.gold if calibration else 0,
        reason=reason,
        audit_rate=routing.audit_rate,
        confidence_method=calibration.confidence_method if calibration else None,
        guarantee=_guarantee(routing, calibration),
        advice=[
            GoldAdvicePublic(coverage=row.coverage, gold=row.gold)
            for row in (calibration.advice if calibration else None) or ()
        ],
    )


def _guarantee(routing: RoutingSpec, calibration: Calibration | None) -> float | None:
    """The probability the calibration's threshold was certified with; before any, the one the
    target asks for. A fixed threshold promises nothing."""
    if calibration is not None and calibration.guarantee is not None:
        return calibration.guarantee
    if routing.target_precision is None and routing.target_error is None:
        return None
    return routing.guarantee


def current_calibration(session: Session, project: ProjectRecord) -> Calibration | None:
    """What the current version routes by."""
    return version_calibration(
        session.connection(), project_id=project.id, version=project.version, spec=project.spec
    )


@router.post("/{project_id}/estimate", response_model=EstimatePublic)
def estimate_cost(
    project_id: ResourceId,
    body: EstimateRequest,
    key: CurrentKey,
    session: ReadSessionDep,
    state: StateDep,
) -> EstimatePublic:
    """Tokens and dollars to label `count` items (or the sample given), at the project's
    current version, before any is sent: prompts rendered and counted, answers sized by the
    schema."""
    project = store.get_project(session, team=key.team, project_id=project_id)
    if body.items is not None:
        reservoir = Reservoir()
        for item in body.items:
            reservoir.add(item.data)
        sample = reservoir.items
    else:
        sample = recent_item_data(session, project_id=project_id, limit=SAMPLE_SIZE)
    if not sample:
        raise ValidationFailedError(
            "the project has no items yet to sample: give a sample of items with the count"
        )
    spent = spent_usd(session, project_id=project_id)
    count = body.count or (len(body.items) if body.items else len(sample))
    estimated = estimate_items(state.labeler, state.settings, project, sample, count)
    return EstimatePublic(
        project_id=project.id,
        version=project.version,
        model=project.spec.model.name,
        spent_usd=round(spent, 6),
        spend_limit_usd=project.spend_limit_usd,
        **estimated.to_json(),
    )
