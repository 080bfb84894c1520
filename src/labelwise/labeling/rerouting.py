"""Routing a version's model-decided items again by a new calibration, a page at a time.

Each page is read, decided (`labelwise.scoring.rerouting.new_routing`) and written before the next
is read, so a version with a million items never holds them in memory at once. Pages follow item
ids, so an item a page has just changed is never read twice.
"""

from __future__ import annotations

import time

from sqlalchemy import Connection

from labelwise.domain import Calibration
from labelwise.scoring.rerouting import new_routing
from labelwise.scoring.routing import review_rank
from labelwise.spec import RoutingSpec
from labelwise.store.reroute import PAGE_SIZE, RoutingChange, apply_routing, model_decided_page


def reroute(
    connection: Connection,
    *,
    project_id: int,
    version: int,
    routing: RoutingSpec,
    calibration: Calibration,
    between: tuple[float, float] | None = None,
    now: float | None = None,
    page_size: int = PAGE_SIZE,
) -> int:
    """Route again every item whose standing rests on the model's score alone: accepted by the
    model, or waiting in review for a low or uncalibrated score and not claimed by anyone.

    Human decisions, audits, failures and claimed items are left as they are. When only a
    threshold moved, `between` (the old and new thresholds) narrows the work to the items whose
    confidence lies between them: no other item can change. Returns how many items changed state.
    """
    now = time.time() if now is None else now
    changed = 0
    after_id: int | None = None
    while True:
        page = model_decided_page(
            connection,
            project_id=project_id,
            version=version,
            now=now,
            between=between,
            after_id=after_id,
            limit=page_size,
        )
        changes = []
        for item in page:
            decision = new_routing(item, version=version, routing=routing, calibration=calibration)
            if decision is not None:
                changes.append(
                    RoutingChange(
                        item,
                        decision,
                        review_rank(decision, item.confidence, item_id=item.item_id),
                    )
                )
        changed += apply_routing(connection, version=version, changes=changes, now=now)
        if len(page) < page_size:
            return changed
        after_id = page[-1].item_id
