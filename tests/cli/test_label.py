"""`labelwise label`: reading input files, and the README's main job run as a user runs it."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from labelwise.cli.label import gold_report, read_items
from labelwise.spec import TaskSpec
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


def test_gold_report_compares_as_the_task_type_does(tmp_path: Path) -> None:
    """A multi-label answer is a set: the same labels in another order are right."""
    export = tmp_path / "labeled.jsonl"
    records = [
        {
            "ground_truth": ["sports", "politics"],
            "label": ["politics", "sports"],
            "prediction": {"value": ["politics", "sports"]},
        },
        {
            "ground_truth": ["tech"],
            "label": ["tech", "sports"],
            "prediction": {"value": ["sports", "tech"]},
        },
        {"ground_truth": None, "label": ["tech"], "prediction": {"value": ["tech"]}},
        {"ground_truth": ["tech"], "label": None, "prediction": {"value": ["tech"]}},
    ]
    export.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    task = TaskSpec(labels=["sports", "politics", "tech"], multi_label=True)
    assert gold_report(export, task) == (
        "gold: model right on 2/3 (67%); final labels right on 1/2 (50%)"
    )
    single = TaskSpec(labels=["sports", "tech"])
    export.write_text(
        json.dumps({"ground_truth": "tech", "label": "tech", "prediction": {"value": "sports"}})
        + "\n",
        encoding="utf-8",
    )
    assert gold_report(export, single) == (
        "gold: model right on 0/1 (0%); final labels right on 1/1 (100%)"
    )


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
