"""The load scenario: 200 concurrent mixed requests (claims, synchronous labels, batches, reads)
while a worker is killed partway. Promises: no 5xx, none unanswered within 10 s, and every item
posted labeled or in review afterwards, by the database's account (items of a call that failed are
in no batch the client knows of, but the reconciler must finish them too).

While the burst lasts, the API's database connections are sampled, so that a failure shows what
its connections were doing (how many sat idle in a transaction, after which statement).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import threading
import time
from collections import Counter
from collections.abc import Coroutine
from typing import Any

import httpx
from sqlalchemy import text

from .api_client import Api, Outcome, acall, async_client, post_items
from .corpus import FreshItems, review_items
from .report import Result, failures_evidence, log_evidence, status_counts
from .settling import FINAL_OR_REVIEW, wait_settled
from .stack import Stack

KINDS = ["claim", "sync", "batch", "get_batch", "get_items"]


class Burst:
    """The requests of one burst: `kinds` shuffled, each made by `request`."""

    def __init__(self, stack: Stack, project_id: int, seed_batch: int, count: int) -> None:
        self.stack = stack
        self.project_id = project_id
        self.seed_batch = seed_batch
        self.kinds = KINDS * (count // len(KINDS))
        random.Random(5).shuffle(self.kinds)
        self.fresh = FreshItems("load", seed=37, max_chars=1200)

    def request(self, client: httpx.AsyncClient, kind: str, n: int) -> Coroutine[Any, Any, Outcome]:
        stack, admin = self.stack, self.stack.admin
        if kind == "claim":
            reviewer = stack.reviewers[n % min(10, len(stack.reviewers))]
            payload = {"project_id": self.project_id}
            return acall(client, kind, "POST", "/v1/review/claim", reviewer, payload)
        if kind == "sync":
            items = self.fresh.take(2)
            return post_items(client, kind, self.project_id, "label", admin, items)
        if kind == "batch":
            items = self.fresh.take(25)
            return post_items(client, kind, self.project_id, "batches", admin, items)
        if kind == "get_batch":
            return acall(client, kind, "GET", f"/v1/batches/{self.seed_batch}", admin)
        path = f"/v1/batches/{self.seed_batch}/items?limit=100"
        return acall(client, kind, "GET", path, admin)

    async def run(self, killed: dict[str, Any]) -> list[Outcome]:
        """Every request at once; a worker killed partway (what was killed when, in `killed`)."""
        async with async_client(self.stack.api, timeout=10, connections=400) as client:
            started = time.monotonic()
            tasks = [
                asyncio.ensure_future(self.request(client, k, n)) for n, k in enumerate(self.kinds)
            ]

            async def killer() -> None:
                for _ in range(100):  # partway: once a third have answered, or after 2 s
                    if sum(t.done() for t in tasks) >= len(tasks) // 3 or (
                        time.monotonic() - started > 2
                    ):
                        break
                    await asyncio.sleep(0.05)
                killed["pid"] = self.stack.kill_worker(0)
                killed["at_s"] = round(time.monotonic() - started, 2)
                killed["answered"] = sum(t.done() for t in tasks)

            await asyncio.gather(killer(), *tasks)
            return [t.result() for t in tasks]


class ConnectionSampler:
    """The API's database connections every 0.1 s in a thread of its own (40 s at most): the
    peak count, and the peak of those idle in a transaction, by their last statement."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.connections = 0
        self.idle_in_transaction = 0
        self.queries: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="trust-pg-sampler", daemon=True)

    def __enter__(self) -> ConnectionSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _sample(self) -> None:
        for _ in range(400):
            if self._stop.wait(0.1):
                return
            with contextlib.suppress(Exception):
                rows = self.stack.api_connections()
                waiting = [q for state, q in rows if state == "idle in transaction"]
                self.connections = max(self.connections, len(rows))
                if len(waiting) > self.idle_in_transaction:
                    self.idle_in_transaction = len(waiting)
                    self.queries = Counter(waiting)


def scenario_load(stack: Stack, args: argparse.Namespace, result: Result) -> None:
    api = Api(stack.api)
    project_id = api.project(
        stack.admin, "trust-load", routing={"accept_threshold": 0.95}, result_cache="off"
    )
    seed_items = review_items("load-seed", range(60), seed=31, max_chars=800)
    seed_batch = api.batch(stack.admin, project_id, seed_items)
    wait_settled(stack, api, [seed_batch], timeout=60)
    burst = Burst(stack, project_id, seed_batch, args.requests)
    killed: dict[str, Any] = {}
    before = stack.metrics_5xx()
    mark = stack.logs["api"].mark()
    with ConnectionSampler(stack) as peak:
        outcomes = asyncio.run(burst.run(killed))
    server = stack.metrics_5xx() - before
    five_xx = [o for o in outcomes if o.status is not None and o.status >= 500]
    unanswered = [o for o in outcomes if o.status is None]
    batch_ids = [o.body["id"] for o in outcomes if o.kind == "batch" and o.status == 202]
    sync_ids = [o.body["batch_id"] for o in outcomes if o.kind == "sync" and o.status == 200]
    settled, settle_s, _ = wait_settled(stack, api, batch_ids + sync_ids, timeout=60)
    begun = time.monotonic()
    statuses = _wait_items_final(stack, project_id, timeout=60)
    settle_s += time.monotonic() - begun
    lost = sum(n for s, n in statuses.items() if s not in FINAL_OR_REVIEW)
    latencies = [o.seconds for o in outcomes if o.status is not None]
    result.figures.update(
        {
            "requests": len(outcomes),
            "5xx": len(five_xx),
            "unanswered_10s": len(unanswered),
            "statuses": status_counts(outcomes),
            "p50_s": round(percentile(latencies, 0.5), 2),
            "p95_s": round(percentile(latencies, 0.95), 2),
            "killed_worker_at_s": killed.get("at_s"),
            "api_db_conns_peak": peak.connections,
            "idle_in_tx_peak": peak.idle_in_transaction,
            "settled_s": round(settle_s, 1),
            "items": sum(statuses.values()),
            "lost": lost,
        }
    )
    result.promise(not five_xx, "no 5xx")
    result.promise(not unanswered, "every request answered within 10 s")
    result.promise(lost == 0 and settled, "every item posted labeled or in review")
    result.promise(killed.get("pid") is not None, "a worker was killed mid-burst")
    _failure_evidence(result, stack, outcomes, server, peak, mark)


def _failure_evidence(
    result: Result,
    stack: Stack,
    outcomes: list[Outcome],
    server: Counter[str],
    peak: ConnectionSampler,
    mark: int,
) -> None:
    """The failed requests by kind and route, the API's log since `mark`, and what its
    database connections were doing at the peak."""
    five_xx = [o for o in outcomes if o.status is not None and o.status >= 500]
    failed = [*five_xx, *(o for o in outcomes if o.status is None)]
    by_kind = Counter(f"{o.kind}:{o.status or o.error}" for o in failed)
    if by_kind:
        result.evidence.append(f"failed requests by kind: {dict(by_kind)}")
    for route, n in server.most_common(6):
        result.evidence.append(f"API /metrics: {n}x {route}")
    failures_evidence(result, outcomes)
    if failed:
        log_evidence(result, "api", stack.logs["api"], mark)
        result.evidence.append(
            f"API connections 'idle in transaction' at the peak ({peak.idle_in_transaction} of "
            f"{peak.connections}), by last statement: "
            + "; ".join(f"{n}x {q}..." for q, n in peak.queries.most_common(4))
        )


def _wait_items_final(stack: Stack, project_id: int, *, timeout: float) -> dict[str, int]:
    """The project's items by status, once all are final or in review (at most `timeout` s)."""
    statuses: dict[str, int] = {}
    begun = time.monotonic()
    for _ in range(240):
        with stack.engine.connect() as connection:
            statuses = dict(
                connection.execute(
                    text(
                        "SELECT status, COUNT(*) FROM items WHERE project_id = :p GROUP BY status"
                    ),
                    {"p": project_id},
                ).all()
            )
        if all(s in FINAL_OR_REVIEW for s in statuses) or time.monotonic() - begun > timeout:
            break
        time.sleep(0.5)
    return statuses


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
