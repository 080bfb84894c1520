"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles

from labelwise import __version__
from labelwise.api.deps import AppState
from labelwise.api.errors import install_error_handlers
from labelwise.api.limits import BodySizeLimitMiddleware, ConcurrencyLimitMiddleware
from labelwise.api.metrics import CachedValue, MetricsMiddleware
from labelwise.api.routers import (
    batches,
    health,
    keys,
    labeling,
    projects,
    quality,
    review,
    review_page,
    signin,
)
from labelwise.api.schemas import BatchCreate, ErrorBody
from labelwise.api.throttle import Throttle
from labelwise.labeling.labeler import Labeler
from labelwise.labeling.queue import Delivery, connect
from labelwise.llm.client import LLMClients
from labelwise.observability.request_ids import RequestIdMiddleware
from labelwise.settings import Settings
from labelwise.store.db import engine_for, make_session_factory, read_only
from labelwise.tasks.prompts import PromptLibrary
from labelwise.web.pages import STATIC_DIR

# Scrapes more frequent than this read the store's counts once.
METRICS_CACHE_SECONDS = 5.0
# A request waits at most this long on Redis (enqueue, request limits) before going without.
REDIS_TIMEOUT_SECONDS = 2.0


def create_app(settings: Settings) -> FastAPI:
    engine = engine_for(settings)
    redis = connect(settings.redis_url, timeout_seconds=REDIS_TIMEOUT_SECONDS)
    read_engine = read_only(engine)
    state = AppState(
        settings=settings,
        engine=engine,
        read_engine=read_engine,
        sessions=make_session_factory(engine),
        read_sessions=make_session_factory(read_engine),
        delivery=Delivery(redis, settings.queue_name),
        throttle=Throttle(redis, settings),
        outstanding=CachedValue(METRICS_CACHE_SECONDS),
        labeler=Labeler(settings, LLMClients(settings), PromptLibrary.from_settings(settings)),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await state.labeler.aclose()
        engine.dispose()

    app = FastAPI(title="labelwise", version=__version__, lifespan=lifespan)
    app.state.labelwise = state
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(ConcurrencyLimitMiddleware, max_in_flight=settings.max_concurrent_requests)
    # Added last, so outermost: even an answer the limits above give carries X-Request-ID.
    app.add_middleware(RequestIdMiddleware)
    install_error_handlers(app)
    for router in (
        health.router,
        projects.router,
        batches.router,
        labeling.router,
        review.router,
        quality.router,
        keys.router,
        signin.router,
        review_page.router,
    ):
        app.include_router(router)
    # The pages' own script and styles ship inside the package: nothing is fetched elsewhere.
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.openapi = lambda: _openapi_with_raw_bodies(app)  # type: ignore[method-assign]
    return app


def _openapi_with_raw_bodies(app: FastAPI) -> dict[str, Any]:
    """The batch route reads its body itself (JSON or NDJSON), so FastAPI does not see its model;
    add it to the schema components the route's documentation points at. And the 422 FastAPI
    documents on every route is answered as `ErrorBody`, like every other error."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        body = BatchCreate.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(body.pop("$defs", {}))
        components["BatchCreate"] = body
        error = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(error.pop("$defs", {}))
        components["HTTPValidationError"] = error
        app.openapi_schema = schema
    return app.openapi_schema
