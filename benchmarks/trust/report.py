"""What a scenario found, and how it is printed: one `trust:` line of figures whatever the outcome,
then the promises broken and the evidence a reader needs to look into them without a rerun.

Nothing here talks to the stack: scenarios fill a `Result`, the run loop prints it.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .api_client import Outcome
from .logs import LogFile


def out(line: str) -> None:
    """Print at once: CI shows each scenario's line as it ends, not when the suite does."""
    print(line, flush=True)


@dataclass
class Result:
    name: str
    figures: dict[str, Any] = field(default_factory=dict)
    broken: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    # Printed whatever the outcome: what a reader should know that breaks no promise.
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def promise(self, holds: bool, what: str) -> None:
        if not holds:
            self.broken.append(what)

    @property
    def ok(self) -> bool:
        return not self.broken

    def line(self) -> str:
        figures = " ".join(f"{k}={format_figure(v)}" for k, v in self.figures.items())
        return f"trust: {self.name:<7} {figures}  {'OK' if self.ok else 'FAIL'}"


def format_figure(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) < 0.01 else f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


def print_result(result: Result) -> None:
    """The figures line, the notes; the broken promises and, when any broke, the evidence."""
    out(result.line())
    for note in result.notes:
        out(f"trust:   note: {note}")
    for broken in result.broken:
        out(f"trust:   broken: {broken}")
    if not result.ok:
        for line in result.evidence:
            out(indent(line, "trust:   | "))


def indent(block: str, prefix: str = "        ") -> str:
    return "\n".join(prefix + line for line in block.splitlines())


def log_evidence(result: Result, name: str, log: LogFile, mark: int, limit: int = 6) -> None:
    """What a process logged since `mark` that looks like trouble, counted, with the first
    traceback whole."""
    counts, examples = log.problems(mark)
    for what, n in counts.most_common(limit):
        result.evidence.append(f"{name} log: {n}x {what}")
    for example in examples[:1]:
        result.evidence.append(f"{name} log, first traceback:\n" + indent(example))


def failures_evidence(result: Result, outcomes: list[Outcome], limit: int = 4) -> None:
    """The first few 5xx and unanswered requests, with what they answered."""
    shown: Counter[str] = Counter()
    for o in outcomes:
        if o.status is not None and o.status < 500:
            continue
        what = f"{o.kind} {o.status or o.error}"
        shown[what] += 1
        if shown[what] <= 1 and sum(1 for v in shown.values() if v) <= limit:
            result.evidence.append(
                f"request {o.kind}: {o.status or o.error} after {o.seconds:.1f}s: "
                f"{json.dumps(o.body)[:300] if o.body is not None else ''}"
            )


def status_counts(outcomes: list[Outcome]) -> str:
    """`200:8,402:28`: how many requests answered each status (or failed with each error)."""
    counts = Counter(str(o.status if o.status is not None else o.error) for o in outcomes)
    return ",".join(f"{k}:{v}" for k, v in sorted(counts.items()))
