"""The stack's child processes: labelwise commands started in one `ProcessGroup`, each with its
output appended to a log file of its own, and stopped so that none is left behind.

The fake LLMs are started here rather than with `labelwise.local.stack.start_fake_llm`, which
names every one `fake-llm` and leaves its output on the console: three of them run at once, and
their logs are evidence.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

from labelwise.local.supervisor import ProcessGroup, free_port, wait_until_ready

from .logs import LogFile, logged_argv


def labelwise_argv(*args: str) -> list[str]:
    """A `labelwise` subcommand, run by this interpreter (the one `ProcessGroup.add` uses)."""
    return [sys.executable, "-m", "labelwise", *args]


def run_labelwise(
    env: dict[str, str], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """A `labelwise` command to its end, its output captured; `env` on top of ours."""
    return subprocess.run(
        labelwise_argv(*args),
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start_logged(
    group: ProcessGroup,
    logs: dict[str, LogFile],
    workdir: Path,
    name: str,
    argv: list[str],
    env: dict[str, str] | None = None,
    *,
    log_name: str | None = None,
) -> None:
    """Start `argv` as the child `name`, its output appended to `<log_name or name>.log`."""
    log_name = log_name or name
    logs[log_name] = LogFile(workdir / f"{log_name}.log")
    group.add_program(name, logged_argv(logs[log_name].path, argv), env)


def start_fake_llms(
    group: ProcessGroup, logs: dict[str, LogFile], workdir: Path, slow_latency_ms: float
) -> dict[str, str]:
    """Three fake LLM servers (fast; hostile, answering 20% outside the schema and 5% truncated;
    slow); their base URLs by name, once all answer."""
    fakes = {
        "fast": ["--latency-ms", "50"],
        "hostile": ["--latency-ms", "20", "--rate-invalid", "0.2", "--rate-truncate", "0.05"],
        "slow": ["--latency-ms", str(slow_latency_ms)],
    }
    urls: dict[str, str] = {}
    for name, extra in fakes.items():
        port = free_port()
        argv = labelwise_argv("fake-llm", "--port", str(port), *extra)
        start_logged(group, logs, workdir, f"fake-llm-{name}", argv, log_name=f"llm-{name}")
        urls[name] = f"http://127.0.0.1:{port}/v1"
    for url in urls.values():
        wait_until_ready(url.removesuffix("/v1") + "/healthz", group=group)
    return urls


def start_api(
    group: ProcessGroup, logs: dict[str, LogFile], workdir: Path, env: dict[str, str]
) -> str:
    """The API on a free port; its URL once it is ready."""
    port = free_port()
    start_logged(group, logs, workdir, "api", labelwise_argv("api", "--port", str(port)), env)
    wait_until_ready(f"http://127.0.0.1:{port}/readyz", group=group, timeout=90)
    return f"http://127.0.0.1:{port}"


def start_workers(
    group: ProcessGroup, logs: dict[str, LogFile], workdir: Path, env: dict[str, str], count: int
) -> None:
    for n in range(count):
        start_logged(group, logs, workdir, f"worker-{n + 1}", labelwise_argv("worker"), env)


def started_ticks(process: subprocess.Popen[bytes]) -> int:
    """When a process started, in clock ticks since boot (field 22 of /proc/PID/stat)."""
    try:
        stat = Path(f"/proc/{process.pid}/stat").read_text()
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return 0


def stop_group(group: ProcessGroup) -> None:
    """Stop every child; then make sure the supervisor's watcher restarted none behind our back
    (it may be between noticing a death and restarting when `stop` is called)."""
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
