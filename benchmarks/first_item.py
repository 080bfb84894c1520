"""How soon `labelwise up` labels: from starting it, and from the first POST to the first label.

    .venv/bin/python benchmarks/first_item.py                  # a first start, then 3 warm ones
    .venv/bin/python benchmarks/first_item.py --warm-starts 5 --items 200

Each start runs `labelwise up --workers N --fake-llm` (the API, N workers and the fake LLM in one
process group, as a user starts it) on a store of its own. As soon as `/readyz` answers, a project
(five described labels, a page of guidelines) and a batch of news articles of 2-3 KB are posted;
the batch is read every few milliseconds until an item is labeled, then until all are, and the
group is stopped with SIGTERM. The first start is reported apart as the cold one: it pays for
whatever the machine has not cached yet (files, compiled modules); the warm starts that follow
(the figure to hold against a target) find them cached. Times, in seconds:

- `ready`: from the start of `labelwise up` to `/readyz` answering;
- `workers_listening`: from the start to all N workers waiting on the queue;
- `first_item_after_first_post`: from sending the project's POST to the first item labeled;
- `first_item_after_batch_post`: from sending the batch's POST to the first item labeled;
- `all_items_after_batch_post`: from sending the batch's POST to the batch completed;
- `first_item_after_start`: from the start of `labelwise up` to the first item labeled.

Also given: the CPU the start took (`stack_cpu_seconds`: `labelwise up` and its children) and
the cores anything else used meanwhile, since a start on a busy machine takes longer.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import redis
from news_items import news_items, news_project
from rq import Queue, Worker
from stack import BENCH_REDIS_URL, machine_cpu_seconds, remove_queue_keys

from labelwise.cli.main import new_key
from labelwise.local.supervisor import free_port
from labelwise.settings import Settings
from labelwise.store.keys import Role

# Under the API's request limit per key (50/s), which a faster poll would run into.
POLL_SECONDS = 0.025


class ListeningWatch(threading.Thread):
    """Notes the moment `count` workers first wait on the queue, from a thread of its own so
    the moment is caught whatever the main thread is doing."""

    def __init__(self, redis_url: str, queue_name: str, count: int) -> None:
        super().__init__(daemon=True)
        self.connection = redis.Redis.from_url(redis_url)
        self.queue = Queue(queue_name, connection=self.connection)
        self.count = count
        self.moment: float | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.005):
            if Worker.count(connection=self.connection, queue=self.queue) >= self.count:
                self.moment = time.perf_counter()
                return


def start_env(workdir: Path) -> dict[str, str]:
    """A store and queue of this start's own; the fake LLM is the one `up --fake-llm` starts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LABELWISE_"))}
    return env | {
        "LABELWISE_DATABASE_URL": f"sqlite:///{workdir / 'labelwise.db'}",
        "LABELWISE_QUEUE_NAME": f"first-item-{uuid.uuid4().hex[:8]}",
        "LABELWISE_REDIS_URL": os.environ.get("LABELWISE_BENCH_REDIS_URL", BENCH_REDIS_URL),
        "LABELWISE_WORKER_METRICS_PORT": "0",
    }


def one_start(args: argparse.Namespace, items: list[dict[str, Any]]) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="labelwise-first-item-"))
    env = start_env(workdir)
    settings = Settings(
        database_url=env["LABELWISE_DATABASE_URL"], redis_url=env["LABELWISE_REDIS_URL"]
    )
    # The key is made (and the store created) before the clock starts, as an operator does once.
    key = new_key(settings, name="first-item", role=Role.ADMIN, team="bench")
    port = free_port()
    argv = [sys.executable, "-m", "labelwise", "up", "--port", str(port)]
    argv += ["--workers", str(args.workers), "--fake-llm"]
    watch = ListeningWatch(env["LABELWISE_REDIS_URL"], env["LABELWISE_QUEUE_NAME"], args.workers)
    watch.start()
    machine_before = machine_cpu_seconds()
    started = time.perf_counter()
    up = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        api = httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"authorization": f"Bearer {key}"},
            timeout=30,
        )
        ready = _wait_ready(api, up) - started
        times = {"ready": ready} | _label_first_batch(api, items, started)
        watch.join(timeout=60)
        times["workers_listening"] = watch.moment - started if watch.moment else float("nan")
        # What the start cost `labelwise up` and its children, and what else ran meanwhile.
        elapsed, own = time.perf_counter() - started, session_cpu_seconds(up.pid)
        times["stack_cpu_seconds"] = own
        times["cpu_cores_used_by_others"] = (machine_cpu_seconds() - machine_before - own) / elapsed
        return {name: round(seconds, 2) for name, seconds in times.items()}
    finally:
        watch.stop.set()
        up.send_signal(signal.SIGTERM)
        try:
            up.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait()
        remove_queue_keys(env["LABELWISE_REDIS_URL"], env["LABELWISE_QUEUE_NAME"])


def _wait_ready(api: httpx.Client, up: subprocess.Popen[bytes]) -> float:
    """The moment `/readyz` first answers 200."""
    deadline = time.perf_counter() + 120
    while time.perf_counter() < deadline:
        if up.poll() is not None:
            raise RuntimeError(f"labelwise up exited with {up.returncode}")
        try:
            if api.get("/readyz", timeout=1).status_code == 200:
                return time.perf_counter()
        except httpx.HTTPError:
            pass
        time.sleep(POLL_SECONDS)
    raise RuntimeError("labelwise up did not become ready within 120s")


def session_cpu_seconds(session_id: int) -> float:
    """CPU time used so far by the live processes of a session (`labelwise up`, its children)."""
    used = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[3]) == session_id:
            used += int(fields[11]) + int(fields[12])
    return used / os.sysconf("SC_CLK_TCK")


def _label_first_batch(
    api: httpx.Client, items: list[dict[str, Any]], started: float
) -> dict[str, float]:
    """Post a project and a batch at once; how long until the first item is labeled (from the
    posts, and from the start of `labelwise up`), and the last."""
    first_post = time.perf_counter()
    project = api.post("/v1/projects", json=news_project()).raise_for_status().json()
    ndjson = "".join(json.dumps(item) + "\n" for item in items)
    batch_post = time.perf_counter()
    batch = api.post(
        f"/v1/projects/{project['id']}/batches",
        content=ndjson,
        headers={"content-type": "application/x-ndjson"},
    )
    batch_id = batch.raise_for_status().json()["id"]
    seconds: dict[str, float] = {}
    deadline = time.perf_counter() + 300
    while time.perf_counter() < deadline:
        summary = api.get(f"/v1/batches/{batch_id}").raise_for_status().json()
        now, done = time.perf_counter(), summary["counts"]["total"] - summary["counts"]["pending"]
        if done and "first_item_after_first_post" not in seconds:
            seconds["first_item_after_first_post"] = now - first_post
            seconds["first_item_after_batch_post"] = now - batch_post
            seconds["first_item_after_start"] = now - started
        if summary["status"] == "completed":
            seconds["all_items_after_batch_post"] = now - batch_post
            return seconds
        time.sleep(POLL_SECONDS)
    raise RuntimeError(f"batch {batch_id} did not complete within 300s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--warm-starts", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--items", type=int, default=100, help="articles in the first batch")
    args = parser.parse_args()
    items = news_items(args.items, seed=11)
    first = one_start(args, items)
    warm = [one_start(args, items) for _ in range(args.warm_starts)]
    report: dict[str, Any] = {"workers": args.workers, "items": args.items, "first_start": first}
    report["warm_starts"] = warm
    if warm:
        report["warm_median"] = {
            name: round(statistics.median(run[name] for run in warm), 2) for name in warm[0]
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
