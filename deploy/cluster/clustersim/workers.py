"""The worker hosts: `labelwise worker` processes started, watched and restarted per host.

The driver plays the host's process supervisor (systemd's Restart=always): a worker that exits on
its own is started again and counted. A host the chaos powered off stays down until the chaos
brings it back.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence

import redis

from clustersim.options import Options
from clustersim.processes import Processes, Running
from clustersim.topology import Host
from clustersim.waiting import NotReady, until

RESTART_AFTER_S = 3.0
METRICS_PORT = 9108  # the first worker's on each host; the next ones count up


class WorkerHosts:
    def __init__(self, options: Options, processes: Processes, redis_url: str) -> None:
        self.options = options
        self.processes = processes
        self.redis_url = redis_url
        self.by_host: dict[str, list[Running]] = {}
        self.down: set[str] = set()
        # Workers that exited by themselves: (time.monotonic() when noticed, name).
        self.exits: list[tuple[float, str]] = []
        self._noticed: set[str] = set()
        self._generation = itertools.count(1)

    def start(self, hosts: Sequence[Host], *, wait: bool = True) -> None:
        """Start each host's workers; with `wait`, until every one has registered with RQ."""
        names = []
        for host in hosts:
            self.down.discard(host.name)
            generation = next(self._generation)
            self.by_host[host.name] = [
                self._start_one(host, index, generation)
                for index in range(1, 1 + self.options.workers_per_host)
            ]
            names += [r.name for r in self.by_host[host.name]]
        if not wait:
            return
        started = [r for host in hosts for r in self.by_host[host.name]]
        until(lambda: self._registered(started), what=f"workers {', '.join(names)}", timeout=120)

    def kill(self, host: Host) -> int:
        """Power cut: SIGKILL every process of the host; it stays down until `start`."""
        self.down.add(host.name)
        self.by_host.pop(host.name, None)
        return len(self.processes.kill_host(host))

    def supervise(self) -> None:
        """Restart workers that exited while their host is up, at most one start per worker
        every `RESTART_AFTER_S` (not waiting for registration: the run goes on meanwhile)."""
        for host_name, workers in self.by_host.items():
            if host_name in self.down:
                continue
            for slot, running in enumerate(workers):
                if running.alive:
                    continue
                if running.name not in self._noticed:
                    self._noticed.add(running.name)
                    self.exits.append((time.monotonic(), running.name))
                # A worker that dies at once (say, its Redis is down) is retried every few
                # seconds, not in a loop that would eat the cores the others need.
                if time.monotonic() - running.started_at >= RESTART_AFTER_S:
                    self.processes.stop(running)
                    index = int(running.name.split("-")[1])
                    workers[slot] = self._start_one(running.host, index, next(self._generation))

    @property
    def pids(self) -> list[int]:
        return [r.popen.pid for workers in self.by_host.values() for r in workers if r.alive]

    def _start_one(self, host: Host, index: int, generation: int) -> Running:
        """Worker `index` of `host`. Workers sharing a host each serve their metrics on a port
        of their own, as they would have to on one machine."""
        name = f"{host.name}-{index}-g{generation}"
        argv = [str(self.options.python), "-m", "labelwise", "worker", "--name", name]
        port = {"LABELWISE_WORKER_METRICS_PORT": str(METRICS_PORT + index - 1)}
        return self.processes.start(name, host, argv, env=port)

    def _registered(self, workers: list[Running]) -> bool:
        dead = [r.name for r in workers if not r.alive]
        if dead:
            raise NotReady(f"worker {dead[0]} exited while starting; see {workers[0].log.parent}")
        connection = redis.Redis.from_url(self.redis_url, socket_timeout=2)
        try:
            return all(connection.exists(f"rq:worker:{r.name}") for r in workers)
        finally:
            connection.close()
