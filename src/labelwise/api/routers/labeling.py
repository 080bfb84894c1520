"""Synchronous labeling for product apps: a few items in, their labels in the same response.

The items are stored like any batch (so low-confidence ones reach reviewers) and leased to this
request; if the API process dies mid-call, the reconciler hands them to the workers.
"""

from __future__ import annotations

import time

from fastapi import APIRouter

from labelwise.api.deps import StateDep, SubmitterKey
from labelwise.api.ingest import check_item_size
from labelwise.api.schemas import SyncLabelRequest, SyncLabelResponse
from labelwise.api.views import item_public
from labelwise.errors import PayloadTooLargeError
from labelwise.pipeline import ChunkRun
from labelwise.store.batches import NewItem, ingest_batch, item_view, item_views_by_external_id
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
    with state.sessions() as session:
        project = get_project(session, team=key.team, project_id=project_id)
        result = ingest_batch(
            session,
            project=project,
            items=items,
            chunk_size=len(items),
            lease_until=time.time() + settings.work_lease_seconds,
        )
    for job_id, item_ids in result.chunks.items():
        await ChunkRun(settings, state.engine, state.labeler, job_id).run(item_ids)
    created_ids = sorted(item_id for ids in result.chunks.values() for item_id in ids)
    with state.sessions() as session:
        created = [item_view(session, item_id) for item_id in created_ids]
        known = {v.external_id: v for v in created if v.external_id is not None}
        wanted = [i.external_id for i in items if i.external_id and i.external_id not in known]
        known |= item_views_by_external_id(session, project_id=project_id, external_ids=wanted)
    # Answer in the order asked: new items were inserted in that order, known ones by their id.
    anonymous = iter(v for v in created if v.external_id is None)
    views = [known[i.external_id] if i.external_id else next(anonymous) for i in items]
    return SyncLabelResponse(batch_id=result.batch_id, items=[item_public(v) for v in views])
