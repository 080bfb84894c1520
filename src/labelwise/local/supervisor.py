"""Running the API, the workers (and a local LLM server) as one group of child processes.

`labelwise up` and `labelwise label` use it: children are restarted if they die (a worker killed
mid-batch comes back; its items are recovered by the reconciler), and SIGTERM or SIGINT to the
parent stops them all together.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx

log = logging.getLogger(__name__)

RESTART_BACKOFF_SECONDS = 1.0


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0


@dataclass
class ProcessGroup:
    children: list[Child] = field(default_factory=list)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _watcher: threading.Thread | None = None

    def add(self, name: str, args: list[str], env: Mapping[str, str] | None = None) -> Child:
        """A `labelwise` subcommand as a child."""
        return self.add_program(name, [sys.executable, "-m", "labelwise", *args], env)

    def add_program(
        self, name: str, argv: list[str], env: Mapping[str, str] | None = None
    ) -> Child:
        child = Child(name, argv, {**os.environ, **(env or {})})
        self.children.append(child)
        self._spawn(child)
        return child

    def _spawn(self, child: Child) -> None:
        child.process = subprocess.Popen(child.argv, env=child.env)
        log.info("started %s (pid %s)", child.name, child.process.pid)

    def watch_in_background(self) -> None:
        self._watcher = threading.Thread(
            target=self._watch, name="labelwise-supervisor", daemon=True
        )
        self._watcher.start()

    def _watch(self) -> None:
        while not self._stopping.wait(0.5):
            for child in self.children:
                if child.process is not None and child.process.poll() is not None:
                    if self._stopping.is_set():
                        return
                    log.warning(
                        "%s exited with %s; restarting", child.name, child.process.returncode
                    )
                    print(
                        f"labelwise: {child.name} exited ({child.process.returncode}); restarting",
                        file=sys.stderr,
                    )
                    if self._stopping.wait(RESTART_BACKOFF_SECONDS):
                        return
                    child.restarts += 1
                    self._spawn(child)

    def stop(self, timeout: float = 15.0) -> None:
        self._stopping.set()
        # The watcher may be restarting a child: once it has returned, no child starts again
        # behind our back, to outlive the group.
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join(timeout)
        for child in self.children:
            if child.process is not None and child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in self.children:
            if child.process is None:
                continue
            try:
                child.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()


def catch_stop_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT; installed before children start, so a signal that
    arrives during start-up still stops them all instead of orphaning them."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def wait_until_ready(url: str, *, timeout: float = 60.0, group: ProcessGroup | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if group is not None:
            dead = [c.name for c in group.children if c.process and c.process.poll() is not None]
            if dead:
                raise RuntimeError(f"{', '.join(dead)} exited during start-up")
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not become ready within {timeout:.0f}s")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
