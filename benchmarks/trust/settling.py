"""Waiting for labeling to finish: a scenario's batches polled until none of their items is
pending, with `labelwise reconcile` run when progress stalls (as an operator would)."""

from __future__ import annotations

import time
from typing import Any

from .api_client import Api
from .stack import Stack

# The statuses an item may end in: anything else is work the service has lost or not finished.
FINAL_OR_REVIEW = {"accepted", "review", "reviewed", "failed"}


def wait_settled(
    stack: Stack,
    api: Api,
    batch_ids: list[int],
    *,
    timeout: float,
    reconcile_every: float = 20.0,
    key: str | None = None,
) -> tuple[bool, float, dict[int, dict[str, Any]]]:
    """Poll the batches until none of their items is pending (running `labelwise reconcile` when
    progress stalls), at most `timeout` seconds."""
    started = time.monotonic()
    summaries: dict[int, dict[str, Any]] = {}
    last_pending, last_progress = None, started
    for _ in range(int(timeout / 0.5) + 10):  # bounded by count as well as by time
        for batch_id in batch_ids:
            if summaries.get(batch_id, {}).get("counts", {}).get("pending", 1) != 0:
                summaries[batch_id] = api.must("GET", f"/v1/batches/{batch_id}", key or stack.admin)
        pending = sum(s["counts"]["pending"] for s in summaries.values())
        now = time.monotonic()
        if pending == 0:
            return True, now - started, summaries
        if now - started > timeout:
            return False, now - started, summaries
        if pending != last_pending:
            last_pending, last_progress = pending, now
        elif now - last_progress > reconcile_every:
            stack.reconcile()
            last_progress = now
        time.sleep(0.5)
    return False, time.monotonic() - started, summaries
