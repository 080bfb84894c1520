"""The trust suite: promises the service makes, checked against a live stack, one line of figures
each. Exits 1 when a promise breaks (0 when all hold).

    .venv/bin/python benchmarks/trust.py                        # every scenario, about 2 minutes
    .venv/bin/python benchmarks/trust.py --only spend,claims    # some of them
    .venv/bin/python benchmarks/trust.py --items 1000 --kills 10 --fuzz-examples 25

It starts its own stack as separate processes on free loopback ports: three fake LLM servers (fast;
hostile, answering 20% of requests outside the schema and 5% truncated; slow, 3 s a request), the
API and two workers (a killed worker is restarted, as `labelwise up` does), on PostgreSQL in a
schema of its own (dropped at the end), with a Redis database of its own (flushed at the end) and
a queue name of its own. Short delivery leases (10 s) and a reconciler pass every 2 s keep the
recovery scenarios inside a few minutes; the per-key request rate and the lock-out after wrong keys
are raised, since every request comes from one loopback address and one key (`--env KEY=VALUE`
sets any other setting of the stack, e.g. a pool size a fix proposes). Every process it starts is
stopped when it ends, however it ends; the processes' logs are kept in a directory that is printed
when a promise breaks.

Scenarios (`--only` names):
  fuzz    schemathesis over the live /openapi.json with an admin key: server errors (promise: 0)
  claims  50 reviewers claim from one review queue at once: never two live claims on one item; an
          abandoned claim is claimable again within its lease + 30 s; a late submit gets 409
  corpus  200 prompt-injection items labeled (batch and synchronous): every label is in the label
          set, no 5xx, nothing left pending, the data stored as sent
  spend   concurrent batches and synchronous calls against a spend limit: what the project spent
          never passes the limit plus one reservation (the largest single request's estimate)
  load    200 concurrent mixed requests while a worker is killed: no 5xx, none unanswered within
          10 s, every item posted labeled or in review afterwards
  chaos   a 1,000-item batch, workers killed ten times and Redis flushed once: afterwards every item
          has exactly one final label or is in review, through the API and in the database
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from trust_corpus import LABELS, document, injection_corpus

from labelwise.store.db import make_engine
from labelwise.store.keys import Role, create_key
from labelwise.supervisor import Child, ProcessGroup, free_port, wait_until_ready

SCENARIOS = ["fuzz", "claims", "corpus", "spend", "load", "chaos"]
FINAL_OR_REVIEW = {"accepted", "review", "reviewed", "failed"}
POSTGRES_URL = os.environ.get(
    "LABELWISE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TEAM = "trust"
LABEL_SPECS = [
    {"name": "positive", "description": "the customer is happy with it"},
    {"name": "negative", "description": "the customer is unhappy with it"},
    {"name": "neutral", "description": "neither, or both"},
]


def out(line: str) -> None:
    print(line, flush=True)


# --- results ------------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    figures: dict[str, Any] = field(default_factory=dict)
    broken: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    # Printed whatever the outcome: what a reader should know that breaks no promise.
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def promise(self, holds: bool, what: str) -> None:
        if not holds:
            self.broken.append(what)

    @property
    def ok(self) -> bool:
        return not self.broken

    def line(self) -> str:
        figures = " ".join(f"{k}={_fmt(v)}" for k, v in self.figures.items())
        return f"trust: {self.name:<7} {figures}  {'OK' if self.ok else 'FAIL'}"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) < 0.01 else f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


# --- logs ---------------------------------------------------------------------------------------

_RECORD_START = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d|ERROR:|WARNING:|INFO:|labelwise:)")


class LogFile:
    """A child's output, appended across restarts; read back by offset for a scenario's window."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def mark(self) -> int:
        return self.path.stat().st_size if self.path.exists() else 0

    def since(self, mark: int) -> str:
        if not self.path.exists():
            return ""
        with self.path.open("rb") as f:
            f.seek(mark)
            return f.read().decode("utf-8", "replace")

    def problems(self, mark: int) -> tuple[Counter[str], list[str]]:
        """Tracebacks by their last line, warnings by message; and the first traceback whole."""
        records: list[list[str]] = []
        for line in self.since(mark).splitlines():
            if _RECORD_START.match(line) or not records:
                records.append([line])
            else:
                records[-1].append(line)
        counts: Counter[str] = Counter()
        examples: list[str] = []
        for record in records:
            body = [line for line in record if line.strip()]
            if not body:
                continue
            head = re.sub(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ ", "", body[0]).strip()
            if any("Traceback (most recent call last)" in line for line in body):
                counts[f"{head[:60]} -> {body[-1].strip()[:240]}"] += 1
                if not examples:
                    examples.append("\n".join([head, "...", *body[-16:]]))
            elif re.search(r"warn|error|exception|exited", head, re.IGNORECASE):
                counts[head[:240]] += 1
        return counts, examples


def log_evidence(result: Result, name: str, log: LogFile, mark: int, limit: int = 6) -> None:
    counts, examples = log.problems(mark)
    for what, n in counts.most_common(limit):
        result.evidence.append(f"{name} log: {n}x {what}")
    for example in examples[:1]:
        result.evidence.append(f"{name} log, first traceback:\n" + _indent(example))


def _indent(block: str, prefix: str = "        ") -> str:
    return "\n".join(prefix + line for line in block.splitlines())


# --- the stack ----------------------------------------------------------------------------------


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

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "labelwise", *args],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def reconcile(self) -> str:
        done = self.cli("reconcile", timeout=120)
        return (done.stdout.strip().splitlines() or [done.stderr.strip()[-200:]])[-1]

    def kill_worker(self, index: int | None = None) -> int | None:
        """SIGKILL a live worker (the supervisor restarts it): the `index`th, or with None the
        one up longest (the likeliest to be mid-chunk). Its pid, or None if none was up."""
        alive = [
            c.process for c in self.workers() if c.process is not None and c.process.poll() is None
        ]
        if not alive:
            return None
        victim = min(alive, key=_started_ticks) if index is None else alive[index % len(alive)]
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
        pattern = re.compile(
            r'^labelwise_http_requests_total\{method="([^"]+)",route="([^"]+)",status="(\d+)"\}'
            r" ([0-9.e+]+)$"
        )
        for line in body.splitlines():
            match = pattern.match(line)
            if match:
                method, route, status, n = match.groups()
                counts[f"{status} {method} {route}"] += int(float(n))
        return counts


def _started_ticks(process: subprocess.Popen[bytes]) -> int:
    """When a process started, in clock ticks since boot (field 22 of /proc/PID/stat)."""
    try:
        stat = Path(f"/proc/{process.pid}/stat").read_text()
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return 0


def _logged(log: Path, argv: list[str]) -> list[str]:
    """Run `argv` with its output appended to `log` (exec: the pid stays the program's)."""
    return ["sh", "-c", 'exec "$@" >>"$0" 2>&1', str(log), *argv]


def _labelwise(*args: str) -> list[str]:
    return [sys.executable, "-m", "labelwise", *args]


def _pick_redis_db(preferred: int) -> int:
    """`preferred` if it is empty, else the first empty database from 3 to 15: FLUSHDB on it must
    touch nobody else's keys."""
    for db in [preferred, *range(3, 16)]:
        if redis.Redis(host="127.0.0.1", port=6379, db=db).dbsize() == 0:
            return db
    raise SystemExit("trust: no empty Redis database among 3-15 to flush safely")


@contextlib.contextmanager
def running_stack(args: argparse.Namespace, workdir: Path) -> Iterator[Stack]:
    schema = f"lw_trust_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin_engine = make_engine(args.postgres_url)
    with admin_engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))

    def database_url_for(application: str) -> str:
        # application_name tells the API's connections from the workers' in pg_stat_activity.
        return (
            f"{args.postgres_url}?options=-csearch_path%3D{schema}&application_name={application}"
        )

    database_url = database_url_for(schema)
    redis_db = _pick_redis_db(args.redis_db)
    redis_url = f"redis://127.0.0.1:6379/{redis_db}"
    connection_redis = redis.Redis.from_url(redis_url)
    group = ProcessGroup()
    engine = make_engine(database_url)
    logs: dict[str, LogFile] = {}
    try:
        llm: dict[str, str] = {}
        fakes = {
            "fast": ["--latency-ms", "50"],
            "hostile": ["--latency-ms", "20", "--rate-invalid", "0.2", "--rate-truncate", "0.05"],
            "slow": ["--latency-ms", str(args.slow_latency_ms)],
        }
        for name, extra in fakes.items():
            port = free_port()
            logs[f"llm-{name}"] = LogFile(workdir / f"llm-{name}.log")
            argv = _labelwise("fake-llm", "--port", str(port), *extra)
            group.add_program(f"fake-llm-{name}", _logged(logs[f"llm-{name}"].path, argv))
            llm[name] = f"http://127.0.0.1:{port}/v1"
        for url in llm.values():
            wait_until_ready(url.removesuffix("/v1") + "/healthz", group=group)
        env = {
            "LABELWISE_DATABASE_URL": database_url,
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
            "LABELWISE_API_REQUESTS_PER_SECOND": str(args.api_rate),
            "LABELWISE_API_BURST": str(args.api_rate),
            # Every client here is 127.0.0.1: the fuzzer's requests with wrong keys would lock
            # that address out for a minute (429 to everyone), and leave the handlers untested.
            "LABELWISE_AUTH_FAILURES_PER_MINUTE": "1000000",
            # --env KEY=VALUE: any other setting of the stack, e.g. to try a fix's pool size.
            **dict(pair.split("=", 1) for pair in args.env),
        }
        stack_env = {**os.environ, **env}
        migrate = subprocess.run(
            _labelwise("migrate"), env=stack_env, capture_output=True, text=True, timeout=120
        )
        if migrate.returncode != 0:
            raise RuntimeError(f"labelwise migrate failed: {migrate.stderr[-2000:]}")
        admin = _cli_key(stack_env, "trust-admin", "admin", TEAM)
        fuzz_admin = _cli_key(stack_env, "trust-fuzz", "admin", "trust-fuzz")
        with Session(engine) as session:
            reviewers = [
                create_key(session, name=f"reviewer-{n}", role=Role.REVIEWER, team=TEAM)
                for n in range(args.claimers)
            ]
        api_port = free_port()
        logs["api"] = LogFile(workdir / "api.log")
        api_env = {**env, "LABELWISE_DATABASE_URL": database_url_for(f"{schema}_api")}
        group.add_program(
            "api", _logged(logs["api"].path, _labelwise("api", "--port", str(api_port))), api_env
        )
        wait_until_ready(f"http://127.0.0.1:{api_port}/readyz", group=group, timeout=90)
        for n in range(args.workers):
            name = f"worker-{n + 1}"
            logs[name] = LogFile(workdir / f"{name}.log")
            worker_env = {**env, "LABELWISE_DATABASE_URL": database_url_for(f"{schema}_worker")}
            group.add_program(name, _logged(logs[name].path, _labelwise("worker")), worker_env)
        group.watch_in_background()
        time.sleep(2.0)  # the workers import and connect
        yield Stack(
            api=f"http://127.0.0.1:{api_port}",
            env=env,
            group=group,
            workdir=workdir,
            engine=engine,
            redis=connection_redis,
            redis_db=redis_db,
            schema=schema,
            llm=llm,
            admin=admin,
            fuzz_admin=fuzz_admin,
            reviewers=reviewers,
            logs=logs,
        )
    finally:
        _stop_group(group)
        engine.dispose()
        with contextlib.suppress(Exception):
            connection_redis.flushdb()
        with contextlib.suppress(Exception), admin_engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin_engine.dispose()


def _cli_key(env: dict[str, str], name: str, role: str, team: str) -> str:
    done = subprocess.run(
        _labelwise("keys", "create", "--name", name, "--role", role, "--team", team),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"labelwise keys create failed: {done.stderr[-2000:]}")
    return done.stdout.strip().splitlines()[-1]


def _stop_group(group: ProcessGroup) -> None:
    """Stop every child; then make sure the supervisor's watcher restarted none behind our back."""
    group.stop()
    watcher = getattr(group, "_watcher", None)
    if watcher is not None:
        watcher.join(timeout=5)
    for child in group.children:
        process = child.process
        if process is not None and process.poll() is None:
            process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(5)


# --- HTTP ---------------------------------------------------------------------------------------


def _body(payload: Any) -> bytes:
    # ensure_ascii: a lone surrogate or a NUL travels as a JSON escape, as any client may send it.
    return json.dumps(payload).encode()


class Broken(Exception):
    """A call the scenario needs to go on did not answer as it must."""


class Api:
    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=60)

    def call(
        self, method: str, path: str, key: str, payload: Any = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {"authorization": f"Bearer {key}"}
        content = None
        if payload is not None:
            headers["content-type"] = "application/json"
            content = _body(payload)
        return self.http.request(method, path, headers=headers, content=content, **kwargs)

    def must(
        self, method: str, path: str, key: str, payload: Any = None, expect: tuple[int, ...] = ()
    ) -> Any:
        response = self.call(method, path, key, payload)
        if response.status_code not in (expect or (200, 201, 202)):
            raise Broken(f"{method} {path} answered {response.status_code}: {response.text[:500]}")
        return response.json() if response.content else None

    def project(self, key: str, name: str, **spec: Any) -> int:
        body: dict[str, Any] = {
            "name": name,
            "task": {
                "type": "classification",
                "labels": LABEL_SPECS,
                "guidelines": "Label the customer review by the customer's sentiment.",
            },
            "model": {"name": "fake"},
            "routing": {"accept_threshold": 0.8},
        }
        body.update(spec)
        return int(self.must("POST", "/v1/projects", key, body, expect=(201,))["id"])

    def batch(self, key: str, project_id: int, items: list[dict[str, Any]]) -> int:
        answer = self.must("POST", f"/v1/projects/{project_id}/batches", key, {"items": items})
        return int(answer["id"])

    def items(self, key: str, batch_id: int) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        cursor = ""
        for _ in range(1000):
            after = f"&cursor={cursor}" if cursor else ""
            page = self.must("GET", f"/v1/batches/{batch_id}/items?limit=1000{after}", key)
            found.extend(page["items"])
            cursor = page.get("next_cursor") or ""
            if not cursor:
                break
        return found


@dataclass
class Outcome:
    kind: str
    status: int | None
    seconds: float
    error: str | None = None
    body: Any = None
    started: float = 0.0


async def acall(
    client: httpx.AsyncClient,
    kind: str,
    method: str,
    path: str,
    key: str,
    payload: Any = None,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
) -> Outcome:
    request_headers = {"authorization": f"Bearer {key}", **(headers or {})}
    if payload is not None:
        request_headers["content-type"] = "application/json"
        content = _body(payload)
    started = time.monotonic()
    try:
        response = await client.request(method, path, headers=request_headers, content=content)
    except httpx.TimeoutException:
        return Outcome(kind, None, time.monotonic() - started, "timeout", started=started)
    except httpx.HTTPError as exc:
        return Outcome(kind, None, time.monotonic() - started, type(exc).__name__, started=started)
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = response.text[:500]
    return Outcome(kind, response.status_code, time.monotonic() - started, None, body, started)


def async_client(stack: Stack, timeout: float, connections: int = 300) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=stack.api,
        timeout=httpx.Timeout(timeout),
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
    )


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


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def status_counts(outcomes: list[Outcome]) -> str:
    counts = Counter(str(o.status if o.status is not None else o.error) for o in outcomes)
    return ",".join(f"{k}:{v}" for k, v in sorted(counts.items()))


def failures_evidence(result: Result, outcomes: list[Outcome], limit: int = 4) -> None:
    """The first few 5xx and unanswered requests, with what they answered."""
    shown: Counter[str] = Counter()
    for o in outcomes:
        if o.status is not None and o.status < 500:
            continue
        what = f"{o.kind} {o.status or o.error}"
        shown[what] += 1
        if shown[what] <= 1 and sum(1 for v in shown.values() if v) <= limit:
            result.evidence.append(
                f"request {o.kind}: {o.status or o.error} after {o.seconds:.1f}s: "
                f"{json.dumps(o.body)[:300] if o.body is not None else ''}"
            )


# --- scenarios ----------------------------------------------------------------------------------


def scenario_fuzz(stack: Stack, args: argparse.Namespace, result: Result) -> None:
    """schemathesis over the live schema with an admin key of a team of its own."""
    binary = Path(sys.executable).with_name("schemathesis")
    if not binary.exists():
        found = shutil.which("schemathesis")
        if found is None:
            result.figures["schemathesis"] = "missing"
            result.promise(False, "schemathesis is not installed (pip install schemathesis)")
            return
        binary = Path(found)
    # Real ids for the path parameters, so generated requests reach the handlers instead of
    # answering 404: a project of the fuzzing team, a batch of it, an item waiting in review.
    api = Api(stack.api)
    project_id = api.project(
        stack.fuzz_admin, "trust-fuzz", routing={"accept_threshold": 1.0}, result_cache="off"
    )
    items = [{"external_id": f"fuzz-{i}", "data": {"text": document(i)}} for i in range(20)]
    batch_id = api.batch(stack.fuzz_admin, project_id, items)
    wait_settled(stack, api, [batch_id], timeout=60, key=stack.fuzz_admin)
    item_id = api.items(stack.fuzz_admin, batch_id)[0]["id"]
    # A key for the fuzzer to revoke and rotate: not the one it calls with.
    with Session(stack.engine) as session:
        create_key(session, name="trust-fuzz-victim", role=Role.SUBMITTER, team="trust-fuzz")
    with stack.engine.connect() as connection:
        victim_id = connection.execute(
            text("SELECT id FROM api_keys WHERE name = 'trust-fuzz-victim'")
        ).scalar_one()
    config = stack.workdir / "schemathesis.toml"
    config.write_text(
        "[cache]\nenabled = false\n\n[parameters]\n"
        f"project_id = {project_id}\nbatch_id = {batch_id}\nitem_id = {item_id}\n"
        f'key_id = {victim_id}\n"body.project_id" = {project_id}\n'
    )
    junit = stack.workdir / "schemathesis-junit.xml"
    before = stack.metrics_statuses()
    mark = stack.logs["api"].mark()
    command = [
        str(binary),
        "--config-file",
        str(config),
        "run",
        f"{stack.api}/openapi.json",
        "--checks",
        "not_a_server_error",
        "--header",
        f"Authorization: Bearer {stack.fuzz_admin}",
        "--max-examples",
        str(args.fuzz_examples),
        "--phases",
        args.fuzz_phases,
        "--seed",
        "1",
        "--workers",
        str(args.fuzz_workers),
        "--request-timeout",
        "30",
        "--continue-on-failure",
        "--no-shrink",
        "--generation-with-security-parameters",
        "false",
        "--report",
        "junit",
        "--report-junit-path",
        str(junit),
    ]
    log_path = stack.workdir / "schemathesis.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NO_COLOR": "1"},
            cwd=stack.workdir,  # whatever it writes stays out of the repository
            start_new_session=True,
        )
        try:
            code = process.wait(timeout=args.fuzz_max_time)
        except subprocess.TimeoutExpired:
            code = "timeout"
        finally:  # on a timeout, an error or a SIGTERM to us alike: never leave it running
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    answered = stack.metrics_statuses() - before
    server_errors = Counter({k: n for k, n in answered.items() if k.startswith("5")})
    by_class = Counter()
    for k, n in answered.items():
        by_class[k[0] + "xx"] += n
    operations, failures, tool_errors = _junit_failures(junit)
    result.figures.update(
        {
            "operations": operations,
            "examples_per_op": args.fuzz_examples,
            "requests": sum(answered.values()),
            "answered": ",".join(f"{k}:{v}" for k, v in sorted(by_class.items())),
            "server_errors": sum(server_errors.values()),
            "failing_ops": len(failures),
            "tool_errors": len(tool_errors),
            "schemathesis_exit": code,
        }
    )
    result.promise(
        sum(server_errors.values()) == 0 and not failures,
        "no server error under fuzzing",
    )
    others = api.call("GET", "/v1/projects", stack.admin).status_code
    result.figures["other_team_key"] = others
    result.promise(others == 200, "another team's key still works after fuzzing")
    if code == "timeout":
        result.promise(False, "schemathesis finished within its time")
    for route, n in server_errors.most_common():
        result.evidence.append(f"API answered {n}x {route}")
    for name, message in failures[:8]:
        result.evidence.append(f"schemathesis: {name}: {message}")
    if server_errors:
        log_evidence(result, "api", stack.logs["api"], mark)
    for name, message in tool_errors[:4]:
        result.notes.append(f"schemathesis's own error (not the API's): {name}: {message[:200]}")
    if not failures and not server_errors and not tool_errors and code not in (0, "timeout"):
        tail = log_path.read_text(errors="replace").strip().splitlines()[-15:]
        result.evidence.append("schemathesis output (tail):\n" + _indent("\n".join(tail)))
    result.evidence.append(f"schemathesis log: {log_path}")


_API_TROUBLE = re.compile(r"network error|timed out|timeout|connection|server error", re.I)


def _junit_failures(
    path: Path,
) -> tuple[int, list[tuple[str, str]], list[tuple[str, str]]]:
    """(operations tested, [(operation, its failure)], [(operation, the tool's own error)]).
    A check that failed, or an error talking to the API, is a failure; an error inside
    schemathesis or hypothesis (generating a case) says nothing about the API."""
    if not path.exists():
        return 0, [], []
    import xml.etree.ElementTree as ET

    root = ET.parse(path).getroot()
    cases = list(root.iter("testcase"))
    failures, tool_errors = [], []
    for case in cases:
        for kind in ("failure", "error"):
            for element in case.findall(kind):
                message = (element.get("message") or element.text or "").strip()
                lines = [line.strip() for line in message.splitlines() if line.strip()]
                entry = (case.get("name", "?"), " | ".join(lines[:6])[:400])
                if kind == "failure" or _API_TROUBLE.search(" ".join(lines[:3])):
                    failures.append(entry)
                else:
                    tool_errors.append(entry)
    return len(cases), failures, tool_errors


async def _claims_burst(
    stack: Stack, project_id: int, per_claimer: int
) -> list[tuple[int, Outcome]]:
    """Every reviewer claims at once, again and again until the queue is empty."""

    async def claimer(client: httpx.AsyncClient, n: int) -> list[tuple[int, Outcome]]:
        got = []
        for _ in range(per_claimer):
            outcome = await acall(
                client,
                "claim",
                "POST",
                "/v1/review/claim",
                stack.reviewers[n],
                {"project_id": project_id},
            )
            got.append((n, outcome))
            if outcome.status != 200:
                break
        return got

    async with async_client(stack, timeout=30) as client:
        parts = await asyncio.gather(*(claimer(client, n) for n in range(len(stack.reviewers))))
    return [pair for part in parts for pair in part]


def scenario_claims(stack: Stack, args: argparse.Namespace, result: Result) -> None:
    api = Api(stack.api)
    project_id = api.project(
        stack.admin, "trust-claims", routing={"accept_threshold": 1.0}, result_cache="off"
    )
    items = [
        {"external_id": f"claim-{i}", "data": {"text": document(i, min_chars=200, max_chars=600)}}
        for i in range(args.claim_items)
    ]
    batch_id = api.batch(stack.admin, project_id, items)
    settled, _, summaries = wait_settled(stack, api, [batch_id], timeout=60)
    in_review = summaries[batch_id]["counts"].get("review", 0)
    # 1. Everyone claims at once.
    claims = asyncio.run(_claims_burst(stack, project_id, per_claimer=4))
    taken = [(n, o) for n, o in claims if o.status == 200]
    by_item = Counter(o.body["item"]["id"] for _, o in taken)
    duplicates = sum(c - 1 for c in by_item.values() if c > 1)
    errors = [o for _, o in claims if o.status not in (200, 204)]
    # 2. An abandoned claim: give one item back, take it with a short lease and let it lapse.
    lease = 2.0  # asked first; the API may refuse a lease this short (then 10 s)
    short_lease: Any = "n/a"
    first_n, first = taken[0] if taken else (0, None)
    late_submit: Any = "n/a"
    reclaimed_after: Any = "n/a"
    undo: Any = "n/a"
    early = 0
    if first is not None:
        item_id = first.body["item"]["id"]
        api.must(
            "POST",
            f"/v1/review/{item_id}/release",
            stack.reviewers[first_n],
            {"claim_token": first.body["claim_token"]},
            expect=(204,),
        )
        asked = api.call(
            "POST",
            "/v1/review/claim",
            stack.reviewers[first_n],
            {"project_id": project_id, "lease_seconds": lease},
        )
        short_lease = asked.status_code
        if asked.status_code == 200:
            abandoned = asked.json()
        else:
            lease = 10.0
            abandoned = api.must(
                "POST",
                "/v1/review/claim",
                stack.reviewers[first_n],
                {"project_id": project_id, "lease_seconds": lease},
            )
        abandoned_at = time.monotonic()
        other = stack.reviewers[(first_n + 1) % len(stack.reviewers)]
        winner = None
        deadline = abandoned_at + lease + 35
        polls = 0
        while time.monotonic() < deadline and polls < 400:
            polls += 1
            response = api.call("POST", "/v1/review/claim", other, {"project_id": project_id})
            if response.status_code == 200:
                body = response.json()
                if body["item"]["id"] == abandoned["item"]["id"]:
                    winner = body
                    if time.monotonic() - abandoned_at < lease - 0.5:
                        early += 1  # taken while the first claim still lived
                    break
                continue  # another item given back; keep it and look again
            time.sleep(0.5)
        if winner is not None:
            reclaimed_after = round(time.monotonic() - abandoned_at, 1)
            late = api.call(
                "POST",
                f"/v1/review/{abandoned['item']['id']}",
                stack.reviewers[first_n],
                {
                    "claim_token": abandoned["claim_token"],
                    "decision": "correct",
                    "value": LABELS[0],
                },
            )
            late_submit = late.status_code
            if late.status_code != 409:
                result.evidence.append(
                    f"late submit answered {late.status_code}: {late.text[:300]}"
                )
            token = winner["claim_token"]
            decided = api.call(
                "POST",
                f"/v1/review/{winner['item']['id']}",
                other,
                {"claim_token": token, "decision": "correct", "value": LABELS[1]},
            )
            undone = api.call(
                "POST", f"/v1/review/{winner['item']['id']}/undo", other, {"claim_token": token}
            )
            again = api.call(
                "POST",
                f"/v1/review/{winner['item']['id']}",
                other,
                {"claim_token": token, "decision": "correct", "value": LABELS[2]},
            )
            undo = f"{decided.status_code}/{undone.status_code}/{again.status_code}"
            for name, response in (("submit", decided), ("undo", undone), ("resubmit", again)):
                if response.status_code != 200:
                    result.evidence.append(
                        f"{name} after re-claim answered {response.status_code}: "
                        f"{response.text[:300]}"
                    )
    result.figures.update(
        {
            "claimers": len(stack.reviewers),
            "in_review": in_review,
            "claims": len(taken),
            "statuses": status_counts([o for _, o in claims]),
            "duplicates": duplicates + early,
            "lease_2s": short_lease,
            "lease_s": lease,
            "reclaimed_after_s": reclaimed_after,
            "late_submit": late_submit,
            "submit/undo/resubmit": undo,
        }
    )
    result.promise(settled and in_review > 0, "the review queue was filled")
    result.promise(duplicates + early == 0, "never two live claims on one item")
    result.promise(len(taken) == min(in_review, len(stack.reviewers) * 4), "every item claimable")
    result.promise(not errors, "no claim answered other than 200/204")
    result.promise(
        isinstance(reclaimed_after, float) and reclaimed_after <= lease + 30,
        f"an abandoned claim is claimable again within lease ({lease:.0f}s) + 30s",
    )
    result.promise(late_submit == 409, "a submit with an expired token answers 409")
    result.promise(
        undo == "200/200/200", "submit, undo and a new submit under the claim answer 200"
    )
    failures_evidence(result, [o for _, o in claims])


def scenario_corpus(stack: Stack, args: argparse.Namespace, result: Result) -> None:
    api = Api(stack.api)
    corpus = injection_corpus(200)
    sent = {item["external_id"]: item for item in corpus}
    project_id = api.project(
        stack.admin,
        "trust-corpus",
        model={"name": "fake-hostile", "base_url": stack.llm["hostile"]},
        result_cache="off",
    )
    items = [{"external_id": i["external_id"], "data": i["data"]} for i in corpus]
    batch = api.call("POST", f"/v1/projects/{project_id}/batches", stack.admin, {"items": items})
    batch_ids: list[int] = []
    post_outcomes: list[Outcome] = []
    if batch.status_code == 202:
        batch_ids.append(batch.json()["id"])
    else:
        result.evidence.append(
            f"POST /v1/projects/{project_id}/batches (all 200 items) answered "
            f"{batch.status_code}: {batch.text[:300]}; posting them one by one"
        )
        post_outcomes = asyncio.run(_one_by_one(stack, project_id, items, "batches"))
        batch_ids += [o.body["id"] for o in post_outcomes if o.status == 202]
    # The same items, synchronously, one a call (as a product app would send them).
    sync_items = [{"data": i["data"]} for i in corpus]
    sync_outcomes = asyncio.run(_one_by_one(stack, project_id, sync_items, "label"))
    settled, _, _ = wait_settled(stack, api, batch_ids, timeout=90)
    stored = [item for batch_id in batch_ids for item in api.items(stack.admin, batch_id)]
    answered = [o.body["items"][0] for o in sync_outcomes if o.status == 200]
    allowed = set(LABELS)
    values = [
        value
        for item in [*stored, *answered]
        for value in (
            (item.get("label") or {}).get("value", None),
            (item.get("prediction") or {}).get("value", None),
        )
        if value is not None
    ]
    outside = [v for v in values if v not in allowed]
    pending = [i for i in stored if i["status"] not in FINAL_OR_REVIEW]
    sync_pending = [i for i in answered if i["status"] not in FINAL_OR_REVIEW]
    changed = [
        i["external_id"]
        for i in stored
        if json.dumps(i["data"], sort_keys=True)
        != json.dumps(sent[i["external_id"]]["data"], sort_keys=True)
    ]
    five_xx = [o for o in [*post_outcomes, *sync_outcomes] if o.status is None or o.status >= 500]
    spans = _spans_support(stack, api)
    result.figures.update(
        {
            "items": len(corpus),
            "batch_post": batch.status_code,
            "stored": len(stored),
            "sync": status_counts(sync_outcomes),
            "5xx": len(five_xx) + (1 if batch.status_code >= 500 else 0),
            "labels_checked": len(values),
            "in_label_set": f"{100.0 * (len(values) - len(outside)) / max(1, len(values)):.1f}%",
            "refused_4xx": _by_kind(post_outcomes or sync_outcomes, corpus, range(400, 500)),
            "review": sum(1 for i in stored if i["status"] == "review"),
            "pending": len(pending) + len(sync_pending),
            "data_intact": f"{len(stored) - len(changed)}/{len(stored)}",
            "spans": spans,
        }
    )
    result.promise(not outside, "every label and prediction is in the label set")
    result.promise(
        not five_xx and batch.status_code < 500, "hostile input never gets a 5xx or no answer"
    )
    result.promise(settled and not pending and not sync_pending, "every item labeled or in review")
    refused = [o for o in [*post_outcomes, *sync_outcomes] if o.status and 400 <= o.status < 500]
    unexplained = [
        o
        for o in refused
        if not (isinstance(o.body, dict) and o.body.get("error", {}).get("message"))
    ]
    result.promise(
        len(stored) + sum(1 for o in post_outcomes if o.status and 400 <= o.status < 500)
        == len(corpus)
        if post_outcomes
        else len(stored) == len(corpus),
        "every hostile item stored, or refused with a 4xx",
    )
    result.promise(not unexplained, "a refusal says why (error.message)")
    result.promise(not changed, "item data stored as sent")
    if outside:
        result.evidence.append(f"values outside the label set: {Counter(outside).most_common(5)}")
    if changed:
        result.evidence.append(f"data changed in storage: {changed[:5]}")
    kinds = Counter(
        sent_kind
        for o, sent_kind in zip(sync_outcomes, [i["kind"] for i in corpus], strict=True)
        if o.status is None or o.status >= 500
    )
    if kinds:
        result.evidence.append(f"sync 5xx by kind of item: {dict(kinds)}")
    failures_evidence(result, [*post_outcomes, *sync_outcomes])


def _by_kind(outcomes: list[Outcome], corpus: list[dict[str, Any]], statuses: range) -> str:
    """How many of the corpus' items answered a status in `statuses`, by kind of trick."""
    kinds = Counter(
        item["kind"]
        for o, item in zip(outcomes, corpus, strict=False)
        if o.status is not None and o.status in statuses
    )
    return f"{sum(kinds.values())}({','.join(f'{k}:{n}' for k, n in sorted(kinds.items()))})"


async def _one_by_one(
    stack: Stack, project_id: int, items: list[dict[str, Any]], route: str
) -> list[Outcome]:
    semaphore = asyncio.Semaphore(8)

    async def one(client: httpx.AsyncClient, item: dict[str, Any]) -> Outcome:
        async with semaphore:
            return await acall(
                client,
                f"{route}:{item.get('external_id', '')}",
                "POST",
                f"/v1/projects/{project_id}/{route}",
                stack.admin,
                {"items": [item]},
            )

    async with async_client(stack, timeout=60, connections=16) as client:
        return await asyncio.gather(*(one(client, item) for item in items))


def _spans_support(stack: Stack, api: Api) -> str:
    """Spans are checked once the task type exists; until then, say so."""
    tasks_dir = Path(__file__).resolve().parents[1] / "src" / "labelwise" / "tasks"
    response = api.call(
        "POST",
        "/v1/projects",
        stack.admin,
        {
            "name": "trust-spans-probe",
            "model": {"name": "fake"},
            "task": {"type": "spans", "labels": ["PERSON", "ORG"], "guidelines": "Mark names."},
        },
    )
    if response.status_code != 201:
        has_module = any(p.stem.startswith("span") for p in tasks_dir.glob("*.py"))
        return f"not-checked(no-spans-task:{response.status_code},module={has_module})"
    return "supported-but-unchecked"


def scenario_spend(stack: Stack, args: argparse.Namespace, result: Result) -> None:
    api = Api(stack.api)
    price = {"prompt": 150.0, "completion": 600.0}  # US dollars per million tokens
    project_id = api.project(
        stack.admin,
        "trust-spend",
        model={"name": "fake-priced", "price": price},
        result_cache="off",
    )
    counter = iter(range(1_000_000))

    def fresh(n: int) -> list[dict[str, Any]]:
        return [
            {"external_id": f"spend-{i}", "data": {"text": document(i, seed=23)}}
            for i in (next(counter) for _ in range(n))
        ]

    batch_size, sync_size, per_round = 20, 5, args.spend_concurrency
    est_batch = api.must(
        "POST", f"/v1/projects/{project_id}/estimate", stack.admin, {"items": fresh(batch_size)}
    )["cost_usd"]
    est_sync = api.must(
        "POST", f"/v1/projects/{project_id}/estimate", stack.admin, {"items": fresh(sync_size)}
    )["cost_usd"]
    limit = round(est_batch * args.spend_batches, 6)
    api.must("PATCH", f"/v1/projects/{project_id}", stack.admin, {"spend_limit_usd": limit})

    async def round_(client: httpx.AsyncClient) -> list[Outcome]:
        calls = []
        for _ in range(per_round):
            calls.append(
                acall(
                    client,
                    "batch",
                    "POST",
                    f"/v1/projects/{project_id}/batches",
                    stack.admin,
                    {"items": fresh(batch_size)},
                )
            )
            calls.append(
                acall(
                    client,
                    "sync",
                    "POST",
                    f"/v1/projects/{project_id}/label",
                    stack.admin,
                    {"items": fresh(sync_size)},
                )
            )
        return list(await asyncio.gather(*calls))

    async def hammer() -> list[Outcome]:
        outcomes: list[Outcome] = []
        async with async_client(stack, timeout=60, connections=32) as client:
            for _ in range(args.spend_rounds):
                this_round = await round_(client)
                outcomes += this_round
                if all(o.status == 402 for o in this_round):
                    break
        return outcomes

    outcomes = asyncio.run(hammer())
    batch_ids = [o.body["id"] for o in outcomes if o.kind == "batch" and o.status == 202]
    sync_ids = [o.body["batch_id"] for o in outcomes if o.kind == "sync" and o.status == 200]
    settled, _, summaries = wait_settled(stack, api, batch_ids + sync_ids, timeout=90)
    project = api.must("GET", f"/v1/projects/{project_id}", stack.admin)
    usage_sum = sum(s["usage"]["cost_usd"] for s in summaries.values())
    spent_api = project.get("spent_usd")
    spent = float(spent_api) if spent_api is not None else usage_sum
    with stack.engine.connect() as connection:
        spent_db = float(
            connection.execute(
                text(
                    "SELECT COALESCE(SUM(p.cost_usd), 0) FROM predictions p "
                    "JOIN items i ON i.id = p.item_id WHERE i.project_id = :p"
                ),
                {"p": project_id},
            ).scalar_one()
        )
    largest = max(est_batch, est_sync)
    refused = [o for o in outcomes if o.status == 402]
    wrong_code = [
        o
        for o in refused
        if not (
            isinstance(o.body, dict)
            and o.body.get("error", {}).get("code") == "spend_limit_exceeded"
        )
    ]
    by_kind = {
        kind: f"{sum(1 for o in outcomes if o.kind == kind and o.status in (200, 202))}/"
        f"{sum(1 for o in outcomes if o.kind == kind)}"
        for kind in ("batch", "sync")
    }
    result.figures.update(
        {
            "limit": limit,
            "spent": round(spent, 6),
            "spent_source": "project.spent_usd" if spent_api is not None else "sum(batch.usage)",
            "spent_db": round(spent_db, 6),
            "largest_reservation": round(largest, 6),
            "over_by": round(max(spent, spent_db) - limit, 6),
            "batches_accepted": by_kind["batch"],
            "syncs_accepted": by_kind["sync"],
            "statuses": status_counts(outcomes),
        }
    )
    bound = limit + largest
    result.promise(
        spent <= bound + 1e-9 and spent_db <= bound + 1e-9,
        f"spent <= limit + one reservation ({bound:.6f})",
    )
    result.promise(bool(refused), "the limit refuses with 402 once reached")
    result.promise(not wrong_code, "a refusal says spend_limit_exceeded")
    result.promise(all(o.status in (200, 202, 402) for o in outcomes), "no answer but 200/202/402")
    result.promise(settled, "every accepted item labeled within 90 s")
    accepted_sync = sum(1 for o in outcomes if o.kind == "sync" and o.status == 200)
    if accepted_sync and spent > bound:
        sync_cost = sum(summaries[i]["usage"]["cost_usd"] for i in sync_ids if i in summaries)
        batch_cost = sum(summaries[i]["usage"]["cost_usd"] for i in batch_ids if i in summaries)
        result.evidence.append(
            f"spent by synchronous calls ${sync_cost:.6f} ({accepted_sync} calls accepted, "
            f"none refused: {not any(o.kind == 'sync' and o.status == 402 for o in outcomes)}); "
            f"by batches ${batch_cost:.6f} ({len(batch_ids)} accepted of "
            f"{sum(1 for o in outcomes if o.kind == 'batch')}, limit ${limit:.6f} = "
            f"{args.spend_batches} batches of {batch_size} at the estimate ${est_batch:.6f})"
        )
    failures_evidence(result, outcomes)


def scenario_load(stack: Stack, args: argparse.Namespace, result: Result) -> None:
    api = Api(stack.api)
    project_id = api.project(
        stack.admin, "trust-load", routing={"accept_threshold": 0.95}, result_cache="off"
    )
    seed_items = [
        {"external_id": f"load-seed-{i}", "data": {"text": document(i, seed=31, max_chars=800)}}
        for i in range(60)
    ]
    seed_batch = api.batch(stack.admin, project_id, seed_items)
    wait_settled(stack, api, [seed_batch], timeout=60)
    rng = random.Random(5)
    kinds = ["claim", "sync", "batch", "get_batch", "get_items"] * (args.requests // 5)
    rng.shuffle(kinds)
    serial = iter(range(1_000_000))

    def docs(n: int) -> list[dict[str, Any]]:
        return [
            {"external_id": f"load-{i}", "data": {"text": document(i, seed=37, max_chars=1200)}}
            for i in (next(serial) for _ in range(n))
        ]

    def request(client: httpx.AsyncClient, kind: str, n: int) -> Any:
        if kind == "claim":
            return acall(
                client,
                kind,
                "POST",
                "/v1/review/claim",
                stack.reviewers[n % min(10, len(stack.reviewers))],
                {"project_id": project_id},
            )
        if kind == "sync":
            return acall(
                client,
                kind,
                "POST",
                f"/v1/projects/{project_id}/label",
                stack.admin,
                {"items": docs(2)},
            )
        if kind == "batch":
            return acall(
                client,
                kind,
                "POST",
                f"/v1/projects/{project_id}/batches",
                stack.admin,
                {"items": docs(25)},
            )
        if kind == "get_batch":
            return acall(client, kind, "GET", f"/v1/batches/{seed_batch}", stack.admin)
        return acall(client, kind, "GET", f"/v1/batches/{seed_batch}/items?limit=100", stack.admin)

    killed: dict[str, Any] = {}
    before = stack.metrics_5xx()
    mark = stack.logs["api"].mark()

    async def burst() -> list[Outcome]:
        async with async_client(stack, timeout=10, connections=400) as client:
            started = time.monotonic()
            tasks = [asyncio.ensure_future(request(client, k, n)) for n, k in enumerate(kinds)]

            async def killer() -> None:
                for _ in range(100):  # partway: once a third have answered, or after 2 s
                    if sum(t.done() for t in tasks) >= len(tasks) // 3 or (
                        time.monotonic() - started > 2
                    ):
                        break
                    await asyncio.sleep(0.05)
                killed["pid"] = stack.kill_worker(0)
                killed["at_s"] = round(time.monotonic() - started, 2)
                killed["answered"] = sum(t.done() for t in tasks)

            await asyncio.gather(killer(), *tasks)
            return [t.result() for t in tasks]

    peak: dict[str, Any] = {"connections": 0, "idle_in_transaction": 0, "queries": Counter()}
    sampling = threading.Event()

    def sample() -> None:
        for _ in range(400):  # every 0.1 s while the burst lasts, 40 s at most
            if sampling.wait(0.1):
                return
            with contextlib.suppress(Exception):
                rows = stack.api_connections()
                waiting = [q for state, q in rows if state == "idle in transaction"]
                peak["connections"] = max(peak["connections"], len(rows))
                if len(waiting) > peak["idle_in_transaction"]:
                    peak["idle_in_transaction"] = len(waiting)
                    peak["queries"] = Counter(waiting)

    sampler = threading.Thread(target=sample, name="trust-pg-sampler", daemon=True)
    sampler.start()
    try:
        outcomes = asyncio.run(burst())
    finally:
        sampling.set()
        sampler.join(timeout=10)
    server = stack.metrics_5xx() - before
    five_xx = [o for o in outcomes if o.status is not None and o.status >= 500]
    unanswered = [o for o in outcomes if o.status is None]
    batch_ids = [o.body["id"] for o in outcomes if o.kind == "batch" and o.status == 202]
    sync_ids = [o.body["batch_id"] for o in outcomes if o.kind == "sync" and o.status == 200]
    settled, settle_s, _ = wait_settled(stack, api, batch_ids + sync_ids, timeout=60)
    # Items of calls that failed or never answered are not in any batch the client knows of:
    # the database says whether they too were labeled (the reconciler's job), within 60 s more.
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
        if all(s in FINAL_OR_REVIEW for s in statuses) or time.monotonic() - begun > 60:
            break
        time.sleep(0.5)
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
            "api_db_conns_peak": peak["connections"],
            "idle_in_tx_peak": peak["idle_in_transaction"],
            "settled_s": round(settle_s, 1),
            "items": sum(statuses.values()),
            "lost": lost,
        }
    )
    result.promise(not five_xx, "no 5xx")
    result.promise(not unanswered, "every request answered within 10 s")
    result.promise(lost == 0 and settled, "every item posted labeled or in review")
    result.promise(killed.get("pid") is not None, "a worker was killed mid-burst")
    by_kind = Counter(f"{o.kind}:{o.status or o.error}" for o in [*five_xx, *unanswered])
    if by_kind:
        result.evidence.append(f"failed requests by kind: {dict(by_kind)}")
    for route, n in server.most_common(6):
        result.evidence.append(f"API /metrics: {n}x {route}")
    failures_evidence(result, outcomes)
    if five_xx or unanswered:
        log_evidence(result, "api", stack.logs["api"], mark)
        result.evidence.append(
            f"API connections 'idle in transaction' at the peak ({peak['idle_in_transaction']} of "
            f"{peak['connections']}), by last statement: "
            + "; ".join(f"{n}x {q}..." for q, n in peak["queries"].most_common(4))
        )


def scenario_chaos(stack: Stack, args: argparse.Namespace, result: Result) -> None:
    api = Api(stack.api)
    project_id = api.project(
        stack.admin,
        "trust-chaos",
        model={"name": "fake-slow", "base_url": stack.llm["slow"]},
        result_cache="off",
    )
    items = [
        {"external_id": f"chaos-{i}", "data": {"text": document(i, seed=41)}}
        for i in range(args.items)
    ]
    marks = {name: log.mark() for name, log in stack.logs.items()}
    ndjson = "\n".join(json.dumps(i) for i in items).encode()
    response = api.http.post(
        f"/v1/projects/{project_id}/batches",
        content=ndjson,
        headers={"authorization": f"Bearer {stack.admin}", "content-type": "application/x-ndjson"},
    )
    if response.status_code != 202:
        raise Broken(
            f"posting {args.items} items answered {response.status_code}: {response.text[:300]}"
        )
    batch_id = response.json()["id"]
    started = time.monotonic()
    kills, flushed, skipped = 0, 0, 0
    pending_at_kill: list[int] = []
    last = args.items
    for k in range(args.kills):
        # Each kill lands mid-work: after the interval, and once labeling has moved on since the
        # last kill (a restarted worker is back at work), or after at most 10 s.
        time.sleep(args.kill_interval)
        waited_until = time.monotonic() + 10
        pending = last
        for _ in range(100):
            pending = api.must("GET", f"/v1/batches/{batch_id}", stack.admin)["counts"]["pending"]
            if pending < last or pending == 0 or time.monotonic() > waited_until:
                break
            time.sleep(0.1)
        pending_at_kill.append(pending)
        last = pending
        if stack.kill_worker() is not None:
            kills += 1
        else:
            skipped += 1
        if k == args.kills // 2 - 1:
            stack.redis.flushdb()  # the deployment's own Redis database only
            flushed += 1
    chaos_s = time.monotonic() - started
    settled, settle_s, summaries = wait_settled(stack, api, [batch_id], timeout=args.settle_timeout)
    if not settled:
        result.evidence.append(f"after the wait, labelwise reconcile: {stack.reconcile()}")
        settled, extra_s, summaries = wait_settled(stack, api, [batch_id], timeout=15)
        settle_s += extra_s
    counts = summaries[batch_id]["counts"]
    export = api.http.get(
        f"/v1/batches/{batch_id}/export?format=jsonl",
        headers={"authorization": f"Bearer {stack.admin}"},
        timeout=120,
    )
    lines = [json.loads(line) for line in export.text.splitlines() if line.strip()]
    exported_ids = [line.get("id", line.get("external_id")) for line in lines]
    export_bad = [
        line
        for line in lines
        if line.get("status") not in FINAL_OR_REVIEW
        or (line.get("status") in ("accepted", "reviewed") and _label_of(line) is None)
    ]
    with stack.engine.connect() as connection:
        statuses = dict(
            connection.execute(
                text("SELECT status, COUNT(*) FROM items WHERE batch_id = :b GROUP BY status"),
                {"b": batch_id},
            ).all()
        )
        duplicate_predictions = connection.execute(
            text(
                "SELECT COUNT(*) FROM (SELECT p.item_id, p.version FROM predictions p "
                "JOIN items i ON i.id = p.item_id WHERE i.batch_id = :b "
                "GROUP BY p.item_id, p.version HAVING COUNT(*) > 1) d"
            ),
            {"b": batch_id},
        ).scalar_one()
        label_mismatch = connection.execute(
            text(
                "SELECT COUNT(*) FROM items WHERE batch_id = :b AND ("
                "(status IN ('accepted', 'reviewed') AND label_value IS NULL) OR "
                "(status IN ('review', 'pending') AND label_source IS NOT NULL))"
            ),
            {"b": batch_id},
        ).scalar_one()
        redelivered = connection.execute(
            text("SELECT COUNT(*) FROM items WHERE batch_id = :b AND deliveries > 1"),
            {"b": batch_id},
        ).scalar_one()
        reasons = dict(
            connection.execute(
                text(
                    "SELECT COALESCE(reason, '-'), COUNT(*) FROM items "
                    "WHERE batch_id = :b AND status = 'review' GROUP BY reason"
                ),
                {"b": batch_id},
            ).all()
        )
    db_total = sum(statuses.values())
    bad_status = sum(n for s, n in statuses.items() if s not in FINAL_OR_REVIEW)
    result.figures.update(
        {
            "items": args.items,
            "kills": kills,
            "flushes": flushed,
            "chaos_s": round(chaos_s, 1),
            "settled_s": round(settle_s, 1),
            "accepted": statuses.get("accepted", 0),
            "review": statuses.get("review", 0),
            "pending": counts.get("pending", 0),
            "bad_status": bad_status,
            "dup_predictions": duplicate_predictions,
            "label_mismatch": label_mismatch,
            "export_lines": len(lines),
            "export_unique": len(set(exported_ids)),
            "db_total": db_total,
            "redelivered_items": redelivered,
        }
    )
    result.figures["review_reasons"] = ",".join(f"{k}:{n}" for k, n in sorted(reasons.items()))
    result.figures["pending_at_kills"] = "/".join(str(n) for n in pending_at_kill)
    result.promise(kills == args.kills, f"{args.kills} workers killed")
    result.promise(settled and bad_status == 0, "every item final or in review (database)")
    result.promise(db_total == args.items, f"the database holds {args.items} items")
    result.promise(duplicate_predictions == 0, "no item with two predictions of one version")
    result.promise(label_mismatch == 0, "a final label exactly where the status says one")
    result.promise(
        export.status_code == 200
        and len(lines) == args.items
        and len(set(exported_ids)) == args.items
        and not export_bad,
        "the export lists every item once, final or in review",
    )
    if not result.ok:
        for name in ("api", *[w.name for w in stack.workers()]):
            if name in stack.logs:
                log_evidence(result, name, stack.logs[name], marks.get(name, 0), limit=4)


def _label_of(line: dict[str, Any]) -> Any:
    label = line.get("label")
    if isinstance(label, dict):
        return label.get("value")
    return label


SCENARIO_FUNCTIONS: dict[str, Callable[[Stack, argparse.Namespace, Result], None]] = {
    "fuzz": scenario_fuzz,
    "claims": scenario_claims,
    "corpus": scenario_corpus,
    "spend": scenario_spend,
    "load": scenario_load,
    "chaos": scenario_chaos,
}


# --- main ---------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated scenarios")
    parser.add_argument("--items", type=int, default=1000, help="chaos: items in the batch")
    parser.add_argument("--kills", type=int, default=10, help="chaos: workers killed")
    parser.add_argument("--kill-interval", type=float, default=1.5, help="chaos: seconds apart")
    parser.add_argument("--settle-timeout", type=float, default=120, help="chaos: wait bound")
    parser.add_argument("--slow-latency-ms", type=float, default=3000, help="chaos LLM latency")
    parser.add_argument("--requests", type=int, default=200, help="load: concurrent requests")
    parser.add_argument("--claimers", type=int, default=50, help="claims: reviewers at once")
    parser.add_argument("--claim-items", type=int, default=80, help="claims: items in review")
    parser.add_argument("--spend-batches", type=float, default=6, help="spend: limit in batches")
    parser.add_argument(
        "--spend-concurrency", type=int, default=10, help="spend: batches and calls at once, each"
    )
    parser.add_argument("--spend-rounds", type=int, default=8, help="spend: rounds at most")
    parser.add_argument("--fuzz-examples", type=int, default=25, help="fuzz: per operation")
    parser.add_argument("--fuzz-max-time", type=int, default=150, help="fuzz: stop it after")
    parser.add_argument(
        "--fuzz-phases", default="examples,coverage,fuzzing", help="fuzz: schemathesis phases"
    )
    parser.add_argument("--fuzz-workers", type=int, default=2, help="fuzz: schemathesis workers")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--api-rate", type=int, default=10000, help="the stack's requests per second per key"
    )
    parser.add_argument("--redis-db", type=int, default=3, help="a Redis database to flush")
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    parser.add_argument(
        "--env", action="append", default=[], metavar="KEY=VALUE", help="a setting of the stack"
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep the logs even if all OK")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SCENARIOS]
    if unknown:
        raise SystemExit(f"trust: unknown scenario(s) {unknown}; choose from {SCENARIOS}")
    # A SIGTERM (a cancelled CI job) unwinds like an error: every process is still stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    results: list[Result] = []
    workdir = Path(tempfile.mkdtemp(prefix="labelwise-trust-"))
    stack_error: str | None = None
    try:
        with running_stack(args, workdir) as stack:
            out(
                f"trust: stack  api={stack.api} db=postgresql(schema of its own) "
                f"redis_db={stack.redis_db} workers={args.workers} "
                f"up_s={time.monotonic() - started:.1f}"
            )
            for name in [s for s in SCENARIOS if s in chosen]:
                results.append(run_scenario(stack, args, name))
    except Exception as exc:  # the stack did not start, or did not stop: nothing can be trusted
        stack_error = f"{type(exc).__name__}: {str(exc)[:1500]}"
    except (KeyboardInterrupt, SystemExit) as exc:  # SIGINT or SIGTERM: stopped and cleaned up
        stack_error = f"interrupted ({type(exc).__name__}); every process stopped"
    finally:
        failed = [r.name for r in results if not r.ok]
        elapsed = time.monotonic() - started
    if stack_error is not None:
        out(f"trust: stack  FAIL  {stack_error}")
        for log in sorted(workdir.glob("*.log")) if "interrupted" not in stack_error else []:
            tail = log.read_text(errors="replace").strip().splitlines()[-12:]
            if tail:
                out(_indent("\n".join(tail), f"trust:   | {log.name}: "))
    incomplete = len(results) < len(chosen)
    if failed or incomplete or args.keep_logs:
        out(f"trust: logs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    ok = len(results) - len(failed)
    out(
        f"trust: {len(results)} scenarios, {ok} OK, {len(failed)} FAIL"
        f"{' (' + ', '.join(failed) + ')' if failed else ''}"
        f"{f', {len(chosen) - len(results)} not run' if incomplete else ''} in {elapsed:.0f}s"
    )
    return 1 if failed or incomplete else 0


def run_scenario(stack: Stack, args: argparse.Namespace, name: str) -> Result:
    result = Result(name)
    begun = time.monotonic()
    api_mark = stack.logs["api"].mark()
    try:
        SCENARIO_FUNCTIONS[name](stack, args, result)
    except Exception as exc:  # the scenario could not go on: that breaks it
        result.promise(False, f"the scenario ran to its end ({type(exc).__name__})")
        result.evidence.append(f"{type(exc).__name__}: {str(exc)[:1500]}")
        log_evidence(result, "api", stack.logs["api"], api_mark)
    result.seconds = time.monotonic() - begun
    result.figures["s"] = round(result.seconds, 1)
    restarts = {c.name: c.restarts for c in stack.group.children if c.restarts}
    if any(not n.startswith("worker") for n in restarts):
        result.promise(False, f"no process but the killed workers restarted: {restarts}")
    out(result.line())
    for note in result.notes:
        out(f"trust:   note: {note}")
    for broken in result.broken:
        out(f"trust:   broken: {broken}")
    if not result.ok:
        for line in result.evidence:
            out(_indent(line, "trust:   | "))
    return result


if __name__ == "__main__":
    sys.exit(main())
