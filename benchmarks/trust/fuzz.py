"""The fuzz scenario: schemathesis over the live /openapi.json with an admin key of a team of its
own. Promise: no server error (a 5xx, or no answer) on any operation, and another team's key still
works afterwards.

What the API answered is counted from its /metrics; what failed, from schemathesis's JUnit report.
An error inside schemathesis or hypothesis (generating a case) is noted but breaks nothing: it
says nothing about the API.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from labelwise.store.keys import Role, create_key

from .api_client import Api
from .corpus import review_items
from .report import Result, indent, log_evidence
from .settling import wait_settled
from .stack import Stack
from .storage import FUZZ_TEAM

_API_TROUBLE = re.compile(r"network error|timed out|timeout|connection|server error", re.I)


@dataclass
class FuzzRun:
    exit_code: int | str  # "timeout" when it was stopped
    answered: Counter[str]  # the API's responses during the run, by "status method route"
    operations: int
    failures: list[tuple[str, str]]  # (operation, what failed): the API's doing
    tool_errors: list[tuple[str, str]]  # (operation, schemathesis's own error)

    @property
    def server_errors(self) -> Counter[str]:
        return Counter({k: n for k, n in self.answered.items() if k.startswith("5")})


def scenario_fuzz(stack: Stack, args: argparse.Namespace, result: Result) -> None:
    """schemathesis over the live schema with an admin key of a team of its own."""
    binary = _schemathesis_binary()
    if binary is None:
        result.figures["schemathesis"] = "missing"
        result.promise(False, "schemathesis is not installed (pip install schemathesis)")
        return
    api = Api(stack.api)
    config = _write_config(stack, api)
    junit = stack.workdir / "schemathesis-junit.xml"
    log_path = stack.workdir / "schemathesis.log"
    before = stack.metrics_statuses()
    mark = stack.logs["api"].mark()
    code = _run_schemathesis(_command(binary, config, junit, stack, args), log_path, stack, args)
    run = FuzzRun(code, stack.metrics_statuses() - before, *junit_failures(junit))
    by_class: Counter[str] = Counter()
    for k, n in run.answered.items():
        by_class[k[0] + "xx"] += n
    server_errors = sum(run.server_errors.values())
    result.figures.update(
        {
            "operations": run.operations,
            "examples_per_op": args.fuzz_examples,
            "requests": sum(run.answered.values()),
            "answered": ",".join(f"{k}:{v}" for k, v in sorted(by_class.items())),
            "server_errors": server_errors,
            "failing_ops": len(run.failures),
            "tool_errors": len(run.tool_errors),
            "schemathesis_exit": code,
        }
    )
    result.promise(server_errors == 0 and not run.failures, "no server error under fuzzing")
    others = api.call("GET", "/v1/projects", stack.admin).status_code
    result.figures["other_team_key"] = others
    result.promise(others == 200, "another team's key still works after fuzzing")
    if code == "timeout":
        result.promise(False, "schemathesis finished within its time")
    _record_evidence(result, run, stack, mark, log_path)


def _schemathesis_binary() -> Path | None:
    binary = Path(sys.executable).with_name("schemathesis")
    if binary.exists():
        return binary
    found = shutil.which("schemathesis")
    return Path(found) if found is not None else None


def _write_config(stack: Stack, api: Api) -> Path:
    """Real ids for the path parameters, so generated requests reach the handlers instead of
    answering 404: a project of the fuzzing team, a batch of it, an item waiting in review, and
    a key for the fuzzer to revoke and rotate (not the one it calls with)."""
    project_id = api.project(
        stack.fuzz_admin, "trust-fuzz", routing={"accept_threshold": 1.0}, result_cache="off"
    )
    batch_id = api.batch(stack.fuzz_admin, project_id, review_items("fuzz", range(20)))
    wait_settled(stack, api, [batch_id], timeout=60, key=stack.fuzz_admin)
    item_id = api.items(stack.fuzz_admin, batch_id)[0]["id"]
    with Session(stack.engine) as session:
        create_key(session, name="trust-fuzz-victim", role=Role.SUBMITTER, team=FUZZ_TEAM)
    with stack.engine.connect() as connection:
        victim_id = connection.execute(
            text("SELECT id FROM api_keys WHERE name = 'trust-fuzz-victim'")
        ).scalar_one()
    config = stack.workdir / "schemathesis.toml"
    config.write_text(
        "[cache]\nenabled = false\n\n[parameters]\n"
        f"project_id = {project_id}\nbatch_id = {batch_id}\nitem_id = {item_id}\n"
        f'key_id = {victim_id}\n"body.project_id" = {project_id}\n'
    )
    return config


def _command(
    binary: Path, config: Path, junit: Path, stack: Stack, args: argparse.Namespace
) -> list[str]:
    return [
        str(binary),
        *("--config-file", str(config), "run", f"{stack.api}/openapi.json"),
        *("--checks", "not_a_server_error"),
        *("--header", f"Authorization: Bearer {stack.fuzz_admin}"),
        *("--max-examples", str(args.fuzz_examples)),
        *("--phases", args.fuzz_phases),
        *("--seed", "1"),
        *("--workers", str(args.fuzz_workers)),
        *("--request-timeout", "30"),
        "--continue-on-failure",
        "--no-shrink",
        *("--generation-with-security-parameters", "false"),
        *("--report", "junit", "--report-junit-path", str(junit)),
    ]


def _run_schemathesis(
    command: list[str], log_path: Path, stack: Stack, args: argparse.Namespace
) -> int | str:
    """Its exit code, or "timeout" when it ran past --fuzz-max-time."""
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NO_COLOR": "1"},
            cwd=stack.workdir,  # whatever it writes stays out of the repository
            start_new_session=True,
        )
        try:
            return process.wait(timeout=args.fuzz_max_time)
        except subprocess.TimeoutExpired:
            return "timeout"
        finally:  # on a timeout, an error or a SIGTERM to us alike: never leave it running
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _record_evidence(result: Result, run: FuzzRun, stack: Stack, mark: int, log_path: Path) -> None:
    for route, n in run.server_errors.most_common():
        result.evidence.append(f"API answered {n}x {route}")
    for name, message in run.failures[:8]:
        result.evidence.append(f"schemathesis: {name}: {message}")
    if run.server_errors:
        log_evidence(result, "api", stack.logs["api"], mark)
    for name, message in run.tool_errors[:4]:
        result.notes.append(f"schemathesis's own error (not the API's): {name}: {message[:200]}")
    quiet = not run.failures and not run.server_errors and not run.tool_errors
    if quiet and run.exit_code not in (0, "timeout"):
        tail = log_path.read_text(errors="replace").strip().splitlines()[-15:]
        result.evidence.append("schemathesis output (tail):\n" + indent("\n".join(tail)))
    result.evidence.append(f"schemathesis log: {log_path}")


def junit_failures(path: Path) -> tuple[int, list[tuple[str, str]], list[tuple[str, str]]]:
    """(operations tested, [(operation, its failure)], [(operation, the tool's own error)]).
    A check that failed, or an error talking to the API, is a failure; an error inside
    schemathesis or hypothesis (generating a case) says nothing about the API."""
    if not path.exists():
        return 0, [], []
    cases = list(ET.parse(path).getroot().iter("testcase"))
    failures, tool_errors = [], []
    for case in cases:
        for kind in ("failure", "error"):
            for element in case.findall(kind):
                message = (element.get("message") or element.text or "").strip()
                lines = [line.strip() for line in message.splitlines() if line.strip()]
                entry = (case.get("name", "?"), " | ".join(lines[:6])[:400])
                if kind == "failure" or _API_TROUBLE.search(" ".join(lines[:3])):
                    failures.append(entry)
                else:
                    tool_errors.append(entry)
    return len(cases), failures, tool_errors
