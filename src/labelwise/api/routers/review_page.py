"""The review desk, a page reviewers clear the queue from with the keyboard."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from labelwise.api.guarded_route import GuardedRoute
from labelwise.web.pages import REVIEW_POLICY, html_page, review_page

router = APIRouter(route_class=GuardedRoute, include_in_schema=False)


@router.get("/review", response_class=HTMLResponse)
def review() -> HTMLResponse:
    """A static shell: sign-in, projects and items all come from the JSON API, by script."""
    return html_page(review_page(), policy=REVIEW_POLICY)
