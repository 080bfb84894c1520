"""The scrape targets in deploy/k8s held to the code: each worker pod's metrics port is the one
its settings make it serve, on an address the scraper can reach, and the annotations point at
it; the API's point at its own port and route."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from labelwise.cli.main import build_parser
from labelwise.settings import Settings
from tests.deploy.test_k8s import API, TARGETS, WORKER, container, env_from_configmaps, find, render

Doc = dict[str, Any]


@pytest.fixture(scope="module", params=sorted(TARGETS))
def docs(request: pytest.FixtureRequest) -> list[Doc]:
    return render(TARGETS[request.param])


def worker_env(docs: list[Doc], c: Doc) -> dict[str, str]:
    env = env_from_configmaps(docs, c)
    env.update({var["name"]: var["value"] for var in c.get("env", []) if "value" in var})
    return env


def setting(env: dict[str, str], name: str) -> Any:
    value = env.get(f"LABELWISE_{name.upper()}")
    return value if value is not None else Settings.model_fields[name].default


def annotations(workload: Doc) -> dict[str, str]:
    return workload["spec"]["template"]["metadata"].get("annotations", {})


def test_the_worker_serves_metrics_where_the_pod_says(docs: list[Doc]) -> None:
    workload = find(docs, "Deployment", WORKER)
    c = container(workload, "worker")
    env = worker_env(docs, c)
    port = int(setting(env, "worker_metrics_port"))
    assert port != 0, "the workers' metrics are switched off"
    address = ipaddress.ip_address(setting(env, "worker_metrics_address"))
    assert not address.is_loopback, "a loopback address is out of the scraper's reach"
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    assert ports.get("metrics") == port, ports
    scrape = annotations(workload)
    assert scrape.get("prometheus.io/scrape") == "true"
    assert int(scrape["prometheus.io/port"]) == port
    assert scrape.get("prometheus.io/path", "/metrics") == "/metrics"


def test_the_api_is_scraped_on_its_own_port_and_route(docs: list[Doc]) -> None:
    workload = find(docs, "Deployment", API)
    c = container(workload, "api")
    args = build_parser().parse_args(c["command"][1:] + c.get("args", []))
    scrape = annotations(workload)
    assert scrape.get("prometheus.io/scrape") == "true"
    assert int(scrape["prometheus.io/port"]) == args.port
    assert scrape["prometheus.io/path"] == "/metrics"
