"""Batch mode: items that can wait go through the provider's batch API, at its lower price.

Submitting (an RQ job, like a chunk): the job claims its items, renders each request exactly as
online labeling would (packed `items_per_request` at a time), uploads them as JSONL, creates the
provider batch, and hands the items to it in the store with a lease as long as the batch window.
If the submission fails, the job fails and the items' work lease runs out: the reconciler then
delivers them online, so nothing waits on a batch that was never made.

Collecting (an RQ job the reconciler enqueues while batches are open): for each finished
provider batch, every answer goes through the same labeler as online answers (validation,
per-item confidence, items missing from a pack asked alone) and the same routing and writes.
Requests the provider failed, answers that cannot be read, and batches that failed or expired
have their items' leases ended, so they are labeled online.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from openai.types.chat import ChatCompletion
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from labelwise.domain import LabelOutcome
from labelwise.labeling.chunk_plan import copied, packs_of
from labelwise.labeling.chunk_run import ChunkRun
from labelwise.labeling.labeler import Labeler, PackItem
from labelwise.llm.batches import FINISHED_STATES, ProviderBatchAPI, request_line
from labelwise.llm.call import request_body
from labelwise.settings import Settings
from labelwise.spec import ProjectSpec
from labelwise.store.db import read_only
from labelwise.store.labeling import ClaimedItem
from labelwise.store.models import ProviderBatch
from labelwise.store.projects import get_version_specs
from labelwise.store.provider_batches import (
    item_ids_of,
    open_batches,
    owned_items,
    record_submission,
    release_items,
    set_status,
)

log = logging.getLogger(__name__)

# After the provider's window, an hour to collect before the reconciler takes the items back.
_COLLECT_MARGIN_SECONDS = 3600
_WINDOW_UNITS = {"h": 3600, "d": 86400}


def window_seconds(window: str) -> float:
    """`"24h"` -> 86400.0."""
    return float(window[:-1]) * _WINDOW_UNITS[window[-1]]


async def submit(
    settings: Settings, engine: Engine, labeler: Labeler, job_id: str, item_ids: Sequence[int]
) -> int:
    """Submit this job's items as provider batches (one per project version); returns how many
    items were handed to a provider batch.

    As online: what the result cache holds is copied now, items of projects at their spend
    limit make no call, and identical items of this chunk ride on the first of them."""
    run = ChunkRun(settings, engine, labeler, job_id)
    chunk = await run.prepare(item_ids)
    if chunk is None:
        return 0
    await run.flush()
    submitted = 0
    for version, group in chunk.plan.to_ask.items():
        copies = {
            str(item.id): [copy.id for copy in chunk.plan.copies[item.id]]
            for item in group
            if chunk.plan.copies.get(item.id)
        }
        await _submit_version(
            settings, engine, labeler, job_id, chunk.specs[version], group, copies
        )
        submitted += len(group) + sum(len(ids) for ids in copies.values())
    return submitted


async def _submit_version(
    settings: Settings,
    engine: Engine,
    labeler: Labeler,
    job_id: str,
    spec: ProjectSpec,
    group: list[ClaimedItem],
    copies: dict[str, list[int]],
) -> None:
    """One provider batch for the items of one project version, and its record in the store."""
    project_id, version = group[0].project_id, group[0].version
    requests, jsonl = _request_file(labeler, spec, group)
    api = ProviderBatchAPI(labeler.clients.for_model(spec.model), settings)
    provider_batch_id, file_id = await api.submit(
        jsonl, metadata={"project": str(project_id), "version": str(version)}
    )
    lease_until = (
        time.time() + window_seconds(settings.provider_batch_window) + _COLLECT_MARGIN_SECONDS
    )
    await asyncio.to_thread(
        _record_submission,
        engine,
        job_id=job_id,
        project_id=project_id,
        batch_id=group[0].batch_id,
        version=version,
        base_url=str(api.client.base_url),
        provider_batch_id=provider_batch_id,
        input_file_id=file_id,
        requests=requests,
        copies=copies,
        lease_until=lease_until,
    )
    log.info("submitted %d items as provider batch %s", len(group), provider_batch_id)


def _request_file(
    labeler: Labeler, spec: ProjectSpec, group: list[ClaimedItem]
) -> tuple[dict[str, list[int]], bytes]:
    """The item ids of each request by custom id, and the JSONL file of the requests: rendered
    as online labeling renders them, packed the same way."""
    rendered = labeler.requests.for_items(spec, [item.data for item in group], every_view=False)
    packs = packs_of(group, spec.items_per_request)
    requests = {f"r{n}": [item.id for item in pack] for n, pack in enumerate(packs)}
    lines = [
        request_line(custom_id, request_body(request))
        for custom_id, request in zip(requests, rendered, strict=True)
    ]
    jsonl = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode()
    return requests, jsonl


@dataclass
class CollectReport:
    still_running: int = 0
    collected: int = 0
    labeled: int = 0
    sent_online: int = 0


async def collect(settings: Settings, engine: Engine, labeler: Labeler) -> CollectReport:
    """Ingest the answers of every provider batch that has finished."""
    report = CollectReport()
    with Session(read_only(engine)) as session:
        rows = open_batches(session)
        specs = get_version_specs(session, {(row.project_id, row.version) for row in rows})
    for row in rows:
        spec = specs[(row.project_id, row.version)]
        api = ProviderBatchAPI(labeler.clients.for_model(spec.model), settings)
        batch = await api.retrieve(row.provider_batch_id)
        if batch.status not in FINISHED_STATES:
            report.still_running += 1
            if batch.status != row.status:
                await asyncio.to_thread(_set_status, engine, row.id, batch.status, None)
            continue
        answers = await _answers(api, batch.output_file_id) if batch.output_file_id else {}
        labeled, sent_online = await _ingest(settings, engine, labeler, row, spec, answers)
        counts = {"answered": len(answers), "labeled": labeled, "sent_online": sent_online}
        await asyncio.to_thread(_set_status, engine, row.id, batch.status, counts)
        report.collected += 1
        report.labeled += labeled
        report.sent_online += sent_online
    return report


def _record_submission(engine: Engine, **submission: Any) -> None:
    with Session(engine) as session:
        record_submission(session, **submission)


def _set_status(engine: Engine, row_id: int, status: str, counts: dict[str, int] | None) -> None:
    with Session(engine) as session:
        set_status(session, row_id, status, counts)


async def _answers(api: ProviderBatchAPI, file_id: str) -> dict[str, ChatCompletion]:
    """The output file's successful answers by custom_id; anything unreadable is left out."""
    answers: dict[str, ChatCompletion] = {}
    for line in (await api.download(file_id)).splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            response = record.get("response") or {}
            if response.get("status_code") != 200:
                continue
            answers[str(record["custom_id"])] = ChatCompletion.model_validate(response["body"])
        except (ValueError, KeyError, TypeError, ValidationError) as exc:
            log.warning("a provider batch line could not be read: %s", exc)
    return answers


async def _ingest(
    settings: Settings,
    engine: Engine,
    labeler: Labeler,
    row: ProviderBatch,
    spec: ProjectSpec,
    answers: dict[str, ChatCompletion],
) -> tuple[int, int]:
    """Label the items the answers cover, as online answers are; release the rest."""
    with read_only(engine).connect() as connection:
        owned = owned_items(connection, owner=row.owner, item_ids=item_ids_of(row))
    waiting = {item.id: item for item in owned}
    run = ChunkRun(settings, engine, labeler, row.owner)
    labeled: set[int] = set()

    def finish(item: ClaimedItem, outcome: LabelOutcome) -> None:
        run.finish(item, spec, outcome)
        labeled.add(item.id)

    async def label(custom_id: str, ids: list[int]) -> None:
        pack = [waiting[item_id] for item_id in ids if item_id in waiting]
        completion = answers.get(custom_id)
        if completion is None or len(pack) != len(ids):
            return  # unanswered, or no longer the request that was sent: labeled online
        outcomes = await labeler.label_pack(
            spec, [PackItem(item.id, item.data) for item in pack], completion=completion
        )
        for item, outcome in zip(pack, outcomes, strict=True):
            finish(item, outcome)
            if outcome.error_reason is not None:
                continue  # its copies are labeled online, each on its own
            for copy_id in row.copies.get(str(item.id), ()):
                if copy_id in waiting:
                    finish(waiting[copy_id], copied(outcome, copy_id))

    await asyncio.gather(*(label(custom_id, ids) for custom_id, ids in row.requests.items()))
    await run.flush()
    # Whatever the answers did not label goes online.
    unanswered = [item_id for item_id in waiting if item_id not in labeled]

    def release() -> None:
        with engine.begin() as connection:
            release_items(connection, owner=row.owner, item_ids=unanswered)

    await asyncio.to_thread(release)
    return run.written, len(unanswered)
