"""The package map in docs/DESIGN.md, held against the code: which layer may import which.

Imports go one way. A lower layer never imports a higher one, so the store can be read without
knowing how labels are scored, and scoring can be tested without a database. The table below is the
map; a new package must be placed in it before it can be imported from anywhere.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "labelwise"

FOUNDATION = {"errors", "spec", "task_spec", "task_values", "settings", "domain", "scrub"}

# Layer → the layers it may import (besides itself and the foundation).
MAY_IMPORT: dict[str, set[str]] = {
    "foundation": set(),
    "client": set(),
    # Metrics and logs: anything may report through it, so it knows nothing above the foundation.
    "observability": set(),
    "scoring": set(),
    "tasks": {"scoring"},
    "cost": {"tasks", "scoring"},
    "llm": {"observability"},
    "store": set(),
    "review": {"scoring", "tasks", "store"},
    "quality": {"scoring", "tasks", "store", "review", "cost"},
    "labeling": {"scoring", "tasks", "cost", "llm", "store", "review", "quality", "observability"},
    "local": {"observability"},
    "testing": {"scoring", "tasks", "cost"},
    "web": {"scoring", "tasks", "store", "review", "quality"},
    "api": {
        "scoring",
        "tasks",
        "cost",
        "llm",
        "store",
        "review",
        "quality",
        "labeling",
        "web",
        "observability",
    },
    "cli": {
        "client",
        "store",
        "labeling",
        "local",
        "api",
        "testing",
        "tasks",
        "llm",
        "observability",
    },
    "package": {"cli"},  # labelwise/__init__.py and __main__.py
}

MODULE_LIMIT_LINES = 300
FUNCTION_LIMIT_LINES = 60


def _layer(module: str) -> str:
    """`labelwise.store.gold` → `store`; top-level modules are the foundation (or the client)."""
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in {"__init__", "__main__"}:
        return "package"
    name = parts[1]
    if name in FOUNDATION:
        return "foundation"
    return name


def _source_modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        relative = path.relative_to(SRC.parent).with_suffix("")
        found.append((".".join(relative.parts), path))
    return found


def _is_module(name: str) -> bool:
    return (SRC / name).is_dir() or (SRC / f"{name}.py").is_file()


def _imports(path: Path) -> set[str]:
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("labelwise"):
            if node.module == "labelwise":  # `from labelwise import x`: x a module, or a name
                imported.update(
                    f"labelwise.{alias.name}" for alias in node.names if _is_module(alias.name)
                )
            else:
                imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported.update(a.name for a in node.names if a.name.startswith("labelwise"))
    return imported


MODULES = _source_modules()


def test_every_layer_is_on_the_map() -> None:
    layers = {_layer(module) for module, _ in MODULES}
    assert layers <= set(MAY_IMPORT), f"not on the map: {sorted(layers - set(MAY_IMPORT))}"


@pytest.mark.parametrize(("module", "path"), MODULES, ids=[m for m, _ in MODULES])
def test_imports_go_one_way(module: str, path: Path) -> None:
    here = _layer(module)
    allowed = MAY_IMPORT[here] | {here, "foundation"}
    wrong = sorted(i for i in _imports(path) if _layer(i) not in allowed and i != "labelwise")
    assert not wrong, f"{module} ({here}) may not import {wrong}"


def test_the_map_has_no_cycles() -> None:
    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for layer in MAY_IMPORT[start] - seen:
            if layer == goal or reaches(layer, goal, seen | {layer}):
                return True
        return False

    cyclic = [layer for layer in MAY_IMPORT if reaches(layer, layer, set())]
    assert not cyclic, f"layers that can reach themselves: {cyclic}"


@pytest.mark.parametrize(("module", "path"), MODULES, ids=[m for m, _ in MODULES])
def test_modules_and_functions_stay_small(module: str, path: Path) -> None:
    """Past these sizes a module holds more than one job, or a function more than one step."""
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= MODULE_LIMIT_LINES, f"{module} is over {MODULE_LIMIT_LINES}"
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > FUNCTION_LIMIT_LINES
    ]
    assert not long, f"{module}: {long}"
