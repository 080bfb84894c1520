"""The run's one JSON line: the phases' figures, what was broken and when, and the verdict."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from clustersim.figures import PhaseFigures, scaling

ONE_HOST = "1"
CHAOS = "chaos"


def build_report(
    *,
    worker_hosts: int,
    settings: Mapping[str, Any],
    phases: Mapping[str, PhaseFigures],
    phase_extras: Mapping[str, Mapping[str, Any]] | None = None,
    settled: Mapping[str, bool],
    broke: Sequence[Mapping[str, Any]],
    worker_exits: Sequence[Mapping[str, Any]],
    notes: Sequence[str],
    wall_s: float,
) -> dict[str, Any]:
    """`phases` is keyed "1", str(K) (absent when K is 1) and "chaos"; `phase_extras` adds
    measures of each phase taken outside the database (CPU). The run is ok when no phase lost an
    item or gave one two final labels, and every phase settled."""
    many = str(worker_hosts)
    rates = {
        name: round(figures.items_per_second, 2)
        for name, figures in phases.items()
        if name in (ONE_HOST, many)
    }
    lost = sum(f.lost for f in phases.values())
    multi = sum(f.multi_final_label for f in phases.values())
    all_settled = bool(settled) and all(settled.values())
    ratio = (
        scaling(phases[ONE_HOST].items_per_second, phases[many].items_per_second)
        if ONE_HOST in phases and many in phases and many != ONE_HOST
        else None
    )
    return {
        "items": sum(f.items for f in phases.values()),
        "worker_hosts": worker_hosts,
        **settings,
        "items_per_second": rates,
        "scaling": ratio,
        "chaos_items_per_second": (
            round(phases[CHAOS].items_per_second, 2) if CHAOS in phases else None
        ),
        "lost": lost,
        "multi_final_label": multi,
        "redeliveries": sum(f.redeliveries for f in phases.values()),
        "broke": list(broke),
        "worker_exits": list(worker_exits),
        "settled": all_settled,
        "phases": {
            name: f.as_json() | dict((phase_extras or {}).get(name, {}))
            for name, f in phases.items()
        },
        "notes": list(notes),
        "wall_s": round(wall_s, 1),
        "ok": lost == 0 and multi == 0 and all_settled,
    }
