"""Rendering the HTML pages from their templates (autoescaped: every value is text, not markup)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from labelwise.quality.report_models import QualityReport

# No script, no remote fetch: images are inline SVG data, styles are the page's own.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# The review desk runs its own script, from this site only, and talks only to this site. No
# inline script or style can run, so text that slipped into the markup could still do nothing.
REVIEW_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
STATIC_DIR = Path(__file__).parent / "static"


@cache
def _templates() -> Environment:
    return Environment(
        loader=PackageLoader("labelwise.web", "templates"),
        autoescape=select_autoescape(["html"]),
    )


def quality_page(report: QualityReport, *, project_name: str, csrf: str = "") -> str:
    from labelwise.web.plots import all_plots  # matplotlib loads only when a page is asked for

    return (
        _templates()
        .get_template("quality.html")
        .render(
            r=report,
            project_name=project_name,
            csrf=csrf,
            plots=all_plots(report),
            generated=datetime.fromtimestamp(report.generated_at, UTC).strftime("%Y-%m-%d %H:%M"),
        )
    )


def signin_page(*, next_path: str, csrf: str, error: str | None = None) -> str:
    return _templates().get_template("signin.html").render(next=next_path, csrf=csrf, error=error)


def review_page() -> str:
    return _templates().get_template("review.html").render()


def html_page(
    html: str, status_code: int = 200, *, policy: str = CONTENT_SECURITY_POLICY
) -> HTMLResponse:
    """A page with the headers every page gets: its policy, no sniffing, no caching. The
    referrer goes to this site only: with none at all, a browser posts our own forms with
    `Origin: null`, which the cross-site check must refuse."""
    return HTMLResponse(
        html,
        status_code=status_code,
        headers={
            "Content-Security-Policy": policy,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
            "Cache-Control": "no-store",
        },
    )
