"""The two Prometheus registries outside the API's own, and which process exports which.

`LABELING_REGISTRY` holds what any process that labels updates (LLM calls, tokens, cost, labels
written): the workers, and the API too, which labels small requests itself. `WORKER_REGISTRY`
holds all of that plus what only a worker does (chunks, its reconciler), and is what a worker's
exporter serves; the API's `/metrics` adds only the labeling registry to its own, so it never
shows worker series that would stay at zero there.
"""

from __future__ import annotations

from typing import TypeVar

from prometheus_client import CollectorRegistry
from prometheus_client.registry import Collector

M = TypeVar("M", bound=Collector)

LABELING_REGISTRY = CollectorRegistry()
WORKER_REGISTRY = CollectorRegistry()


def labeling_metric(metric: M) -> M:
    """A metric of every process that labels (create it with `registry=None`)."""
    LABELING_REGISTRY.register(metric)
    WORKER_REGISTRY.register(metric)
    return metric


def worker_metric(metric: M) -> M:
    """A metric only a worker process updates (create it with `registry=None`)."""
    WORKER_REGISTRY.register(metric)
    return metric


def metric_names(registry: CollectorRegistry) -> set[str]:
    """Every series name the registry can expose (`_total`, `_bucket`, ... included)."""
    names: set[str] = set()
    for family in registry.collect():
        names.add(family.name)
        suffixes = {
            "counter": ("_total", "_created"),
            "histogram": ("_bucket", "_count", "_sum", "_created"),
            "gauge": (),
        }.get(family.type, ())
        names.update(family.name + suffix for suffix in suffixes)
    return names
