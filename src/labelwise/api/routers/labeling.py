"""Synchronous labeling for product apps: a few items in, their labels in the same response.

The items are stored like any batch (so low-confidence ones reach reviewers) and leased to this
request; if the API process dies mid-call, the reconciler hands them to the workers.
"""

from __future__ import annotations

import time
from functools import partial

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from labelwise.api.bounds import ResourceId
from labelwise.api.deps import AppState, StateDep, SubmitterKey
from labelwise.api.guarded_route import GuardedRoute
from labelwise.api.ingest import checked_item
from labelwise.api.schemas import ItemIn, SyncLabelRequest, SyncLabelResponse
from labelwise.api.spending import reserve_spend
from labelwise.api.views import item_public
from labelwise.errors import PayloadTooLargeError
from labelwise.labeling.chunk_run import ChunkRun
from labelwise.scoring.dataset_error import new_guarantee
from labelwise.store.batch_writer import BatchWriter, IngestResult, NewItem
from labelwise.store.item_views import ItemView, item_view, item_views_by_external_id
from labelwise.store.projects import get_project

router = APIRouter(route_class=GuardedRoute, tags=["labeling"])


@router.post("/v1/projects/{project_id}/label", response_model=SyncLabelResponse)
async def label_now(
    project_id: ResourceId, body: SyncLabelRequest, key: SubmitterKey, state: StateDep
) -> SyncLabelResponse:
    settings = state.settings
    if len(body.items) > settings.max_items_per_sync_call:
        raise PayloadTooLargeError(
            f"this call takes at most {settings.max_items_per_sync_call} items; "
            "post larger sets as a batch",
            code="too_many_items",
        )
    # Store work runs in the thread pool: on SQLite it may wait for the write lock.
    items, result = await run_in_threadpool(_store_items, state, key.team, project_id, body.items)
    for job_id, item_ids in result.chunks.items():
        await ChunkRun(settings, state.engine, state.labeler, job_id).run(item_ids)
    views = await run_in_threadpool(_views_in_request_order, state, project_id, items, result)
    return SyncLabelResponse(batch_id=result.batch_id, items=[item_public(v) for v in views])


def _store_items(
    state: AppState, team: str, project_id: int, given: list[ItemIn]
) -> tuple[list[NewItem], IngestResult]:
    """Checked against the project, stored like any batch and leased to this request, for the
    work lease, once the project's budget has room for them (nothing is stored otherwise)."""
    with state.sessions() as session:
        project = get_project(session, team=team, project_id=project_id)
        max_bytes = state.settings.max_item_bytes
        items = [
            checked_item(index, item, project.spec.task, max_bytes)
            for index, item in enumerate(given)
        ]
        writer = BatchWriter(
            session,
            project=project,
            chunk_size=len(items),
            lease_until=time.time() + state.settings.work_lease_seconds,
        )
        for item in items:
            writer.add(item)
        writer.flush()
        reserve_spend(
            session,
            state.labeler,
            state.settings,
            project,
            [item.data for item in items],
            len(items),
            batch_id=writer.batch.id,
        )
        return items, writer.commit(partial(new_guarantee, project.spec.routing))


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
