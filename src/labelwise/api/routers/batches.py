"""Batches: post items, watch progress, page through items, stream the export."""

from __future__ import annotations

import logging
import tempfile
import time
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, BinaryIO, Literal

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from labelwise.api.bounds import MAX_ID, CursorQuery, ResourceId, cursor_id
from labelwise.api.deps import AppState, ReadSessionDep, StateDep, SubmitterKey
from labelwise.api.export import conll_response, export_lines
from labelwise.api.guarded_route import GuardedRoute
from labelwise.api.ingest import iter_batch_items
from labelwise.api.schemas import (
    BatchAccepted,
    BatchPublic,
    ItemPublic,
    ItemsPage,
    ProviderBatchPublic,
    RelabelAccepted,
)
from labelwise.api.spending import Reservoir, relabel_reservation, reserve_spend
from labelwise.api.views import guarantee_public, item_public
from labelwise.errors import ConflictError, ValidationFailedError
from labelwise.labeling.queue import LABEL_CHUNK_JOB, SUBMIT_BATCH_JOB
from labelwise.scoring.dataset_error import new_guarantee
from labelwise.store import batch_writer, item_views
from labelwise.store import batches as store
from labelwise.store.labeling import expire_delivery
from labelwise.store.projects import get_project
from labelwise.store.provider_batches import batches_of
from labelwise.store.relabel import relabel_batch, relabel_queue

log = logging.getLogger(__name__)
# A body up to this size stays in memory while it is read; a larger one goes to a file.
_SPOOL_MEMORY_BYTES = 1024 * 1024
router = APIRouter(route_class=GuardedRoute, tags=["batches"])
BatchMode = Literal["online", "batch"]


@router.post(
    "/v1/projects/{project_id}/batches",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BatchAccepted,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/BatchCreate"}},
                "application/x-ndjson": {"schema": {"type": "string"}},
            }
        }
    },
)
async def post_batch(
    project_id: ResourceId,
    request: Request,
    key: SubmitterKey,
    state: StateDep,
    mode: Annotated[
        BatchMode,
        Query(description="online: label now; batch: through the provider's batch API"),
    ] = "online",
) -> BatchAccepted:
    # The body goes to a file as it arrives (memory only for small ones), and is read from there
    # item by item: a batch of any size costs the API the same memory.
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_MEMORY_BYTES) as body:
        async for part in request.stream():
            body.write(part)
        body.seek(0)
        content_type = request.headers.get("content-type", "application/json")
        # Parsing and inserting a large batch is seconds of blocking work: off the event loop.
        result = await run_in_threadpool(
            _ingest, state, key.team, project_id, body, content_type, mode
        )
    return BatchAccepted(
        id=result.batch_id,
        items=result.received,
        created=result.created,
        existing=result.received - result.created,
    )


def _ingest(
    state: AppState,
    team: str,
    project_id: int,
    body: BinaryIO,
    content_type: str,
    mode: BatchMode,
) -> batch_writer.IngestResult:
    """Commit the items, then enqueue them: the database is the record, Redis only delivers.
    A bad item, or a batch over the spend limit, leaves nothing stored and nothing enqueued."""
    settings = state.settings
    with state.sessions() as session:
        project = get_project(session, team=team, project_id=project_id)
        items = iter_batch_items(
            body,
            content_type=content_type,
            task=project.spec.task,
            max_items=settings.max_items_per_batch,
            max_item_bytes=settings.max_item_bytes,
            max_json_depth=settings.max_json_depth,
        )
        # A job carries chunk_size requests' worth of items, however many share a request; in
        # batch mode, a provider batch's worth.
        chunk_size = (
            settings.provider_batch_items
            if mode == "batch"
            else settings.chunk_size * project.spec.items_per_request
        )
        writer = batch_writer.BatchWriter(
            session,
            project=project,
            chunk_size=chunk_size,
            lease_until=time.time() + settings.queued_lease_seconds,
            mode=mode,
        )
        sample = Reservoir()
        for item in items:
            sample.add(item.data)
            writer.add(item)
        writer.flush()
        reserve_spend(
            session,
            state.labeler,
            settings,
            project,
            sample.items,
            writer.received,
            batch_id=writer.batch.id,
        )
        result = writer.commit(partial(new_guarantee, project.spec.routing))
    function = SUBMIT_BATCH_JOB if mode == "batch" else LABEL_CHUNK_JOB
    deliver(state, result.chunks, what=f"batch {result.batch_id}", function=function)
    _log_posted(result, project_id, mode)
    return result


def _log_posted(result: batch_writer.IngestResult, project_id: int, mode: BatchMode) -> None:
    """The line that starts an item's trail in the logs: its batch, with the request's id."""
    log.info(
        "batch posted",
        extra={
            "batch_id": result.batch_id,
            "project_id": project_id,
            "items": result.received,
            "items_created": result.created,
            "mode": mode,
            "chunks": len(result.chunks),
        },
    )


def deliver(
    state: AppState,
    chunks: dict[str, list[int]],
    *,
    what: str,
    function: str = LABEL_CHUNK_JOB,
) -> None:
    """Enqueue committed items. If Redis fails, their leases are expired so the reconciler
    delivers them (online) once it answers again: nothing committed is lost."""
    try:
        state.delivery.enqueue_chunks(chunks, function=function)
    except Exception:
        log.exception("enqueue for %s failed; leaving it to the reconciler", what)
        with state.engine.begin() as connection:
            expire_delivery(connection, job_ids=list(chunks))


@router.post(
    "/v1/batches/{batch_id}/relabel",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RelabelAccepted,
)
def relabel(batch_id: ResourceId, key: SubmitterKey, state: StateDep) -> RelabelAccepted:
    """Label the batch again with the project's current version: items the model labeled
    (accepted, or waiting unclaimed in review) under an older version. Human labels stay."""
    now = time.time()
    with state.sessions() as session:
        if store.get_batch(session, team=key.team, batch_id=batch_id).guarantee is not None:
            raise ConflictError(
                "this batch's dataset-error guarantee is certified on the model that labeled it; "
                "post the items as a new batch to label them with another version",
                code="guaranteed_batch",
            )
        result = relabel_batch(
            session,
            team=key.team,
            batch_id=batch_id,
            chunk_size=state.settings.chunk_size,
            now=now,
            lease_until=now + state.settings.queued_lease_seconds,
            reserve=relabel_reservation(state.labeler, state.settings, session, key.team),
        )
    deliver(state, result.chunks, what=f"batch {batch_id}")
    return RelabelAccepted(id=batch_id, version=result.version, relabeled=result.relabeled)


@router.post(
    "/v1/projects/{project_id}/review-queue/relabel",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RelabelAccepted,
)
def relabel_review_queue(
    project_id: ResourceId, key: SubmitterKey, state: StateDep
) -> RelabelAccepted:
    """Label again, with the current version, the project's items waiting unclaimed in review for
    a low, uncalibrated or missing score: with `examples_from_reviews`, the prompt has learned
    from the reviews made since, so the queue can shrink without more human work."""
    now = time.time()
    with state.sessions() as session:
        result = relabel_queue(
            session,
            team=key.team,
            project_id=project_id,
            chunk_size=state.settings.chunk_size,
            now=now,
            lease_until=now + state.settings.queued_lease_seconds,
            reserve=relabel_reservation(state.labeler, state.settings, session, key.team),
        )
    deliver(state, result.chunks, what=f"project {project_id}'s review queue")
    return RelabelAccepted(id=project_id, version=result.version, relabeled=result.relabeled)


@router.get("/v1/batches/{batch_id}", response_model=BatchPublic)
def get_batch(batch_id: ResourceId, key: SubmitterKey, session: ReadSessionDep) -> BatchPublic:
    summary = store.summarize_batch(session, team=key.team, batch_id=batch_id)
    provider_batches = [
        ProviderBatchPublic(
            id=row.provider_batch_id,
            status=row.status,
            requests=len(row.requests),
            submitted_at=datetime.fromtimestamp(row.submitted_at, UTC).isoformat(),
            counts=row.counts,
        )
        for row in batches_of(session, batch_id=batch_id)
    ]
    return BatchPublic(
        id=summary.id,
        project_id=summary.project_id,
        status=summary.status,
        mode=summary.mode,
        counts=summary.counts,
        usage=summary.usage,
        provider_batches=provider_batches,
        guarantee=guarantee_public(summary.guarantee, summary.counts),
    )


@router.get("/v1/batches/{batch_id}/items", response_model=ItemsPage)
def list_items(
    batch_id: ResourceId,
    key: SubmitterKey,
    session: ReadSessionDep,
    state: StateDep,
    cursor: CursorQuery = None,
    limit: int | None = Query(default=None, ge=1, le=MAX_ID),
) -> ItemsPage:
    limit = limit or state.settings.default_page_size
    if limit > state.settings.max_page_size:
        raise ValidationFailedError(f"limit: at most {state.settings.max_page_size}")
    after_id = cursor_id(cursor)
    views, next_id = item_views.list_batch_items(
        session, team=key.team, batch_id=batch_id, after_id=after_id, limit=limit
    )
    items: list[ItemPublic] = [item_public(v) for v in views]
    return ItemsPage(items=items, next_cursor=None if next_id is None else str(next_id))


@router.get("/v1/batches/{batch_id}/export")
def export_batch(
    batch_id: ResourceId,
    key: SubmitterKey,
    state: StateDep,
    format: Literal["jsonl", "csv", "conll"] = "jsonl",
) -> StreamingResponse:
    # A short session: the stream below reads page by page with connections of its own, and a
    # session held open for the whole stream would make every export take two.
    with state.read_sessions() as session:
        batch = store.get_batch(session, team=key.team, batch_id=batch_id)
        task = get_project(session, team=key.team, project_id=batch.project_id).spec.task
    views = item_views.iter_batch_items(state.read_engine, batch_id=batch_id)
    if format == "conll":
        return conll_response(views, task, batch_id)
    media_type = "application/x-ndjson" if format == "jsonl" else "text/csv"
    return StreamingResponse(
        export_lines(views, format, task),
        media_type=media_type,
        headers={"content-disposition": f'attachment; filename="batch-{batch_id}.{format}"'},
    )
