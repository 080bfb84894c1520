"""CPU spent during a phase, from /proc: by the workers (per item labeled) and by the whole machine
(how busy its cores were). Both say whether a phase was bound by the LLM's latency, as intended,
or by this machine's cores, which would flatten the scaling figure.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def parse_process_ticks(stat: str) -> int:
    """utime + stime from the text of /proc/PID/stat (the command name may hold spaces, so the
    fields are counted after its closing parenthesis)."""
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of the whole line


def parse_machine_ticks(stat: str) -> tuple[int, int]:
    """(busy, total) ticks from the text of /proc/stat's first line: idle and iowait are idle."""
    values = [int(v) for v in stat.splitlines()[0].split()[1:]]
    total = sum(values[:8])  # guest time is already counted in user time
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return total - idle, total


def process_ticks(pids: Iterable[int]) -> dict[int, int]:
    """Ticks of each process still there; a process gone is left out."""
    ticks = {}
    for pid in pids:
        try:
            ticks[pid] = parse_process_ticks(Path(f"/proc/{pid}/stat").read_text())
        except (OSError, ValueError, IndexError):
            continue
    return ticks


def machine_ticks() -> tuple[int, int]:
    return parse_machine_ticks(Path("/proc/stat").read_text())


@dataclass(frozen=True)
class CpuSample:
    processes: dict[int, int]
    machine: tuple[int, int]


def sample(pids: Iterable[int]) -> CpuSample:
    return CpuSample(process_ticks(pids), machine_ticks())


def usage(before: CpuSample, after: CpuSample, items: int) -> dict[str, float | None]:
    """Worker CPU milliseconds per item, and the share of the machine's cores that were busy
    between the samples. The first is None when the workers changed in between (one exited or
    was killed, and its CPU went with it): a partial sum would flatter the phase."""
    same_workers = bool(before.processes) and before.processes.keys() == after.processes.keys()
    spent = sum(after.processes[p] - before.processes.get(p, 0) for p in after.processes)
    busy = after.machine[0] - before.machine[0]
    total = after.machine[1] - before.machine[1]
    per_item = 1000 * spent / TICKS_PER_SECOND / items if items and same_workers else None
    return {
        "worker_cpu_ms_per_item": None if per_item is None else round(per_item, 2),
        "machine_cpu_busy": round(busy / total, 2) if total > 0 else 0.0,
    }
