"""Liveness, readiness and metrics. Probes need no key; metrics need the operator's token, or a
loopback client."""

from __future__ import annotations

import hmac
import ipaddress

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import generate_latest
from sqlalchemy import func, select, text

from labelwise.api.deps import AppState, StateDep
from labelwise.api.guarded_route import GuardedRoute
from labelwise.api.metrics import REGISTRY
from labelwise.domain import ItemStatus
from labelwise.errors import AuthError, ForbiddenError
from labelwise.observability.metrics import LABELING_REGISTRY
from labelwise.settings import Settings
from labelwise.store.models import Item

OUTSTANDING = (ItemStatus.PENDING.value, ItemStatus.REVIEW.value)

router = APIRouter(route_class=GuardedRoute, tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(state: StateDep) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        with state.read_engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["store"] = "ok"
    except Exception as exc:
        checks["store"] = f"error: {exc.__class__.__name__}"
    try:
        state.delivery.ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"error: {exc.__class__.__name__}"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )


@router.get("/metrics")
def metrics(request: Request, state: StateDep) -> Response:
    """Prometheus text. Counts of items reach it only for work outstanding (pending, in review),
    read from the status index alone and cached a few seconds: however many items are done, a
    scrape reads none of them, and frequent scrapes cost nothing more. The labeling registry
    adds the LLM calls and labels of the API's own synchronous labeling."""
    check_metrics_access(request, state.settings)
    lines = [generate_latest(REGISTRY).decode(), generate_latest(LABELING_REGISTRY).decode()]
    lines.append("# HELP labelwise_items Items waiting, by status.\n# TYPE labelwise_items gauge\n")
    for status, n in state.outstanding.get(lambda: _outstanding(state)).items():
        lines.append(f'labelwise_items{{status="{status}"}} {n}\n')
    try:
        depth = state.delivery.depth()
        lines.append(
            "# HELP labelwise_queue_depth Chunks waiting in Redis.\n"
            f"# TYPE labelwise_queue_depth gauge\nlabelwise_queue_depth {depth}\n"
        )
    except Exception:  # metrics must not fail because Redis is away; readyz reports that
        pass
    return Response("".join(lines), media_type="text/plain; version=0.0.4")


def check_metrics_access(request: Request, settings: Settings) -> None:
    """With `metrics_token` set, its bearer token; without one, loopback clients only: counts
    of every team's work are not for anyone who can reach the port."""
    token = settings.metrics_token
    if token is not None:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
            raise AuthError("send the metrics token as 'Authorization: Bearer <token>'")
        return
    host = request.client.host if request.client else ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ForbiddenError(
            "metrics are served to loopback clients, or with LABELWISE_METRICS_TOKEN"
        )


def _outstanding(state: AppState) -> dict[str, int]:
    with state.read_engine.connect() as connection:
        rows = connection.execute(
            select(Item.status, func.count())
            .where(Item.status.in_(OUTSTANDING))
            .group_by(Item.status)
        )
        counts = dict.fromkeys(OUTSTANDING, 0)
        counts.update({status: n for status, n in rows})
        return counts
