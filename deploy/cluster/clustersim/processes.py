"""Processes on the simulated hosts: each started inside its host's namespace, in a session of its
own (so a Ctrl-C reaches the driver, which stops them in order), logged to a file of its own, and
stopped by its own process id, never by name.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from clustersim.topology import Host

# Variables of the caller's shell that would reach into the services' configuration.
FOREIGN_PREFIXES = ("LABELWISE_", "OPENAI_")


@dataclass
class Running:
    name: str
    host: Host
    popen: subprocess.Popen[bytes]
    log: Path
    started_at: float = field(default_factory=time.monotonic)

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None


def clean_environment(base: Mapping[str, str]) -> dict[str, str]:
    """The caller's environment without labelwise or OpenAI settings: the run sets its own."""
    return {k: v for k, v in base.items() if not k.startswith(FOREIGN_PREFIXES)}


def in_namespace(host: Host, argv: Sequence[str], user: str | None = None) -> list[str]:
    """`argv` run on `host`; as `user` (without a forking wrapper, so the pid is the program's)."""
    as_user = ["setpriv", "--reuid", user, "--regid", user, "--init-groups"] if user else []
    return ["ip", "netns", "exec", host.namespace, *as_user, *argv]


class Processes:
    """Every long-running process of the run, so that none outlives it."""

    def __init__(self, log_dir: Path, env: Mapping[str, str], cwd: Path) -> None:
        self.log_dir = log_dir
        self.env = dict(env)
        self.cwd = cwd
        self.running: list[Running] = []

    def start(
        self,
        name: str,
        host: Host,
        argv: Sequence[str],
        *,
        user: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Running:
        """Start `argv` on `host`; `env` adds to (or overrides) the run's environment."""
        log = self.log_dir / f"{name}.log"
        with log.open("ab") as out:
            out.write(f"--- {time.strftime('%H:%M:%S')} start {' '.join(argv)}\n".encode())
            out.flush()
            popen = subprocess.Popen(
                in_namespace(host, argv, user),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env | dict(env or {}),
                cwd=self.cwd,
                start_new_session=True,
            )
        running = Running(name, host, popen, log)
        self.running.append(running)
        return running

    def run_once(
        self, name: str, host: Host, argv: Sequence[str], *, user: str | None = None
    ) -> str:
        """A short command on `host`; its output, or an error that names its log."""
        log = self.log_dir / f"{name}.log"
        done = subprocess.run(
            in_namespace(host, argv, user),
            capture_output=True,
            env=self.env,
            cwd=self.cwd,
            timeout=120,
            check=False,
        )
        output = done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace")
        log.write_text(output)
        if done.returncode != 0:
            raise RuntimeError(f"{name} failed ({done.returncode}); see {log}")
        return done.stdout.decode(errors="replace")

    def stop(self, running: Running, timeout: float = 10.0) -> None:
        """SIGTERM to the process's own session, then SIGKILL if it lingers."""
        if running.alive:
            _signal_group(running.popen.pid, signal.SIGTERM)
            try:
                running.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _signal_group(running.popen.pid, signal.SIGKILL)
                running.popen.wait(timeout=5)
        if running in self.running:
            self.running.remove(running)

    def stop_all(self) -> None:
        """Workers and the API first, the data host's servers last."""
        for running in sorted(self.running, key=lambda r: r.host.name == "data"):
            self.stop(running)

    def kill_host(self, host: Host) -> list[int]:
        """SIGKILL every process in the host's namespace (`ip netns pids`), as a power cut would."""
        listed = subprocess.run(
            ["ip", "netns", "pids", host.namespace], capture_output=True, text=True, check=False
        )
        pids = [int(p) for p in listed.stdout.split()]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for running in [r for r in self.running if r.host == host]:
            running.popen.wait(timeout=10)
            self.running.remove(running)
        return pids

    def kill(self, running: Running) -> None:
        """SIGKILL one process (a crash, not a stop)."""
        if running.alive:
            running.popen.send_signal(signal.SIGKILL)
            running.popen.wait(timeout=10)
        if running in self.running:
            self.running.remove(running)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)
