"""The quality report of a project version, as JSON for programs and as a page for people."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from labelwise.api.bounds import MAX_VERSION, ResourceId
from labelwise.api.csrf import csrf_token, keep_csrf_cookie, secure_cookies
from labelwise.api.deps import CurrentKey, PageKey, ReadSessionDep, SettingsDep
from labelwise.api.guarded_route import GuardedRoute
from labelwise.errors import NotFoundError
from labelwise.quality.report import build_report
from labelwise.quality.report_models import QualityReport
from labelwise.store import projects as store
from labelwise.web.pages import html_page, quality_page

router = APIRouter(route_class=GuardedRoute, tags=["quality"])

VersionQuery = Annotated[
    int | None,
    Query(ge=1, le=MAX_VERSION, description="the project version; the current one if left out"),
]


def _report(session: Session, *, team: str, project_id: int, version: int | None) -> QualityReport:
    project = store.get_project(session, team=team, project_id=project_id)
    version = version or project.version
    spec = store.get_version_specs(session, {(project.id, version)}).get((project.id, version))
    if spec is None:
        raise NotFoundError(f"project {project_id} has no version {version}")
    return build_report(session.connection(), project_id=project.id, version=version, spec=spec)


@router.get("/v1/projects/{project_id}/quality", response_model=QualityReport)
def get_quality(
    project_id: ResourceId,
    key: CurrentKey,
    session: ReadSessionDep,
    version: VersionQuery = None,
) -> QualityReport:
    """Accuracy against coverage, reliability and ECE, confusion and per-label scores
    (classification), the task type's own measures (spans, extraction, rating, pairwise), label
    distribution, tokens and cost, the audit estimate, and the versions compared on gold."""
    return _report(session, team=key.team, project_id=project_id, version=version)


@router.get("/projects/{project_id}/quality", response_class=HTMLResponse, include_in_schema=False)
def quality_html(
    project_id: ResourceId,
    request: Request,
    key: PageKey,
    session: ReadSessionDep,
    settings: SettingsDep,
    version: VersionQuery = None,
) -> Response:
    if key is None:
        return RedirectResponse(f"/signin?next={quote(request.url.path)}", status_code=303)
    report = _report(session, team=key.team, project_id=project_id, version=version)
    name = store.get_project(session, team=key.team, project_id=project_id).name
    # The sign-out form carries the page's anti-forgery token (`labelwise.api.csrf`).
    token = csrf_token(request)
    response = html_page(quality_page(report, project_name=name, csrf=token))
    keep_csrf_cookie(response, request, token, secure=secure_cookies(settings, request))
    return response
