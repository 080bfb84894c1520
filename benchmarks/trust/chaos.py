"""The chaos scenario: a 1,000-item batch on the slow fake LLM, workers killed ten times and the
stack's Redis database flushed once while it is labeled. Promise: afterwards every item has
exactly one final label or is in review, as the export says and as the database says (one
prediction per version, a label exactly where the status says one).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import text

from .api_client import Api, Broken
from .corpus import review_items
from .report import Result, log_evidence
from .settling import FINAL_OR_REVIEW, wait_settled
from .stack import Stack


@dataclass
class Havoc:
    """What was done to the stack while it labeled."""

    kills: int = 0
    flushes: int = 0
    pending_at_kills: list[int] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class BatchInDatabase:
    statuses: dict[str, int]  # items by status
    duplicate_predictions: int  # items with two predictions of one version
    label_mismatch: int  # items whose label disagrees with their status
    redelivered: int  # items delivered to a worker more than once
    reasons: dict[str, int]  # review items by reason


@dataclass
class ChaosEnd:
    """The batch once the chaos is over and labeling has settled (or the wait ran out)."""

    settled: bool
    settle_s: float
    pending: int  # as the API counts them
    export: httpx.Response
    db: BatchInDatabase

    def export_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.export.text.splitlines() if line.strip()]


def scenario_chaos(stack: Stack, args: argparse.Namespace, result: Result) -> None:
    api = Api(stack.api)
    project_id = api.project(
        stack.admin,
        "trust-chaos",
        model={"name": "fake-slow", "base_url": stack.llm["slow"]},
        result_cache="off",
    )
    marks = {name: log.mark() for name, log in stack.logs.items()}
    batch_id = _post_ndjson(api, stack.admin, project_id, args.items)
    havoc = _kill_while_labeling(stack, api, batch_id, args)
    settled, settle_s, summaries = wait_settled(stack, api, [batch_id], timeout=args.settle_timeout)
    if not settled:
        result.evidence.append(f"after the wait, labelwise reconcile: {stack.reconcile()}")
        settled, extra_s, summaries = wait_settled(stack, api, [batch_id], timeout=15)
        settle_s += extra_s
    export = api.http.get(
        f"/v1/batches/{batch_id}/export?format=jsonl",
        headers={"authorization": f"Bearer {stack.admin}"},
        timeout=120,
    )
    pending = summaries[batch_id]["counts"].get("pending", 0)
    end = ChaosEnd(settled, settle_s, pending, export, _database_state(stack, batch_id))
    _judge(result, args, havoc, end)
    if not result.ok:
        for name in ("api", *[w.name for w in stack.workers()]):
            if name in stack.logs:
                log_evidence(result, name, stack.logs[name], marks.get(name, 0), limit=4)


def _judge(result: Result, args: argparse.Namespace, havoc: Havoc, end: ChaosEnd) -> None:
    db, statuses = end.db, end.db.statuses
    bad_status = sum(n for s, n in statuses.items() if s not in FINAL_OR_REVIEW)
    lines = end.export_lines()
    exported_ids = [line.get("id", line.get("external_id")) for line in lines]
    result.figures.update(
        {
            "items": args.items,
            "kills": havoc.kills,
            "flushes": havoc.flushes,
            "chaos_s": round(havoc.seconds, 1),
            "settled_s": round(end.settle_s, 1),
            "accepted": statuses.get("accepted", 0),
            "review": statuses.get("review", 0),
            "pending": end.pending,
            "bad_status": bad_status,
            "dup_predictions": db.duplicate_predictions,
            "label_mismatch": db.label_mismatch,
            "export_lines": len(lines),
            "export_unique": len(set(exported_ids)),
            "db_total": sum(statuses.values()),
            "redelivered_items": db.redelivered,
            "review_reasons": ",".join(f"{k}:{n}" for k, n in sorted(db.reasons.items())),
            "pending_at_kills": "/".join(str(n) for n in havoc.pending_at_kills),
        }
    )
    result.promise(havoc.kills == args.kills, f"{args.kills} workers killed")
    result.promise(end.settled and bad_status == 0, "every item final or in review (database)")
    result.promise(sum(statuses.values()) == args.items, f"the database holds {args.items} items")
    result.promise(db.duplicate_predictions == 0, "no item with two predictions of one version")
    result.promise(db.label_mismatch == 0, "a final label exactly where the status says one")
    result.promise(
        _export_complete(end.export, lines, exported_ids, args.items),
        "the export lists every item once, final or in review",
    )


def _post_ndjson(api: Api, key: str, project_id: int, count: int) -> int:
    """One batch of `count` review items, posted as NDJSON; its id."""
    items = review_items("chaos", range(count), seed=41)
    response = api.http.post(
        f"/v1/projects/{project_id}/batches",
        content="\n".join(json.dumps(i) for i in items).encode(),
        headers={"authorization": f"Bearer {key}", "content-type": "application/x-ndjson"},
    )
    if response.status_code != 202:
        raise Broken(
            f"posting {count} items answered {response.status_code}: {response.text[:300]}"
        )
    return int(response.json()["id"])


def _kill_while_labeling(stack: Stack, api: Api, batch_id: int, args: argparse.Namespace) -> Havoc:
    """`--kills` workers killed `--kill-interval` apart, Redis flushed once halfway."""
    havoc = Havoc()
    started = time.monotonic()
    last = args.items
    for k in range(args.kills):
        # Each kill lands mid-work: after the interval, and once labeling has moved on since the
        # last kill (a restarted worker is back at work), or after at most 10 s.
        time.sleep(args.kill_interval)
        last = _pending_once_moved(api, stack.admin, batch_id, last)
        havoc.pending_at_kills.append(last)
        if stack.kill_worker() is not None:
            havoc.kills += 1
        if k == args.kills // 2 - 1:
            stack.redis.flushdb()  # the deployment's own Redis database only
            havoc.flushes += 1
    havoc.seconds = time.monotonic() - started
    return havoc


def _pending_once_moved(api: Api, key: str, batch_id: int, last: int) -> int:
    """The batch's pending count once it is below `last` (or zero), or whatever it is after 10 s."""
    waited_until = time.monotonic() + 10
    pending = last
    for _ in range(100):
        pending = api.must("GET", f"/v1/batches/{batch_id}", key)["counts"]["pending"]
        if pending < last or pending == 0 or time.monotonic() > waited_until:
            break
        time.sleep(0.1)
    return pending


def _database_state(stack: Stack, batch_id: int) -> BatchInDatabase:
    """The batch as the database holds it: items by status, review items by reason, predictions
    duplicated per version, labels that disagree with their status, items delivered twice."""
    params = {"b": batch_id}
    with stack.engine.connect() as connection:

        def one(sql: str) -> Any:
            return connection.execute(text(sql), params).scalar_one()

        def by_group(sql: str) -> dict[str, int]:
            return dict(connection.execute(text(sql), params).all())

        return BatchInDatabase(
            statuses=by_group(
                "SELECT status, COUNT(*) FROM items WHERE batch_id = :b GROUP BY status"
            ),
            duplicate_predictions=one(
                "SELECT COUNT(*) FROM (SELECT p.item_id, p.version FROM predictions p "
                "JOIN items i ON i.id = p.item_id WHERE i.batch_id = :b "
                "GROUP BY p.item_id, p.version HAVING COUNT(*) > 1) d"
            ),
            label_mismatch=one(
                "SELECT COUNT(*) FROM items WHERE batch_id = :b AND ("
                "(status IN ('accepted', 'reviewed') AND label_value IS NULL) OR "
                "(status IN ('review', 'pending') AND label_source IS NOT NULL))"
            ),
            redelivered=one("SELECT COUNT(*) FROM items WHERE batch_id = :b AND deliveries > 1"),
            reasons=by_group(
                "SELECT COALESCE(reason, '-'), COUNT(*) FROM items "
                "WHERE batch_id = :b AND status = 'review' GROUP BY reason"
            ),
        )


def _export_complete(
    export: httpx.Response, lines: list[dict[str, Any]], ids: list[Any], items: int
) -> bool:
    """Every item exported once, each final (with its label) or in review."""
    bad = [
        line
        for line in lines
        if line.get("status") not in FINAL_OR_REVIEW
        or (line.get("status") in ("accepted", "reviewed") and _label_of(line) is None)
    ]
    return export.status_code == 200 and len(lines) == items and len(set(ids)) == items and not bad


def _label_of(line: dict[str, Any]) -> Any:
    label = line.get("label")
    if isinstance(label, dict):
        return label.get("value")
    return label
