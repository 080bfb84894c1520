"""What the chaos phase breaks, and when: the plan is pure (tested), `Breaker` carries it out.

Each break lands on a cluster that has recovered from the one before, so what it costs shows on
its own. With lease L seconds, from the phase's start (every host busy with a chunk by then):
- 2 s: every process of one worker host (the second; the only one when K is 1) is killed with
  SIGKILL mid-chunk, as in a power cut; its workers start again L + 2 s later. Its items must be
  delivered again once their lease runs out.
- 2 L + 4 s: the data host's Redis is killed (SIGKILL) and started again from its append-only
  file 4 s later. Jobs may be lost or delivered twice; workers talking to it serve again once it
  answers (should one exit anyway, the driver, as its supervisor, starts it again).
- 3 L + 8 s: the first worker host is cut off the network (its link down: packets vanish, as in
  a partition) for L + 6 s, longer than its leases, then reconnected.

The batch is sized so that the queue runs dry about when the cut host's leases run out: its items
are then delivered again to idle workers at once, finished before it comes back, and what it
writes late must change nothing. (With a longer queue the re-delivered chunks wait at its end and
the cut host, back first, finishes them itself; both must leave one final label per item.)
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

KILL_AT_S = 2.0
REDIS_DOWN_S = 4.0
# From a worker's exit to its being back at work: its start-up (3-5 s measured here).
WORKER_BACK_S = 4.0
MIN_CHAOS_ITEMS = 200


@dataclass(frozen=True)
class Step:
    at_s: float
    action: str  # a method name of `Breakable`
    host: str | None
    what: str


class Breakable(Protocol):
    def cut(self, host: str) -> None: ...
    def reconnect(self, host: str) -> None: ...
    def crash_redis(self) -> None: ...
    def restart_redis(self) -> None: ...
    def power_off(self, host: str) -> int: ...
    def power_on(self, host: str) -> None: ...


def plan_breaks(worker_hosts: Sequence[str], lease_seconds: float) -> list[Step]:
    """The steps in time order (see the module's docstring)."""
    if not worker_hosts:
        raise ValueError("the chaos needs at least one worker host")
    lease = lease_seconds
    cut_host = worker_hosts[0]
    kill_host = worker_hosts[1] if len(worker_hosts) >= 2 else cut_host
    power_on_at = KILL_AT_S + lease + 2
    redis_at = power_on_at + lease  # the restarted workers are back at work by then
    cut_at = redis_at + REDIS_DOWN_S + lease
    cut_for = lease + 6
    return [
        Step(KILL_AT_S, "power_off", kill_host, f"killed every process on {kill_host} (SIGKILL)"),
        Step(power_on_at, "power_on", kill_host, f"started the workers of {kill_host} again"),
        Step(redis_at, "crash_redis", None, "killed the data host's Redis (SIGKILL)"),
        Step(redis_at + REDIS_DOWN_S, "restart_redis", None, "restarted Redis from its AOF"),
        Step(cut_at, "cut", cut_host, f"cut {cut_host} off the network for {cut_for:g} s"),
        Step(cut_at + cut_for, "reconnect", cut_host, f"reconnected {cut_host}"),
    ]


def span_seconds(steps: Sequence[Step]) -> float:
    return max((s.at_s for s in steps), default=0.0)


def chaos_items(rate_k: float, steps: Sequence[Step], lease_seconds: float, hosts: int) -> int:
    """Items that K hosts labeling at `rate_k` finish about when the cut host's leases run out,
    counting the work the power cut (one host in K) and the Redis crash (every worker, which
    exits) take away before; at least `MIN_CHAOS_ITEMS`."""
    at = {step.action: step.at_s for step in steps}
    host_down = at["power_on"] - at["power_off"] + WORKER_BACK_S
    all_down = at["restart_redis"] - at["crash_redis"] + WORKER_BACK_S
    busy_s = at["cut"] + lease_seconds - host_down / hosts - all_down
    return max(MIN_CHAOS_ITEMS, math.ceil(rate_k * busy_s))


class Breaker:
    """Runs due steps against the cluster; records when each was really done."""

    def __init__(self, steps: Sequence[Step], cluster: Breakable) -> None:
        self.todo = list(steps)
        self.cluster = cluster
        self.done: list[dict[str, Any]] = []

    @property
    def finished(self) -> bool:
        return not self.todo

    def run_due(
        self, elapsed: float, clock: Callable[[], float], pending: int | None = None
    ) -> None:
        """Every step whose time has come, each stamped with the phase clock when it was done
        and with the items then pending (last polled), which shows whether it hit work."""
        while self.todo and self.todo[0].at_s <= elapsed:
            step = self.todo.pop(0)
            action = getattr(self.cluster, step.action)
            result = action(step.host) if step.host is not None else action()
            what = step.what
            if step.action == "power_off":
                what += f": {result} processes"
            record: dict[str, Any] = {"at_s": round(clock(), 1), "what": what}
            if pending is not None and pending >= 0:
                record["pending"] = pending
            self.done.append(record)


def run_chaos(
    breaker: Breaker,
    *,
    pending: Callable[[], int],
    tick: Callable[[], None],
    timeout: float,
    quiet_s: float = 0.0,
) -> tuple[bool, float]:
    """Break on schedule while the batch labels; returns (settled, seconds) once every step is
    done, nothing is pending, and `quiet_s` more seconds have passed (a host that came back
    writes late: the database is judged after it had the time to), or when `timeout` runs out.
    `tick` keeps the workers supervised."""
    started = time.monotonic()

    def clock() -> float:
        return time.monotonic() - started

    last_poll, left, settled_at = -1.0, -1, None
    while clock() < timeout:
        breaker.run_due(clock(), clock, left)
        tick()
        if clock() - last_poll >= 0.5:
            last_poll = clock()
            try:
                left = pending()
            except Exception:  # the database is reachable from the driver; retry next poll
                left = -1
        if breaker.finished and left == 0:
            settled_at = clock() if settled_at is None else settled_at
            if clock() - settled_at >= quiet_s:
                return True, settled_at
        else:
            settled_at = None
        time.sleep(0.1)
    return False, clock()
