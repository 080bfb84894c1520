"""The registries, with every metric defined in them: what an exporter imports.

A metric is registered when its module is first imported; a process that serves a registry
before the code that updates a metric was imported would leave that metric out. Importing the
registries from here registers them all, whatever the process imported so far.
"""

from __future__ import annotations

from labelwise.observability import label_writes, llm_metrics, worker_metrics
from labelwise.observability.registries import LABELING_REGISTRY, WORKER_REGISTRY, metric_names

DEFINING_MODULES = (label_writes, llm_metrics, worker_metrics)

__all__ = ["DEFINING_MODULES", "LABELING_REGISTRY", "WORKER_REGISTRY", "metric_names"]
