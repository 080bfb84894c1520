"""Start the fake LLM server, the API and workers as separate processes, for the benchmarks.

Besides the URLs and a key, a `Stack` tells what each process cost: its peak memory and the CPU
time it used (`cpu_seconds`, read before and after a measured stretch), and `profiled` samples
chosen processes with py-spy while a stretch runs, so a figure comes with where its time went.
The stack's Redis keys live in database 9 (`LABELWISE_BENCH_REDIS_URL` names another) under a
queue name of the run's own, and are removed when it stops.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import redis
from rq import Queue, Worker

from labelwise.local.model import LocalModel
from labelwise.local.stack import start_fake_llm, start_local_server
from labelwise.local.supervisor import ProcessGroup, free_port, wait_until_ready

# Benchmarks keep their Redis keys away from a deployment's database (0) and the tests' (1).
BENCH_REDIS_URL = "redis://127.0.0.1:6379/9"
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Stack:
    api_url: str
    llm_url: str
    key: str
    group: ProcessGroup

    def llm_stats(self) -> dict[str, int]:
        """The LLM server's counters (the fake's `/stats`); empty for a server without them."""
        try:
            response = httpx.get(self.llm_url.removesuffix("/v1") + "/stats", timeout=5)
            return response.json() if response.status_code == 200 else {}
        except (httpx.HTTPError, ValueError):
            return {}

    def pids(self) -> dict[str, int]:
        """Each running process's id, by name (`api`, `worker-1`, `fake-llm`, ...)."""
        return {
            child.name: child.process.pid
            for child in self.group.children
            if child.process is not None and child.process.poll() is None
        }

    def peak_rss_mb(self) -> dict[str, float]:
        """Each process's peak resident memory (VmHWM), as the kernel counted it."""
        peaks = {}
        for name, pid in self.pids().items():
            status = Path(f"/proc/{pid}/status")
            for line in status.read_text().splitlines() if status.exists() else []:
                if line.startswith("VmHWM:"):
                    peaks[name] = round(int(line.split()[1]) / 1024, 1)
        return peaks

    def cpu_seconds(self) -> dict[str, float]:
        """Each process's CPU time so far (user and system, its threads included); the
        difference over a stretch is what the stretch cost it."""
        used = {}
        for name, pid in self.pids().items():
            stat = Path(f"/proc/{pid}/stat")
            if stat.exists():
                # Fields after the command name (which may hold spaces): utime is 14th, stime 15th.
                fields = stat.read_text().rsplit(")", 1)[1].split()
                used[name] = (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
        return used


def machine_cpu_seconds() -> float:
    """CPU time every process on the machine has used since boot (all cores): over a stretch,
    minus what the stack's processes used, what others took from the same cores."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / _CLOCK_TICKS


def cpu_shares(before: dict[str, float], after: dict[str, float], seconds: float) -> dict:
    """CPU used by each process over `seconds`, as a share of one core (1.0 = a whole core)."""
    return {
        name: round((after[name] - before.get(name, 0.0)) / seconds, 2)
        for name in after
        if seconds > 0
    }


@contextmanager
def profiled(
    stack: Stack, names: list[str], out_dir: Path, *, rate: int = 100
) -> Iterator[dict[str, Path]]:
    """Sample the named processes with py-spy (`pip install py-spy` into the venv) for the block;
    yields where each one's collapsed stacks are written (`top_functions` reads them)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    pids = stack.pids()
    spies: list[subprocess.Popen[bytes]] = []
    outputs = {name: out_dir / f"{name}.collapsed" for name in names if name in pids}
    spy = Path(sys.executable).parent / "py-spy"
    for name, path in outputs.items():
        argv = [str(spy), "record", "--pid", str(pids[name]), "--rate"]
        argv += [str(rate), "--format", "raw", "--output", str(path), "--nonblocking"]
        argv += ["--function"]  # a function's samples under one name, whatever its line
        spies.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    time.sleep(0.5)  # py-spy attaches before the measured stretch starts
    try:
        yield outputs
    finally:
        for process in spies:
            process.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        for process in spies:
            process.wait(timeout=60)


# Frames a thread sits in while it waits (for the event loop's next event, a lock, a socket):
# py-spy counts a waiting thread as busy when the OS has it runnable, as on a crowded machine.
WAITING_FRAMES = (
    "EpollSelector.select",
    "Runner.run (asyncio",  # uvloop's loop waits in C, under this frame
    "Condition.wait",
    "Event.wait",
    "_worker (concurrent/futures/thread.py",
    "WorkerThread.run (anyio",
    "Thread._bootstrap_inner",
    "select (",
)


def top_functions(path: Path, limit: int = 15, rate: int = 100) -> dict[str, object]:
    """Where a process spent its sampled CPU: the functions most often on top of the stack
    (`self`) and anywhere on it (`total`), the same by package, and by the deepest labelwise
    function on the stack (`by_labelwise_caller`: whose request the work was), each as a share
    of the samples that were not waiting (`WAITING_FRAMES`). `busy_cpu_seconds` is those
    samples over the rate; compare it with the process's CPU time (`Stack.cpu_seconds`): on a
    crowded machine py-spy also counts threads that are ready to run but wait for a core."""
    names = ("self", "total", "pkg", "pkg_total", "own_code")
    counters: dict[str, Counter[str]] = {name: Counter() for name in names}
    samples = waiting = 0
    for line in path.read_text().splitlines() if path.exists() else []:
        stack_text, _, count_text = line.rpartition(" ")
        frames = [
            f for f in stack_text.split(";") if f and not f.startswith(("thread ", "process "))
        ]
        if not count_text.isdigit() or not frames:
            continue
        count = int(count_text)
        samples += count
        if frames[-1].startswith(WAITING_FRAMES):
            waiting += count
            continue
        counters["self"][frames[-1]] += count
        counters["pkg"][_package(frames[-1])] += count
        counters["total"].update(dict.fromkeys(set(frames), count))
        counters["pkg_total"].update(dict.fromkeys({_package(f) for f in frames}, count))
        # The deepest of labelwise's own functions: the code that asked for this work.
        ours = [f for f in frames if _package(f).startswith("labelwise")]
        counters["own_code"][ours[-1] if ours else "(outside labelwise)"] += count
    busy = samples - waiting

    def shares(counter: Counter[str]) -> list[tuple[str, float]]:
        return (
            [(frame, round(n / busy, 3)) for frame, n in counter.most_common(limit)] if busy else []
        )

    return {
        "samples": samples,
        "waiting_share": round(waiting / samples, 3) if samples else None,
        "busy_cpu_seconds": round(busy / rate, 2),
        "self": shares(counters["self"]),
        "total": shares(counters["total"]),
        "self_by_package": shares(counters["pkg"]),
        "total_by_package": shares(counters["pkg_total"]),
        "by_labelwise_caller": shares(counters["own_code"]),
    }


def _package(frame: str) -> str:
    """`f (openai/_types.py:12)` → `openai`; `g (labelwise/llm/call.py:3)` → `labelwise.llm`."""
    where = frame.rpartition(" (")[2].rstrip(")")
    parts = where.split("/")
    if parts[0] == "labelwise" and len(parts) > 2:
        return ".".join(parts[:2] if parts[1] != "testing" else parts[:3])
    return parts[0].split(":")[0].removesuffix(".py")


@contextmanager
def running_stack(
    *,
    workers: int,
    latency_ms: float,
    database_url: str | None = None,
    settings_env: dict[str, str] | None = None,
    fake_llm_args: list[str] | None = None,
    local_model: LocalModel | None = None,
    llm_url: str | None = None,
) -> Iterator[Stack]:
    """With `local_model`, the embedded model's server stands in for the fake LLM; with
    `llm_url`, any OpenAI-compatible server already running does."""
    workdir = Path(tempfile.mkdtemp(prefix="labelwise-bench-"))
    api_port = free_port()
    queue_name = f"bench-{uuid.uuid4().hex[:8]}"
    os.environ.update(
        {
            "LABELWISE_DATABASE_URL": database_url or f"sqlite:///{workdir / 'bench.db'}",
            "LABELWISE_QUEUE_NAME": queue_name,
            "LABELWISE_REDIS_URL": os.environ.get("LABELWISE_BENCH_REDIS_URL", BENCH_REDIS_URL),
            # Several workers on one machine: none serves metrics, so none fights for a port.
            "LABELWISE_WORKER_METRICS_PORT": "0",
            "OPENAI_API_KEY": "bench",
            **(settings_env or {}),
        }
    )
    group = ProcessGroup()
    try:
        if llm_url is None and local_model is None:
            llm_url = start_fake_llm(group, latency_ms=latency_ms, extra_args=fake_llm_args)
        elif llm_url is None and local_model is not None:
            llm_url = start_local_server(
                group, local_model, threads=os.cpu_count() or 2, parallel=2, context=2048
            )
        # Children started from here on (the API and workers) inherit the endpoint.
        os.environ["OPENAI_BASE_URL"] = llm_url
        group.add("api", ["api", "--port", str(api_port)])
        wait_until_ready(f"http://127.0.0.1:{api_port}/readyz", group=group)
        for n in range(workers):
            group.add(f"worker-{n + 1}", ["worker"])
        # No clock starts before the workers have imported, connected and are listening.
        wait_for_workers(os.environ["LABELWISE_REDIS_URL"], queue_name, workers)
        yield Stack(
            api_url=f"http://127.0.0.1:{api_port}",
            llm_url=llm_url,
            key=_new_admin_key(),
            group=group,
        )
    finally:
        group.stop()
        remove_queue_keys(os.environ["LABELWISE_REDIS_URL"], queue_name)


def wait_for_workers(redis_url: str, queue_name: str, count: int, timeout: float = 120) -> float:
    """Wait until `count` workers listen on the queue; returns how long that took."""
    started = time.monotonic()
    connection = redis.Redis.from_url(redis_url)
    queue = Queue(queue_name, connection=connection)
    while Worker.count(connection=connection, queue=queue) < count:
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"{count} workers did not start within {timeout:.0f}s")
        time.sleep(0.02)
    return time.monotonic() - started


def remove_queue_keys(redis_url: str, queue_name: str) -> None:
    """The run's keys (its queue, jobs, rate limits: all carry the queue's name) go with it."""
    try:
        connection = redis.Redis.from_url(redis_url)
        for key in connection.scan_iter(f"*{queue_name}*", count=1000):
            connection.delete(key)
        # RQ lists every queue it has seen in one set, by the queue's key.
        connection.srem("rq:queues", f"rq:queue:{queue_name}")
    except redis.RedisError:
        pass


def _new_admin_key() -> str:
    from labelwise.cli.main import new_key
    from labelwise.settings import Settings
    from labelwise.store.keys import Role

    return new_key(Settings(), name="bench", role=Role.ADMIN, team="bench")
