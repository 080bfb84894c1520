"""Handing a stopping worker's unfinished items straight to a new delivery.

Without it they would wait for their lease to run out and the reconciler to find them; with it
another worker can take them the moment this one lets go.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence

from sqlalchemy import Engine

from labelwise.labeling.queue import Delivery
from labelwise.settings import Settings
from labelwise.store.labeling import expire_delivery, hand_back_items

log = logging.getLogger(__name__)


def hand_back(
    settings: Settings,
    engine: Engine,
    delivery: Delivery,
    job_id: str,
    item_ids: Sequence[int],
) -> int:
    """Give the items `job_id` still owns to a new job and enqueue it; returns how many moved.

    If Redis does not take the job, the items' leases are expired instead, so the next
    reconciler pass (of any worker) delivers them.
    """
    to_job = uuid.uuid4().hex
    with engine.begin() as connection:
        moved = hand_back_items(
            connection,
            job_id=job_id,
            item_ids=item_ids,
            to_job=to_job,
            lease_until=time.time() + settings.queued_lease_seconds,
        )
    if not moved:
        return 0
    try:
        delivery.enqueue_chunks({to_job: moved}, at_front=True)
    except Exception:
        log.exception("handing back %d items of job %s failed; expiring them", len(moved), job_id)
        with engine.begin() as connection:
            expire_delivery(connection, job_ids=[to_job])
    return len(moved)
