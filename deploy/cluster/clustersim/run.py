"""The run: a one-host phase, a K-host phase (the scaling), then a K-host phase with breaks; each
labels a batch of its own, and each is judged from the database once it has settled.

Progress goes to stderr; stdout gets one JSON line, last.
"""

from __future__ import annotations

import json
import signal
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from clustersim import cpu
from clustersim.chaos import Breaker, Step, chaos_items, plan_breaks, run_chaos, span_seconds
from clustersim.cluster import Cluster, running_cluster
from clustersim.corpus import phase_items, project_definition
from clustersim.figures import PhaseFigures, judge_phase, pending_count, read_phase
from clustersim.options import Options, parse_options
from clustersim.report import CHAOS, ONE_HOST, build_report
from labelwise.client import LabelwiseClient


def say(message: str) -> None:
    print(f"simulate: {message}", file=sys.stderr, flush=True)


@dataclass
class PhaseOutcome:
    figures: PhaseFigures
    settled: bool
    broke: list[dict[str, Any]]  # what the chaos did, and when (seconds from the phase start)
    worker_exits: list[dict[str, Any]]  # workers that exited by themselves, restarted
    cpu_use: dict[str, float | None]  # worker CPU per item, share of the machine's cores busy


def run_phase(
    cluster: Cluster,
    client: LabelwiseClient,
    project_id: int,
    name: str,
    count: int,
    steps: Sequence[Step] = (),
) -> PhaseOutcome:
    """Post `count` items, break what `steps` say while they are labeled, wait until nothing is
    pending (or the settle timeout), and judge the batch from the database."""
    batch = client.post_batch(project_id, phase_items(f"p{name}", count))
    batch_id = int(batch["id"])
    if int(batch["items"]) != count:
        raise RuntimeError(f"phase {name}: posted {count} items, the API took {batch['items']}")
    breaker = Breaker(steps, cluster)
    dsn = cluster.where.postgres_dsn
    phase_started = time.monotonic()
    cpu_before = cpu.sample(cluster.workers.pids)
    settled, seconds = run_chaos(
        breaker,
        pending=lambda: pending_count(dsn, batch_id),
        tick=cluster.workers.supervise,
        timeout=_phase_timeout(cluster.options, count, len(cluster.workers.by_host), steps),
        quiet_s=cluster.options.lease_seconds + 4 if steps else 0.0,
    )
    cpu_used = cpu.usage(cpu_before, cpu.sample(cluster.workers.pids), count)
    figures = judge_phase(read_phase(dsn, batch_id, count))
    say(
        f"phase {name}: {count} items on {len(cluster.workers.by_host)} hosts, settled={settled} "
        f"after {seconds:.1f} s, {figures.items_per_second:.1f} items/s, lost {figures.lost}, "
        f"two final labels {figures.multi_final_label}, re-deliveries {figures.redeliveries}, "
        f"worker CPU {cpu_used['worker_cpu_ms_per_item'] or 'n/a'} ms/item, "
        f"machine {100 * (cpu_used['machine_cpu_busy'] or 0):.0f}% busy"
    )
    exits = [
        {"phase": name, "at_s": round(at - phase_started, 1), "worker": worker}
        for at, worker in cluster.workers.exits
        if at >= phase_started
    ]
    return PhaseOutcome(figures, settled, breaker.done, exits, cpu_used)


def _phase_timeout(options: Options, count: int, hosts: int, steps: Sequence[Step]) -> float:
    """Twice what the phase would take at the workers' best rate (calls in flight over the
    LLM's latency), plus the breaks, plus `--settle-timeout` seconds."""
    best_rate = hosts * options.workers_per_host * options.concurrency
    best_rate /= max(options.llm_latency_ms / 1000, 0.001)
    return 2 * count / best_rate + span_seconds(steps) + options.settle_timeout


def run_all_phases(cluster: Cluster, options: Options) -> dict[str, PhaseOutcome]:
    """One host, then K hosts (when K > 1), then K hosts with the chaos."""
    outcomes: dict[str, PhaseOutcome] = {}
    client = LabelwiseClient(cluster.where.api_url, cluster.api_key, timeout=300)
    try:
        project_id = int(client.create_project(project_definition("cluster-simulation"))["id"])
        workers = cluster.topology.workers
        say(f"starting the workers of {workers[0].name}")
        cluster.workers.start(workers[:1])
        outcomes[ONE_HOST] = run_phase(cluster, client, project_id, ONE_HOST, options.items)
        latest = outcomes[ONE_HOST]
        if len(workers) > 1:
            many = str(len(workers))
            say(f"starting the workers of {', '.join(h.name for h in workers[1:])}")
            cluster.workers.start(workers[1:])
            outcomes[many] = latest = run_phase(cluster, client, project_id, many, options.items)
        steps = plan_breaks([h.name for h in workers], options.lease_seconds)
        rate_k = latest.figures.items_per_second
        count = chaos_items(rate_k, steps, options.lease_seconds, len(workers))
        outcomes[CHAOS] = run_phase(cluster, client, project_id, CHAOS, count, steps)
    finally:
        client.close()
    return outcomes


def _stop_on_sigterm() -> None:
    """SIGTERM (simulate.sh forwards Ctrl-C as one) ends the run through its cleanup."""

    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


def main(argv: Sequence[str]) -> int:
    options = parse_options(argv)
    _stop_on_sigterm()
    started = time.monotonic()
    say(f"logs in {options.log_dir}")
    try:
        report = run(options, started)
    except Exception as exc:  # still one JSON line last, for whoever reads the output
        say(f"the run failed: {traceback.format_exc()}")
        report = {"worker_hosts": options.worker_hosts, "ok": False, "error": str(exc)}
        report["wall_s"] = round(time.monotonic() - started, 1)
    print(json.dumps(report), flush=True)
    return 0 if report["ok"] else 1


def run(options: Options, started: float) -> dict[str, Any]:
    with running_cluster(options) as cluster:
        say(
            f"{len(cluster.topology.hosts)} hosts up on {cluster.topology.network} "
            f"(link delay {cluster.link_delay_ms:g} ms) in {time.monotonic() - started:.1f} s"
        )
        for note in cluster.notes:
            say(note)
        outcomes = run_all_phases(cluster, options)
        return build_report(
            worker_hosts=options.worker_hosts,
            settings={
                "workers_per_host": options.workers_per_host,
                "llm_concurrency": options.concurrency,
                "llm_latency_ms": options.llm_latency_ms,
                "link_delay_ms": cluster.link_delay_ms,
                "lease_s": options.lease_seconds,
            },
            phases={name: o.figures for name, o in outcomes.items()},
            phase_extras={name: o.cpu_use for name, o in outcomes.items()},
            settled={name: o.settled for name, o in outcomes.items()},
            broke=[step for o in outcomes.values() for step in o.broke],
            worker_exits=[e for o in outcomes.values() for e in o.worker_exits],
            notes=cluster.notes,
            wall_s=time.monotonic() - started,
        )
