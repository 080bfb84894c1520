"""The live stack the scenarios run against: started from scratch on free loopback ports, and
everything it started stopped and cleaned away when it ends, however it ends.

Three fake LLM servers, the API and the workers (a killed worker is restarted, as `labelwise up`
does) on a PostgreSQL schema and a Redis database of their own (see `storage`), with a queue name
of their own. `Stack` is what the scenarios see of it: URLs, keys, the store, the logs, and the
means to kill a worker or read the API's counters.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import httpx
import redis
from sqlalchemy import Engine, text

from labelwise.local.supervisor import Child, ProcessGroup
from labelwise.store.db import make_engine

from .logs import LogFile
from .processes import (
    run_labelwise,
    start_api,
    start_fake_llms,
    start_workers,
    started_ticks,
    stop_group,
)
from .storage import database_url, own_redis_db, own_schema, prepare_store

_REQUESTS_TOTAL = re.compile(
    r'^labelwise_http_requests_total\{method="([^"]+)",route="([^"]+)",status="(\d+)"\}'
    r" ([0-9.e+]+)$"
)


@dataclass
class Stack:
    api: str
    env: dict[str, str]
    group: ProcessGroup
    workdir: Path
    engine: Engine
    redis: redis.Redis
    redis_db: int
    schema: str
    llm: dict[str, str]
    admin: str
    fuzz_admin: str
    reviewers: list[str]
    logs: dict[str, LogFile]

    def workers(self) -> list[Child]:
        return [c for c in self.group.children if c.name.startswith("worker-")]

    def reconcile(self) -> str:
        """Run `labelwise reconcile` once; the last line it printed."""
        done = run_labelwise(self.env, "reconcile", timeout=120)
        return (done.stdout.strip().splitlines() or [done.stderr.strip()[-200:]])[-1]

    def kill_worker(self, index: int | None = None) -> int | None:
        """SIGKILL a live worker (the supervisor restarts it): the `index`th, or with None the
        one up longest (the likeliest to be mid-chunk). Its pid, or None if none was up."""
        alive = [
            c.process for c in self.workers() if c.process is not None and c.process.poll() is None
        ]
        if not alive:
            return None
        victim = min(alive, key=started_ticks) if index is None else alive[index % len(alive)]
        os.kill(victim.pid, signal.SIGKILL)
        return victim.pid

    def api_connections(self) -> list[tuple[str, str]]:
        """The API process's database connections now: (state, start of the last query)."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT state, left(query, 70) FROM pg_stat_activity "
                    "WHERE application_name = :app"
                ),
                {"app": f"{self.schema}_api"},
            ).all()
        return [(state or "", query or "") for state, query in rows]

    def metrics_5xx(self) -> Counter[str]:
        """Responses with a 5xx status so far, by method and route, from the API's /metrics."""
        return Counter({k: n for k, n in self.metrics_statuses().items() if k.startswith("5")})

    def metrics_statuses(self) -> Counter[str]:
        """Responses so far by status, method and route, from the API's /metrics."""
        counts: Counter[str] = Counter()
        try:
            body = httpx.get(f"{self.api}/metrics", timeout=10).text
        except httpx.HTTPError:
            return counts
        for line in body.splitlines():
            match = _REQUESTS_TOTAL.match(line)
            if match:
                method, route, status, n = match.groups()
                counts[f"{status} {method} {route}"] += int(float(n))
        return counts


def stack_env(
    args: argparse.Namespace, *, database: str, redis_url: str, llm: dict[str, str]
) -> dict[str, str]:
    """The settings every child of the stack shares (the API and workers get their own
    application name in the database URL on top)."""
    return {
        "LABELWISE_DATABASE_URL": database,
        "LABELWISE_REDIS_URL": redis_url,
        "LABELWISE_QUEUE_NAME": f"trust-{uuid.uuid4().hex[:8]}",
        "OPENAI_BASE_URL": llm["fast"],
        "OPENAI_API_KEY": "trust",
        "LABELWISE_ALLOWED_LLM_BASE_URLS": json.dumps([llm["hostile"], llm["slow"]]),
        # Recovery within the run's minutes: a lost item is noticed 10 s after its lease.
        "LABELWISE_WORK_LEASE_SECONDS": "10",
        "LABELWISE_QUEUED_LEASE_SECONDS": "10",
        "LABELWISE_RECONCILE_INTERVAL_SECONDS": "2",
        "LABELWISE_LLM_RETRY_MAX_WAIT_SECONDS": "2",
        # The per-key request limit (20/s by default) would answer most of a 200-request
        # burst with 429 before it reaches the store: raised, so the burst tests the store.
        # The lock-out after wrong keys keeps its default: it answers only wrong keys (the
        # fuzzer's) with 429, never a right key from the same loopback address.
        "LABELWISE_API_REQUESTS_PER_SECOND": str(args.api_rate),
        "LABELWISE_API_BURST": str(args.api_rate),
        # --env KEY=VALUE: any other setting of the stack, e.g. to try a fix's pool size.
        **dict(pair.split("=", 1) for pair in args.env),
    }


@contextmanager
def running_stack(args: argparse.Namespace, workdir: Path) -> Iterator[Stack]:
    with own_schema(args.postgres_url) as schema, own_redis_db(args.redis_db) as redis_db:
        url_for = partial(database_url, args.postgres_url, schema)
        group = ProcessGroup()
        engine = make_engine(url_for(schema))
        logs: dict[str, LogFile] = {}
        try:
            llm = start_fake_llms(group, logs, workdir, args.slow_latency_ms)
            env = stack_env(args, database=url_for(schema), redis_url=redis_db.url, llm=llm)
            keys = prepare_store(engine, reviewers=args.claimers)
            api_env = {**env, "LABELWISE_DATABASE_URL": url_for(f"{schema}_api")}
            api = start_api(group, logs, workdir, api_env)
            worker_env = {**env, "LABELWISE_DATABASE_URL": url_for(f"{schema}_worker")}
            start_workers(group, logs, workdir, worker_env, args.workers)
            group.watch_in_background()
            time.sleep(2.0)  # the workers import and connect
            yield Stack(
                api=api,
                env=env,
                group=group,
                workdir=workdir,
                engine=engine,
                redis=redis_db.client,
                redis_db=redis_db.number,
                schema=schema,
                llm=llm,
                admin=keys.admin,
                fuzz_admin=keys.fuzz_admin,
                reviewers=keys.reviewers,
                logs=logs,
            )
        finally:
            stop_group(group)
            engine.dispose()
