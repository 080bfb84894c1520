"""Liveness, readiness and metrics: no auth, so probes and scrapers can reach them."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import generate_latest
from sqlalchemy import func, select, text

from labelwise.api.deps import StateDep
from labelwise.api.metrics import REGISTRY
from labelwise.store.models import Item

router = APIRouter(tags=["health"])


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
def metrics(state: StateDep) -> Response:
    lines = [generate_latest(REGISTRY).decode()]
    lines.append("# HELP labelwise_items Items by status.\n# TYPE labelwise_items gauge\n")
    with state.read_engine.connect() as connection:
        for status, n in connection.execute(
            select(Item.status, func.count()).group_by(Item.status)
        ):
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
