"""`labelwise label`: reading input files, and the README's main job run as a user runs it."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from labelwise.cli.label import read_items
from tests.conftest import cli_env

ROOT = Path(__file__).resolve().parents[2]


def test_read_items_from_flat_jsonl_and_csv(tmp_path: Path) -> None:
    flat = tmp_path / "items.jsonl"
    flat.write_text(
        '{"id": 7, "text": "a", "label": "x", "lang": "en"}\n\n'
        '{"external_id": "e", "data": {"text": "b"}}\n'
    )
    assert read_items(flat) == [
        {"external_id": "7", "ground_truth": "x", "data": {"text": "a", "lang": "en"}},
        {"external_id": "e", "data": {"text": "b"}},
    ]
    table = tmp_path / "items.csv"
    table.write_text('id,text,label\n1,"hello, world",\n2,bye,neg\n')
    assert read_items(table) == [
        {"external_id": "1", "data": {"text": "hello, world"}},
        {"external_id": "2", "ground_truth": "neg", "data": {"text": "bye"}},
    ]


def test_label_command_runs_the_sample_end_to_end(tmp_path: Path, queue_name: str) -> None:
    sample = tmp_path / "news.jsonl"
    lines = (ROOT / "examples/news/items.jsonl").read_text(encoding="utf-8").splitlines()[:30]
    sample.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "labeled.jsonl"
    env = cli_env(tmp_path / "label.db", queue_name)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "labelwise",
            "label",
            str(sample),
            "--project",
            str(ROOT / "examples/news/project.json"),
            "--out",
            str(out),
            "--fake-llm",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["external_id"] for r in records] == [json.loads(line)["id"] for line in lines]
    assert all(r["status"] in ("accepted", "review") for r in records)
    assert "30/30" in result.stderr and "gold: model right on" in result.stderr
    # The admin key the run minted for its own stack is revoked once the run is over.
    with sqlite3.connect(tmp_path / "label.db") as db:
        minted = db.execute("SELECT name, revoked_at FROM api_keys").fetchall()
    assert [name for name, _ in minted] == ["labelwise-label"]
    assert all(revoked_at is not None for _, revoked_at in minted)


def test_label_command_without_an_endpoint_says_what_to_do(tmp_path: Path, queue_name: str) -> None:
    # Wherever the embedded model is installed, point at a server binary that is not there.
    env = {**cli_env(tmp_path / "x.db", queue_name), "LABELWISE_LLAMA_SERVER": "/nonexistent"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "labelwise",
            "label",
            str(ROOT / "examples/news/items.jsonl"),
            "--project",
            str(ROOT / "examples/news/project.json"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode != 0
    assert "no LLM endpoint configured" in result.stderr and "--fake-llm" in result.stderr
    assert "labelwise local setup" in result.stderr
