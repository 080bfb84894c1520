"""The command line applies the log settings: a `labelwise` process asked for JSON at INFO
writes nothing else on stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import cli_env


def test_a_command_writes_json_lines_when_asked(tmp_path: Path, queue_name: str) -> None:
    env = cli_env(tmp_path / "labelwise.db", queue_name)
    env |= {"LABELWISE_LOG_FORMAT": "json", "LABELWISE_LOG_LEVEL": "info"}
    done = subprocess.run(
        [sys.executable, "-m", "labelwise", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    # The migration tool logs at INFO through the root logger: so it comes out as JSON too.
    assert lines, "nothing logged at INFO"
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    assert {line["level"] for line in lines} <= {"INFO", "WARNING", "ERROR"}
