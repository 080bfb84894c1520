"""The simulated cluster, up: hosts built, servers running, workers supervised; and the handles
the chaos uses to break it (a network cut, a Redis crash, a host's power cut).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from clustersim.options import Options
from clustersim.processes import Processes, clean_environment
from clustersim.services import (
    DataHost,
    Endpoints,
    endpoints,
    labelwise_environment,
    start_api,
    start_llm,
    wait_llm,
)
from clustersim.topology import (
    Topology,
    apply,
    apply_delay,
    build_commands,
    link_command,
    plan_topology,
    teardown,
)
from clustersim.workers import WorkerHosts


@dataclass
class Cluster:
    options: Options
    topology: Topology
    where: Endpoints
    processes: Processes
    data: DataHost
    workers: WorkerHosts
    api_key: str
    link_delay_ms: float
    notes: list[str] = field(default_factory=list)

    # The chaos' handles (`clustersim.chaos.Breakable`).
    def cut(self, host: str) -> None:
        apply([link_command(self.topology.host(host), up=False)])

    def reconnect(self, host: str) -> None:
        apply([link_command(self.topology.host(host), up=True)])

    def crash_redis(self) -> None:
        self.data.crash_redis()

    def restart_redis(self) -> None:
        self.data.start_redis()

    def power_off(self, host: str) -> int:
        return self.workers.kill(self.topology.host(host))

    def power_on(self, host: str) -> None:
        self.workers.start([self.topology.host(host)], wait=False)


@contextmanager
def running_cluster(options: Options) -> Iterator[Cluster]:
    """Build the hosts and start every server (no workers yet); stop and remove it all after,
    however the block ends."""
    topology = plan_topology(options.prefix, options.subnet, options.worker_hosts)
    where = endpoints(topology)
    env = clean_environment(os.environ) | labelwise_environment(options, where)
    processes = Processes(options.log_dir, env, cwd=options.run_dir)
    try:
        apply(build_commands(topology))
        notes = []
        delay = options.link_delay_ms
        problem = apply_delay(topology, delay)
        if problem:
            notes.append(problem)
            delay = 0.0
        llm = start_llm(options, topology, processes)
        data = DataHost(options, topology, processes)
        data.start()
        key = start_api(options, topology, processes, where)
        wait_llm(llm)
        workers = WorkerHosts(options, processes, where.redis_url)
        yield Cluster(options, topology, where, processes, data, workers, key, delay, notes)
    finally:
        processes.stop_all()
        for problem in teardown(topology):
            print(f"simulate: cleanup: {problem}", file=sys.stderr, flush=True)
