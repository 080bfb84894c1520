"""Synchronous labeling for product apps: a few items in, their labels in the same response.

The items are stored like any batch (so low-confidence ones reach reviewers) and leased to this
request; if the API process dies mid-call, the reconciler hands them to the workers.
"""

from __future__ import annotations

import time

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from labelwise.api.deps import AppState, StateDep, SubmitterKey
from labelwise.api.ingest import check_item_size
from labelwise.api.schemas import SyncLabelRequest, SyncLabelResponse
from labelwise.api.views import item_public
from labelwise.errors import PayloadTooLargeError
from labelwise.pipeline import ChunkRun
from labelwise.store.batches import (
    IngestResult,
    ItemView,
    NewItem,
    ingest_batch,
    item_view,
    item_views_by_external_id,
)
from labelwise.store.projects import get_project

router = APIRouter(tags=["labeling"])


@router.post("/v1/projects/{project_id}/label", response_model=SyncLabelResponse)
async def label_now(
    project_id: int, body: SyncLabelRequest, key: SubmitterKey, state: StateDep
) -> SyncLabelResponse:
    settings = state.settings
    if len(body.items) > settings.max_items_per_sync_call:
        raise PayloadTooLargeError(
            f"this call takes at most {settings.max_items_per_sync_call} items; "
            "post larger sets as a batch",
            code="too_many_items",
        )
    for index, item in enumerate(body.items):
        check_item_size(index, item.data, settings.max_item_bytes)
    items = [NewItem(i.data, i.external_id, i.ground_truth) for i in body.items]
    # Store work runs in the thread pool: on SQLite it may wait for the write lock.
    result = await run_in_threadpool(_store_items, state, key.team, project_id, items)
    for job_id, item_ids in result.chunks.items():
        await ChunkRun(settings, state.engine, state.labeler, job_id).run(item_ids)
    views = await run_in_threadpool(_views_in_request_order, state, project_id, items, result)
    return SyncLabelResponse(batch_id=result.batch_id, items=[item_public(v) for v in views])


def _store_items(state: AppState, team: str, project_id: int, items: list[NewItem]) -> IngestResult:
    """Stored like any batch and leased to this request, for the work lease."""
    with state.sessions() as session:
        project = get_project(session, team=team, project_id=project_id)
        return ingest_batch(
            session,
            project=project,
            items=items,
            chunk_size=len(items),
            lease_until=time.time() + state.settings.work_lease_seconds,
        )


def _views_in_request_order(
    state: AppState, project_id: int, items: list[NewItem], result: IngestResult
) -> list[ItemView]:
    created_ids = sorted(item_id for ids in result.chunks.values() for item_id in ids)
    with state.read_sessions() as session:
        created = [item_view(session, item_id) for item_id in created_ids]
        known = {v.external_id: v for v in created if v.external_id is not None}
        wanted = [i.external_id for i in items if i.external_id and i.external_id not in known]
        known |= item_views_by_external_id(session, project_id=project_id, external_ids=wanted)
    # New items were inserted in the order asked; known ones are looked up by external id.
    anonymous = iter(v for v in created if v.external_id is None)
    return [known[i.external_id] if i.external_id else next(anonymous) for i in items]
