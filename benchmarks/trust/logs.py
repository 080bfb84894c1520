"""The children's logs: each process's output appended to a file of its own across restarts, and
read back from a mark, so that a scenario quotes only what was written while it ran.

The files outlive the stack: the run loop keeps them (and prints where) when a promise breaks.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

_RECORD_START = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d|ERROR:|WARNING:|INFO:|labelwise:)")
_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ ")


def logged_argv(log: Path, argv: list[str]) -> list[str]:
    """Run `argv` with its output appended to `log` (exec: the pid stays the program's, so a
    SIGKILL reaches the program itself)."""
    return ["sh", "-c", 'exec "$@" >>"$0" 2>&1', str(log), *argv]


class LogFile:
    """A child's output, appended across restarts; read back by offset for a scenario's window."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def mark(self) -> int:
        return self.path.stat().st_size if self.path.exists() else 0

    def since(self, mark: int) -> str:
        if not self.path.exists():
            return ""
        with self.path.open("rb") as f:
            f.seek(mark)
            return f.read().decode("utf-8", "replace")

    def problems(self, mark: int) -> tuple[Counter[str], list[str]]:
        """Tracebacks by their last line, warnings by message; and the first traceback whole."""
        counts: Counter[str] = Counter()
        examples: list[str] = []
        for record in _records(self.since(mark)):
            body = [line for line in record if line.strip()]
            if not body:
                continue
            head = _TIMESTAMP.sub("", body[0]).strip()
            if any("Traceback (most recent call last)" in line for line in body):
                counts[f"{head[:60]} -> {body[-1].strip()[:240]}"] += 1
                if not examples:
                    examples.append("\n".join([head, "...", *body[-16:]]))
            elif re.search(r"warn|error|exception|exited", head, re.IGNORECASE):
                counts[head[:240]] += 1
        return counts, examples


def _records(text: str) -> list[list[str]]:
    """The log's lines grouped into records: a record starts with a timestamp or a level, and the
    lines after it (a traceback's) belong to it."""
    records: list[list[str]] = []
    for line in text.splitlines():
        if _RECORD_START.match(line) or not records:
            records.append([line])
        else:
            records[-1].append(line)
    return records
