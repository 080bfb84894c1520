"""The Kubernetes manifests (deploy/k8s) checked against the code they run.

The manifests repeat names the code owns: CLI subcommands, settings' variables, health routes,
the RQ queue's Redis key. Nothing breaks at render time when one of those changes, only in the
cluster; these tests render the base and the production overlay with `kubectl kustomize` and hold
each such name to the code.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices
from rq import Queue

from labelwise.api.app import create_app
from labelwise.cli.main import COMMANDS, build_parser
from labelwise.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
TARGETS = {"base": K8S, "production": K8S / "overlays" / "production"}
SECRET_EXAMPLE = K8S / "secret.example.yaml"

API = "labelwise-api"
WORKER = "labelwise-worker"
MIGRATE = "labelwise-migrate"
# The subcommand each workload must run.
EXPECTED_COMMANDS = {API: "api", WORKER: "worker", MIGRATE: "migrate"}

# Variables the code reads from the environment outside `Settings`, that a manifest may set.
# None today: the LLM key's OPENAI_API_KEY is an alias `Settings` itself declares, and the team
# keys named by LABELWISE_API_KEY_ENVS are allowed below from that setting's own value.
NON_SETTINGS_ENV: frozenset[str] = frozenset()

Doc = dict[str, Any]


def render(target: Path) -> list[Doc]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail("kubectl is not installed: these tests render the manifests with it")
    result = subprocess.run(
        [kubectl, "kustomize", str(target)], capture_output=True, text=True, timeout=120
    )
    if result.returncode != 0:
        pytest.fail(f"kubectl kustomize {target} failed:\n{result.stderr}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module", params=sorted(TARGETS))
def docs(request: pytest.FixtureRequest) -> list[Doc]:
    return render(TARGETS[request.param])


def find(docs: list[Doc], kind: str, name: str) -> Doc:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def of_kind(docs: list[Doc], kind: str) -> list[Doc]:
    return [d for d in docs if d["kind"] == kind]


def workloads(docs: list[Doc]) -> list[Doc]:
    return [d for d in docs if d["kind"] in ("Deployment", "Job", "CronJob", "StatefulSet")]


def pod_spec(workload: Doc) -> Doc:
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def containers(workload: Doc) -> Iterator[Doc]:
    spec = pod_spec(workload)
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


def container(workload: Doc, name: str) -> Doc:
    matching = [c for c in containers(workload) if c["name"] == name]
    assert matching, f"{workload['metadata']['name']} has no container {name}"
    return matching[0]


def configmap_data(docs: list[Doc], name: str) -> dict[str, str]:
    return find(docs, "ConfigMap", name).get("data", {})


def settings_env_names() -> set[str]:
    """Every variable `Settings` reads: LABELWISE_<field>, or a field's declared aliases."""
    prefix = Settings.model_config.get("env_prefix", "")
    names: set[str] = set()
    for field_name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(str(choice).upper() for choice in alias.choices)
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add(f"{prefix}{field_name}".upper())
    return names


def env_from_configmaps(docs: list[Doc], c: Doc) -> dict[str, str]:
    """What a container gets from ConfigMaps (whole ones, or single keys): name -> value."""
    env: dict[str, str] = {}
    for source in c.get("envFrom", []):
        assert "secretRef" not in source, (
            f"container {c['name']} takes a whole Secret: its variables cannot be checked"
        )
        ref = source["configMapRef"]["name"]
        for key, value in configmap_data(docs, ref).items():
            env[source.get("prefix", "") + key] = value
    for var in c.get("env", []):
        ref = var.get("valueFrom", {}).get("configMapKeyRef")
        if ref is not None:
            env[var["name"]] = configmap_data(docs, ref["name"])[ref["key"]]
    return env


def secret_refs(c: Doc) -> dict[str, tuple[str, str]]:
    """The variables a container reads from Secrets: name -> (secret, key)."""
    refs: dict[str, tuple[str, str]] = {}
    for var in c.get("env", []):
        ref = var.get("valueFrom", {}).get("secretKeyRef")
        if ref is not None:
            refs[var["name"]] = (ref["name"], ref["key"])
    return refs


def all_env_names(docs: list[Doc], c: Doc) -> set[str]:
    return {v["name"] for v in c.get("env", [])} | set(env_from_configmaps(docs, c))


def pod_labels_match(selector: Doc, workload: Doc) -> bool:
    labels = workload["spec"]["template"]["metadata"]["labels"]
    return all(labels.get(k) == v for k, v in selector.items())


# --- the workloads and their commands ---------------------------------------------------------


def test_api_and_worker_deployments_exist(docs: list[Doc]) -> None:
    names = {d["metadata"]["name"] for d in of_kind(docs, "Deployment")}
    assert {API, WORKER} <= names
    find(docs, "Job", MIGRATE)


def test_every_container_runs_a_real_labelwise_subcommand(docs: list[Doc]) -> None:
    parser = build_parser()
    for workload in workloads(docs):
        name = workload["metadata"]["name"]
        for c in containers(workload):
            argv = [*c.get("command", []), *c.get("args", [])]
            assert argv[:1] == ["labelwise"], f"{name}/{c['name']} runs {argv}, not labelwise"
            try:
                args = parser.parse_args(argv[1:])
            except SystemExit:
                pytest.fail(f"{name}/{c['name']}: `{' '.join(argv)}` is refused by the CLI")
            assert args.command in COMMANDS, f"{name}: no handler for {args.command}"
            if name in EXPECTED_COMMANDS:
                assert args.command == EXPECTED_COMMANDS[name], f"{name} runs {args.command}"


def test_api_listens_where_the_service_and_probes_send() -> None:
    docs = render(TARGETS["base"])
    c = container(find(docs, "Deployment", API), "api")
    args = build_parser().parse_args(c["command"][1:] + c.get("args", []))
    assert args.host == "0.0.0.0", "the API must listen beyond loopback to be reachable"
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert args.port in ports.values(), f"API listens on {args.port}, container ports {ports}"
    service = find(docs, "Service", API)
    assert pod_labels_match(service["spec"]["selector"], find(docs, "Deployment", API))
    for port in service["spec"]["ports"]:
        target = port["targetPort"]
        assert ports.get(target, target) == args.port, f"Service sends to {target}"


# --- settings: the ConfigMap and the Secret ---------------------------------------------------


def test_every_env_var_is_one_settings_reads(docs: list[Doc]) -> None:
    known = settings_env_names() | NON_SETTINGS_ENV
    for workload in workloads(docs):
        for c in containers(workload):
            env = env_from_configmaps(docs, c)
            team_keys = {
                var
                for names in json.loads(env.get("LABELWISE_API_KEY_ENVS", "{}")).values()
                for var in names
            }
            unknown = {n for n in all_env_names(docs, c) if n.upper() not in known | team_keys}
            assert not unknown, (
                f"{workload['metadata']['name']}/{c['name']} sets {sorted(unknown)}, "
                "which labelwise never reads"
            )


def test_configmap_values_are_valid_settings(
    docs: list[Doc], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A value Settings refuses (a bad number, an unknown transport) stops every pod at start."""
    for workload in workloads(docs):
        for c in containers(workload):
            for name, value in env_from_configmaps(docs, c).items():
                monkeypatch.setenv(name, value)
            Settings(_env_file=None)  # type: ignore[call-arg]


def test_secret_is_referenced_never_shipped(docs: list[Doc]) -> None:
    """The Secret is the operator's: not rendered, and the example has every key read from it."""
    assert not of_kind(docs, "Secret"), "a Secret is rendered: credentials would be in git"
    example = yaml.safe_load(SECRET_EXAMPLE.read_text())
    name = example["metadata"]["name"]
    provided = set(example["stringData"])
    needed: set[tuple[str, str]] = set()
    for workload in workloads(docs):
        for c in containers(workload):
            needed.update(secret_refs(c).values())
    for auth in of_kind(docs, "TriggerAuthentication"):
        needed.update((r["name"], r["key"]) for r in auth["spec"].get("secretTargetRef", []))
    assert needed, "nothing reads the Secret"
    assert {secret for secret, _ in needed} == {name}
    missing = {key for _, key in needed} - provided
    assert not missing, f"secret.example.yaml lacks {sorted(missing)}"


def test_processes_get_their_connections_from_the_secret(docs: list[Doc]) -> None:
    for name, wanted in (
        (API, {"LABELWISE_DATABASE_URL", "LABELWISE_REDIS_URL", "LABELWISE_OPENAI_API_KEY"}),
        (WORKER, {"LABELWISE_DATABASE_URL", "LABELWISE_REDIS_URL", "LABELWISE_OPENAI_API_KEY"}),
        (MIGRATE, {"LABELWISE_DATABASE_URL"}),
    ):
        kind = "Job" if name == MIGRATE else "Deployment"
        c = next(iter(pod_spec(find(docs, kind, name))["containers"]))
        assert wanted <= set(secret_refs(c)), f"{name} lacks {wanted - set(secret_refs(c))}"


# --- probes -----------------------------------------------------------------------------------


def test_api_probes_point_at_routes_the_app_serves(docs: list[Doc]) -> None:
    app = create_app(Settings(_env_file=None, database_url="sqlite:///:memory:"))  # type: ignore[call-arg]
    served = {path for path, ops in app.openapi()["paths"].items() if "get" in ops}
    c = container(find(docs, "Deployment", API), "api")
    ports = {p["name"] for p in c["ports"]} | {p["containerPort"] for p in c["ports"]}
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        if probe in c:
            get = c[probe]["httpGet"]
            assert get["path"] in served, f"{probe} asks {get['path']}, which the API lacks"
            assert get["port"] in ports, f"{probe} asks port {get['port']}"


# --- autoscaling ------------------------------------------------------------------------------


def test_keda_scales_the_workers_on_the_rq_queue(docs: list[Doc]) -> None:
    scaled = find(docs, "ScaledObject", WORKER)
    target = scaled["spec"]["scaleTargetRef"]
    assert target["name"] == WORKER
    assert target.get("kind", "Deployment") == "Deployment"
    # The reconciler runs inside the workers: at zero, lost deliveries would never come back.
    assert scaled["spec"]["minReplicaCount"] >= 1
    assert scaled["spec"]["maxReplicaCount"] >= scaled["spec"]["minReplicaCount"]

    worker = container(find(docs, "Deployment", WORKER), "worker")
    queue_name = env_from_configmaps(docs, worker).get(
        "LABELWISE_QUEUE_NAME", Settings.model_fields["queue_name"].default
    )
    expected_list = Queue.redis_queue_namespace_prefix + queue_name
    assert expected_list == f"rq:queue:{queue_name}"
    triggers = [t for t in scaled["spec"]["triggers"] if t["type"] == "redis"]
    assert len(triggers) == 1, "one redis trigger expected"
    metadata = triggers[0]["metadata"]
    assert metadata["listName"] == expected_list
    assert int(metadata["listLength"]) >= 1

    # Redis's address: from the worker's environment, or a TriggerAuthentication.
    if "addressFromEnv" in metadata:
        assert metadata["addressFromEnv"] in all_env_names(docs, worker)
    else:
        auth = find(docs, "TriggerAuthentication", triggers[0]["authenticationRef"]["name"])
        params = {r["parameter"] for r in auth["spec"]["secretTargetRef"]}
        assert "address" in params or {"host", "port"} <= params


def test_hpa_scales_the_api_on_cpu(docs: list[Doc]) -> None:
    hpa = find(docs, "HorizontalPodAutoscaler", API)
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", API)
    resources = [m["resource"]["name"] for m in hpa["spec"]["metrics"] if m["type"] == "Resource"]
    assert "cpu" in resources


def test_autoscaled_deployments_leave_replicas_to_the_autoscaler(docs: list[Doc]) -> None:
    """A `replicas` in the manifest resets the autoscaler's count on every apply."""
    for name in (API, WORKER):
        assert "replicas" not in find(docs, "Deployment", name)["spec"], name


# --- pod hygiene ------------------------------------------------------------------------------


def test_containers_have_resources_and_run_as_non_root(docs: list[Doc]) -> None:
    for workload in workloads(docs):
        name = workload["metadata"]["name"]
        spec = pod_spec(workload)
        assert spec.get("securityContext", {}).get("runAsNonRoot") is True, name
        for c in containers(workload):
            for part in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(c.get("resources", {}).get(part, {})), (
                    f"{name}/{c['name']} lacks {part}"
                )
            assert c.get("securityContext", {}).get("allowPrivilegeEscalation") is False, name


@pytest.mark.parametrize("name", [API, WORKER])
def test_pods_outlive_the_processes_own_grace_period(docs: list[Doc], name: str) -> None:
    """The process drains (API) or hands its chunk back (worker) after
    LABELWISE_STOP_GRACE_SECONDS; the pod must not be killed before that is done."""
    workload = find(docs, "Deployment", name)
    kill_after = pod_spec(workload).get("terminationGracePeriodSeconds", 30)
    env = env_from_configmaps(docs, container(workload, name.removeprefix("labelwise-")))
    grace = float(
        env.get("LABELWISE_STOP_GRACE_SECONDS", Settings.model_fields["stop_grace_seconds"].default)
    )
    assert 5 <= kill_after - grace <= 30, (kill_after, grace)


def test_each_deployment_has_a_disruption_budget(docs: list[Doc]) -> None:
    budgets = of_kind(docs, "PodDisruptionBudget")
    for name in (API, WORKER):
        deployment = find(docs, "Deployment", name)
        assert any(
            pod_labels_match(b["spec"]["selector"]["matchLabels"], deployment) for b in budgets
        ), f"no PodDisruptionBudget selects {name}'s pods"


# --- the production overlay -------------------------------------------------------------------


def test_production_pins_the_image_and_scales_beyond_the_base() -> None:
    base, production = render(TARGETS["base"]), render(TARGETS["production"])
    for workload in workloads(production):
        for c in containers(workload):
            repository, _, tag = c["image"].rpartition(":")
            assert repository.rsplit("/", 1)[-1] == "labelwise", c["image"]
            assert tag and tag != "latest", f"{c['image']}: production runs a pinned tag"

    def floor_and_ceiling(docs: list[Doc]) -> tuple[int, int, int, int]:
        hpa = find(docs, "HorizontalPodAutoscaler", API)["spec"]
        scaled = find(docs, "ScaledObject", WORKER)["spec"]
        return (
            hpa["minReplicas"],
            hpa["maxReplicas"],
            scaled["minReplicaCount"],
            scaled["maxReplicaCount"],
        )

    for before, after in zip(floor_and_ceiling(base), floor_and_ceiling(production), strict=True):
        assert after > before

    def requests(docs: list[Doc], name: str) -> str:
        c = pod_spec(find(docs, "Deployment", name))["containers"][0]
        return c["resources"]["requests"]["memory"]

    for name in (API, WORKER):
        assert requests(production, name) != requests(base, name), f"{name}: same resources"
