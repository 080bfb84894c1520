"""The driver's command line: sizes of the run and the timings that make it fit in minutes."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

PREFIX = re.compile(r"^[a-z][a-z0-9]{0,5}$")
SUBNET = re.compile(
    r"^10\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])$"
)
MAX_WORKER_HOSTS = 16


@dataclass(frozen=True)
class Options:
    """What one run is told. `items` is the batch of each measured phase (one host, K hosts);
    the chaos phase's batch is sized from the K-host rate and the break schedule."""

    items: int
    worker_hosts: int
    workers_per_host: int
    concurrency: int
    llm_latency_ms: float
    link_delay_ms: float
    lease_seconds: float
    reconcile_seconds: float
    settle_timeout: float
    prefix: str
    subnet: str
    python: Path
    run_dir: Path
    log_dir: Path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="simulate.sh",
        description="Run labelwise across network-namespace hosts, break it, judge the database.",
    )
    add = parser.add_argument
    add(
        "--items",
        type=_at_least(10),
        default=3000,
        help="items of each measured phase (default 3000)",
    )
    add("--worker-hosts", type=_between(1, MAX_WORKER_HOSTS), default=3, help="K (default 3)")
    add("--workers-per-host", type=_between(1, 4), default=2)
    add("--concurrency", type=_between(1, 256), default=8, help="LLM calls in flight per worker")
    add("--llm-latency-ms", type=float, default=500.0)
    add("--link-delay-ms", type=float, default=2.0, help="netem delay on each host's link")
    add("--lease-seconds", type=float, default=8.0, help="LABELWISE_WORK_LEASE_SECONDS")
    add("--reconcile-seconds", type=float, default=2.0)
    add(
        "--settle-timeout",
        type=float,
        default=300.0,
        help="seconds a phase may take beyond twice its best time (default 300)",
    )
    add("--prefix", default="lw", help="names of namespaces and links start with it")
    add("--subnet", default="10.77.0", help="the /24 the hosts live in (first three octets)")
    add("--python", type=Path, required=True, help="the interpreter that has labelwise")
    add("--run-dir", type=Path, required=True, help="data of Redis and PostgreSQL")
    add("--log-dir", type=Path, required=True, help="one log per process")
    return parser


def parse_options(argv: Sequence[str]) -> Options:
    parser = build_parser()
    args = parser.parse_args(list(argv))
    if not PREFIX.match(args.prefix):
        parser.error("--prefix: a lowercase letter then at most 5 letters or digits")
    if not SUBNET.match(args.subnet):
        parser.error("--subnet: three octets of a private 10.x.y network, e.g. 10.77.0")
    if args.lease_seconds < 3 or args.reconcile_seconds <= 0:
        parser.error("--lease-seconds must be at least 3 and --reconcile-seconds positive")
    if args.llm_latency_ms < 0 or args.link_delay_ms < 0:
        parser.error("latencies must not be negative")
    return Options(
        items=args.items,
        worker_hosts=args.worker_hosts,
        workers_per_host=args.workers_per_host,
        concurrency=args.concurrency,
        llm_latency_ms=args.llm_latency_ms,
        link_delay_ms=args.link_delay_ms,
        lease_seconds=args.lease_seconds,
        reconcile_seconds=args.reconcile_seconds,
        settle_timeout=args.settle_timeout,
        prefix=args.prefix,
        subnet=args.subnet,
        python=args.python,
        run_dir=args.run_dir,
        log_dir=args.log_dir,
    )


def _at_least(low: int) -> Callable[[str], int]:
    return _between(low, 1_000_000)


def _between(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number in [low, high], or a message naming the bounds."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low} and {high}")
        return value

    return parse
