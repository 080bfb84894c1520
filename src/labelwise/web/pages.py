"""Rendering the HTML pages from their templates (autoescaped: every value is text, not markup)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from labelwise.report import QualityReport

# No script, no remote fetch: images are inline SVG data, styles are the page's own.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


@cache
def _templates() -> Environment:
    return Environment(
        loader=PackageLoader("labelwise.web", "templates"),
        autoescape=select_autoescape(["html"]),
    )


def quality_page(report: QualityReport, *, project_name: str) -> str:
    from labelwise.web.plots import all_plots  # matplotlib loads only when a page is asked for

    return (
        _templates()
        .get_template("quality.html")
        .render(
            r=report,
            project_name=project_name,
            plots=all_plots(report),
            generated=datetime.fromtimestamp(report.generated_at, UTC).strftime("%Y-%m-%d %H:%M"),
        )
    )


def signin_page(*, next_path: str, error: str | None = None) -> str:
    return _templates().get_template("signin.html").render(next=next_path, error=error)


def html_page(html: str, status_code: int = 200) -> HTMLResponse:
    """A page with the headers every page gets: the policy above, no sniffing, no caching."""
    return HTMLResponse(
        html,
        status_code=status_code,
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        },
    )
