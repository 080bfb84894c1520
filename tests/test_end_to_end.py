"""The whole service as a user runs it: `labelwise up` with the fake LLM server, a worker killed
with SIGKILL mid-batch, and the batch still completing with exactly one final state per item."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from labelwise.local.supervisor import free_port, wait_until_ready
from tests.conftest import cli_env

N_ITEMS = 300
PROJECT = {
    "name": "e2e",
    "task": {"labels": ["world", "sports", "business", "science_tech"], "guidelines": "Topic."},
    "model": {"name": "fake"},
    "routing": {"accept_threshold": 0.8},
}
WORDS = ["world", "sports", "business", "science_tech", "weather"]


def children_of(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.fixture
def stack(
    tmp_path: Path, queue_name: str
) -> Iterator[tuple[str, dict[str, str], subprocess.Popen]]:
    port = free_port()
    env = {
        **cli_env(tmp_path / "e2e.db", queue_name),
        "LABELWISE_LLM_CONCURRENCY": "4",
        "LABELWISE_CHUNK_SIZE": "25",
        "LABELWISE_WORK_LEASE_SECONDS": "3",
        "LABELWISE_RECONCILE_INTERVAL_SECONDS": "1",
    }
    up = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "labelwise",
            "up",
            "--port",
            str(port),
            "--workers",
            "2",
            "--fake-llm",
        ],
        env=env,
    )
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/readyz", timeout=60)
        yield f"http://127.0.0.1:{port}", env, up
    finally:
        up.send_signal(signal.SIGTERM)
        up.wait(timeout=30)
    assert up.returncode == 0
    assert all(command_line(pid) == "" for pid in children_of(up.pid))


def test_batch_completes_despite_a_killed_worker(
    stack: tuple[str, dict[str, str], subprocess.Popen],
) -> None:
    url, env, up = stack
    key = (
        subprocess.run(
            [
                sys.executable,
                "-m",
                "labelwise",
                "keys",
                "create",
                "--name",
                "e2e",
                "--role",
                "admin",
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    http = httpx.Client(base_url=url, headers={"authorization": f"Bearer {key}"}, timeout=30)
    project = http.post("/v1/projects", json=PROJECT).json()
    items = [
        {"external_id": f"n{i}", "data": {"text": f"story {i} about {WORDS[i % len(WORDS)]}"}}
        for i in range(N_ITEMS)
    ]
    batch = http.post(f"/v1/projects/{project['id']}/batches", json={"items": items}).json()
    assert batch["created"] == N_ITEMS

    # Kill one worker with SIGKILL as soon as the batch is under way.
    deadline = time.monotonic() + 60
    while http.get(f"/v1/batches/{batch['id']}").json()["counts"]["pending"] == N_ITEMS:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    workers = [pid for pid in children_of(up.pid) if " worker " in command_line(pid)]
    assert len(workers) == 2
    os.kill(workers[0], signal.SIGKILL)

    while (summary := http.get(f"/v1/batches/{batch['id']}").json())["status"] != "completed":
        assert time.monotonic() < deadline, summary
        time.sleep(0.2)
    counts = summary["counts"]
    assert counts["total"] == N_ITEMS and counts["pending"] == 0
    assert counts["accepted"] + counts["review"] == N_ITEMS

    # Re-posting changes nothing; the export holds every item exactly once.
    again = http.post(f"/v1/projects/{project['id']}/batches", json={"items": items}).json()
    assert (again["created"], again["existing"]) == (0, N_ITEMS)
    lines = http.get(f"/v1/batches/{batch['id']}/export").text.splitlines()
    exported = [json.loads(line) for line in lines]
    assert sorted(e["external_id"] for e in exported) == sorted(i["external_id"] for i in items)
    for record in exported:
        assert record["status"] in ("accepted", "review")
        if record["status"] == "accepted":
            assert record["confidence"] >= 0.8 and record["source"] == "model"
