"""The container deployment (deploy/Dockerfile, deploy/compose.yaml, deploy/env.example) checked
against the code it runs.

No Docker engine is needed: the files are parsed, and what they name is compared with what the
code accepts. A renamed subcommand, a setting that no longer exists, a Redis that may evict queued
jobs or an image running as root fails here rather than at `docker compose up`.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices, AliasPath

from labelwise.cli.main import build_parser
from labelwise.local.model import LocalModel
from labelwise.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / "env.example"
DOCKERIGNORE = ROOT / ".dockerignore"

# Variables the deployment names that `Settings` does not read: the postgres image's own.
NON_SETTINGS_VARIABLES = {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"}
# Images of other projects; every other service runs a labelwise image built from the Dockerfile.
THIRD_PARTY_IMAGES = {"redis": "redis:7", "postgres": "postgres:16"}
# The one labelwise-image service whose program is not `labelwise`: the embedded model's server.
LOCAL_MODEL_SERVICE = "local-llm"
SECRET_NAME = re.compile(r"KEY|PASSWORD|TOKEN|SECRET")
# `${NAME}`, `${NAME:-default}`, `${NAME:?message}` or `$NAME`; `$$` is a literal dollar.
INTERPOLATION = re.compile(
    r"(?<!\$)\$(?:\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}|([A-Za-z_][A-Za-z0-9_]*))"
)
ENV_LINE = re.compile(r"^(#\s*)?([A-Z_][A-Z0-9_]*)=(.*)$")


# --- what the code accepts ------------------------------------------------------------------------


def settings_variables() -> set[str]:
    """The environment variable names `Settings` reads: prefix + field name, or its aliases."""
    prefix = str(Settings.model_config.get("env_prefix", "")).upper()
    names: set[str] = set()
    for name, info in Settings.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {c.upper() for c in alias.choices if isinstance(c, str)}
        elif isinstance(alias, str):
            names.add(alias.upper())
        elif isinstance(alias, AliasPath):  # pragma: no cover - none today
            names.add(str(alias.path[0]).upper())
        else:
            names.add(f"{prefix}{name}".upper())
    return names


def subcommands(parser: argparse.ArgumentParser) -> set[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    raise AssertionError("the labelwise parser has no subcommands")


def assert_labelwise_argv(argv: list[str], where: str) -> argparse.Namespace:
    """`argv` is a command line `labelwise` accepts as it is."""
    parser = build_parser()
    assert argv, f"{where}: no command"
    assert argv[0] in subcommands(parser), f"{where}: {argv[0]!r} is not a labelwise subcommand"
    try:
        return parser.parse_args(argv)
    except SystemExit:
        pytest.fail(f"{where}: `labelwise {shlex.join(argv)}` is refused by the CLI parser")


# --- the files ------------------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(document, dict) and isinstance(document.get("services"), dict)
    return document


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def as_argv(command: str | list[str] | None) -> list[str]:
    if command is None:
        return []
    return shlex.split(command) if isinstance(command, str) else [str(a) for a in command]


def environment_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(entry.split("=", 1) if "=" in entry else (entry, "") for entry in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def interpolated(value: Any) -> set[str]:
    """Every variable compose substitutes anywhere in `value`."""
    if isinstance(value, dict):
        return {n for k, v in value.items() for n in interpolated(k) | interpolated(v)}
    if isinstance(value, list):
        return {n for v in value for n in interpolated(v)}
    if isinstance(value, str):
        return {a or b for a, b in INTERPOLATION.findall(value)}
    return set()


def env_example() -> list[tuple[str, str, bool]]:
    """(name, value, commented out) for each `NAME=value` line of env.example."""
    entries = []
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = ENV_LINE.match(line.strip())
        if match:
            entries.append((match.group(2), match.group(3), match.group(1) is not None))
    assert entries, "env.example documents no variable"
    return entries


def ours(service: dict[str, Any]) -> bool:
    build = service.get("build")
    return isinstance(build, dict) and build.get("dockerfile") == "deploy/Dockerfile"


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def last(self, instruction: str) -> str | None:
        found = [arg for name, arg in self.instructions if name == instruction]
        return found[-1] if found else None


def dockerfile_stages() -> dict[str, Stage]:
    """The Dockerfile's stages in order, with global ARG defaults substituted into FROM."""
    logical: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not pending):
            continue  # Docker drops comment lines, even inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued instruction"
    global_args: dict[str, str] = {}
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    for line in logical:
        instruction, _, arg = line.partition(" ")
        instruction, arg = instruction.upper(), arg.strip()
        if instruction == "FROM":
            parts = arg.split()
            assert len(parts) == 3 and parts[1].upper() == "AS", f"unnamed stage: FROM {arg}"
            base = re.sub(r"\$\{(\w+)\}", lambda m: global_args.get(m.group(1), ""), parts[0])
            current = stages[parts[2]] = Stage(parts[2], base)
        elif current is None:
            if instruction == "ARG":
                name, _, default = arg.partition("=")
                global_args[name] = default
        else:
            current.instructions.append((instruction, arg))
    return stages


def effective(stages: dict[str, Stage], stage: Stage, instruction: str) -> str | None:
    """An instruction's value in `stage`, inherited from the stage it is built FROM."""
    while True:
        value = stage.last(instruction)
        if value is not None or stage.base not in stages:
            return value
        stage = stages[stage.base]


def exec_form(value: str | None, what: str) -> list[str]:
    assert value is not None, f"no {what}"
    parsed = json.loads(value)
    assert isinstance(parsed, list), f"{what} is not in exec (JSON) form: {value}"
    return [str(a) for a in parsed]


# --- compose: commands ----------------------------------------------------------------------------


def test_every_labelwise_service_runs_a_real_subcommand() -> None:
    checked = 0
    for name, service in services().items():
        if not ours(service) or name == LOCAL_MODEL_SERVICE:
            continue
        assert "entrypoint" not in service, f"{name}: the labelwise entry point is overridden"
        assert_labelwise_argv(as_argv(service.get("command")), f"compose service {name}")
        checked += 1
    assert checked >= 3  # migrate, api, worker


def test_each_role_has_its_service() -> None:
    found = {
        name: assert_labelwise_argv(as_argv(s.get("command")), name).command
        for name, s in services().items()
        if ours(s) and name != LOCAL_MODEL_SERVICE
    }
    assert found == {"migrate": "migrate", "api": "api", "worker": "worker"}
    for name, image in THIRD_PARTY_IMAGES.items():
        assert services()[name]["image"] == image


def test_only_known_images_are_used() -> None:
    for name, service in services().items():
        assert ours(service) or THIRD_PARTY_IMAGES.get(name) == service.get("image"), (
            f"{name}: neither built from deploy/Dockerfile nor a known image"
        )


def test_the_api_listens_on_every_interface_on_its_published_port() -> None:
    api = services()["api"]
    args = assert_labelwise_argv(as_argv(api["command"]), "api")
    assert args.host == "0.0.0.0"
    assert f"{args.port}:{args.port}" in [str(p) for p in api["ports"]]


def test_workers_are_replicated_without_a_fixed_name() -> None:
    worker = services()["worker"]
    assert worker["deploy"]["replicas"] == 2
    # Two replicas registering one name in Redis would collide.
    assert assert_labelwise_argv(as_argv(worker["command"]), "worker").name is None


def test_services_that_serve_no_http_do_not_probe_healthz() -> None:
    for name in ("migrate", "worker"):
        assert services()[name].get("healthcheck", {}).get("disable") is True, name


# --- compose: order and Redis ---------------------------------------------------------------------


def test_migrations_run_once_before_api_and_workers() -> None:
    migrate = services()["migrate"]
    assert as_argv(migrate["command"]) == ["migrate"]
    assert migrate.get("restart") == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services()["postgres"]["healthcheck"]["test"]
    for name in ("api", "worker"):
        depends = services()[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert "redis" in depends, name


def test_redis_never_evicts_and_keeps_its_data() -> None:
    redis = services()["redis"]
    argv = as_argv(redis["command"])
    options = dict(zip(argv[1::2], argv[2::2], strict=False))
    assert argv[0] == "redis-server"
    assert options.get("--appendonly") == "yes"
    assert options.get("--maxmemory-policy") == "noeviction"
    assert any(str(v).endswith(":/data") for v in redis["volumes"])
    assert any(
        str(v).endswith(":/var/lib/postgresql/data") for v in services()["postgres"]["volumes"]
    )


# --- compose: the embedded model ------------------------------------------------------------------


def test_the_embedded_model_service_is_optional_and_reachable_by_workers() -> None:
    local = services()[LOCAL_MODEL_SERVICE]
    assert local["profiles"] == ["local"]
    assert local["build"]["target"] == "local"
    assert local["entrypoint"] == ["llama-server"]
    argv = as_argv(local["command"])
    options = dict(zip(argv[0::2], argv[1::2], strict=False))
    # Only flags the server is started with by `labelwise up` too.
    known = {
        a
        for a in LocalModel(Path("/s"), Path("/m")).server_argv(
            port=1, threads=1, parallel=1, context=512
        )
        if a.startswith("--")
    }
    assert {a for a in argv if a.startswith("--")} <= known
    assert options["--host"] == "0.0.0.0"
    # The model file sits where the `local` image links it.
    assert options["--model"] == "/opt/labelwise/model.gguf"
    assert options["--model"] in DOCKERFILE.read_text()
    # env.example points workers at this service and port.
    urls = [v for n, v, _ in env_example() if n == "OPENAI_BASE_URL"]
    assert f"http://{LOCAL_MODEL_SERVICE}:{options['--port']}/v1" in urls
    worker_depends = services()["worker"]["depends_on"][LOCAL_MODEL_SERVICE]
    assert worker_depends == {"condition": "service_healthy", "required": False}


# --- variables ------------------------------------------------------------------------------------


def test_every_variable_in_compose_is_one_the_code_reads() -> None:
    allowed = settings_variables() | NON_SETTINGS_VARIABLES
    named: set[str] = interpolated(compose())
    for service in services().values():
        named |= set(environment_of(service))
    assert named, "compose.yaml names no variable"
    assert named <= allowed, f"unknown variables in compose.yaml: {sorted(named - allowed)}"
    assert "LABELWISE_DATABASE_URL" in named and "LABELWISE_REDIS_URL" in named


def test_every_variable_in_env_example_is_one_the_code_reads() -> None:
    allowed = settings_variables() | NON_SETTINGS_VARIABLES
    named = {name for name, _, _ in env_example()}
    assert named <= allowed, f"unknown variables in env.example: {sorted(named - allowed)}"


def test_env_example_documents_every_setting_compose_does_not_set() -> None:
    documented = {name for name, _, _ in env_example()}
    set_by_compose = {n for s in services().values() for n in environment_of(s)}
    for name, info in Settings.model_fields.items():
        variables = (
            {c.upper() for c in info.validation_alias.choices if isinstance(c, str)}
            if isinstance(info.validation_alias, AliasChoices)
            else {f"LABELWISE_{name.upper()}"}
        )
        assert variables & (documented | set_by_compose), f"{name} is not in env.example"
    # And every variable compose substitutes is one the operator is told to set.
    missing = interpolated(compose()) - documented
    assert not missing, f"compose.yaml uses variables env.example does not describe: {missing}"


def test_services_take_their_settings_from_the_env_file() -> None:
    for name, service in services().items():
        if ours(service) and name != LOCAL_MODEL_SERVICE:
            assert service["env_file"] in (".env", [".env"]), name
    # The database gets its own variables only, not the LLM key.
    assert "env_file" not in services()["postgres"]


def test_no_secret_is_written_into_the_deployment() -> None:
    for name, service in services().items():
        for variable, value in environment_of(service).items():
            if SECRET_NAME.search(variable):
                assert INTERPOLATION.fullmatch(value), f"{name}: {variable} has a literal value"
    database_url = environment_of(services()["api"])["LABELWISE_DATABASE_URL"]
    assert "${POSTGRES_PASSWORD" in database_url
    for variable, value, commented in env_example():
        if SECRET_NAME.search(variable) and not commented:
            assert value == "", f"env.example gives {variable} a value"


# --- Dockerfile -----------------------------------------------------------------------------------


def test_the_default_image_is_the_slim_runtime() -> None:
    stages = dockerfile_stages()
    assert list(stages)[-1] == "runtime", "a build without --target must give the runtime image"
    root = stages["runtime"]
    while root.base in stages:
        root = stages[root.base]
    assert root.base == "python:3.11-slim"


@pytest.mark.parametrize("target", ["runtime", "local"])
def test_an_image_runs_labelwise_as_a_non_root_user_with_a_healthcheck(target: str) -> None:
    stages = dockerfile_stages()
    stage = stages[target]
    user = effective(stages, stage, "USER")
    assert user is not None, f"{target}: no USER, so the image runs as root"
    assert user.split(":")[0] not in ("root", "0"), f"{target}: runs as {user}"
    assert exec_form(effective(stages, stage, "ENTRYPOINT"), "ENTRYPOINT") == ["labelwise"]
    cmd = exec_form(effective(stages, stage, "CMD"), "CMD")
    args = assert_labelwise_argv(cmd, f"{target} CMD")
    assert args.command == "api" and args.host == "0.0.0.0"
    healthcheck = effective(stages, stage, "HEALTHCHECK")
    assert healthcheck is not None and healthcheck.split()[0].upper() != "NONE"
    assert f"127.0.0.1:{args.port}/healthz" in healthcheck
    assert "curl" not in healthcheck and "urllib" in healthcheck


def test_the_package_is_installed_from_this_checkout() -> None:
    stages = dockerfile_stages()
    build_runs = " ".join(a for i, a in stages["build"].instructions if i == "RUN")
    assert "pip wheel" in build_runs and '".[local]"' in build_runs
    assert "labelwise/prompts/" in build_runs  # the wheel is checked for its templates
    for target in ("runtime", "local-build"):
        runs = [a for i, a in stages[target].instructions if i == "RUN" and "pip install" in a]
        assert runs and all("--no-index" in r and "from=build" in r for r in runs), target


def test_the_local_image_builds_the_embedded_model() -> None:
    stages = dockerfile_stages()
    runs = " ".join(a for i, a in stages["local-build"].instructions if i == "RUN")
    assert "labelwise[local]" in runs and "labelwise local setup" in runs
    assert "build-essential" in runs
    assert any(i == "COPY" and "--from=local-build" in a for i, a in stages["local"].instructions)
    targets = {s["build"]["target"] for s in services().values() if ours(s)}
    assert targets <= set(stages)


def test_dockerignore_lets_in_only_what_the_build_copies() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*"
    included = {p[1:] for p in patterns if p.startswith("!")}
    copied = {
        source.rstrip("/")
        for stage in dockerfile_stages().values()
        for instruction, arg in stage.instructions
        if instruction == "COPY" and not arg.startswith("--from")
        for source in arg.split()[:-1]
    }
    assert copied and copied <= included, f"not in the build context: {copied - included}"
    assert not {p for p in included if ".env" in p or ".venv" in p or ".git" in p}
