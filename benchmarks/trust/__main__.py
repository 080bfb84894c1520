"""The trust suite: promises the service makes, checked against a live stack, one line of figures
each. Exits 1 when a promise breaks (0 when all hold).

    .venv/bin/python benchmarks/trust.py                        # every scenario, about 2 minutes
    .venv/bin/python benchmarks/trust.py --only spend,claims    # some of them
    .venv/bin/python benchmarks/trust.py --items 1000 --kills 10 --fuzz-examples 25

It starts its own stack as separate processes on free loopback ports: three fake LLM servers (fast;
hostile, answering 20% of requests outside the schema and 5% truncated; slow, 3 s a request), the
API and two workers (a killed worker is restarted, as `labelwise up` does), on PostgreSQL in a
schema of its own (dropped at the end), with a Redis database of its own (flushed at the end) and
a queue name of its own. Short delivery leases (10 s) and a reconciler pass every 2 s keep the
recovery scenarios inside a few minutes; the per-key request rate is raised, since most requests
come with one key (the lock-out after wrong keys keeps its default: it refuses the fuzzer's wrong
keys, never a right key from the same loopback address). `--env KEY=VALUE` sets any other setting
of the stack, e.g. a pool size a fix proposes. Every process it starts is stopped when it ends,
however it ends; the processes' logs are kept in a directory that is printed when a promise
breaks.

Scenarios (`--only` names):
  fuzz    schemathesis over the live /openapi.json with an admin key: server errors (promise: 0)
  claims  50 reviewers claim from one review queue at once: never two live claims on one item; an
          abandoned claim is claimable again within its lease + 30 s; a late submit gets 409
  corpus  200 prompt-injection items labeled (batch and synchronous): every label is in the label
          set, no 5xx, nothing left pending, the data stored as sent; labeled again by a spans
          project, every span points at its own text
  spend   concurrent batches and synchronous calls against a spend limit: what the project spent
          never passes the limit plus one reservation (the largest single request's estimate)
  load    200 concurrent mixed requests while a worker is killed: no 5xx, none unanswered within
          10 s, every item posted labeled or in review afterwards
  chaos   a 1,000-item batch, workers killed ten times and Redis flushed once: afterwards every item
          has exactly one final label or is in review, through the API and in the database
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from .chaos import scenario_chaos
from .claims import scenario_claims
from .corpus_check import scenario_corpus
from .fuzz import scenario_fuzz
from .load import scenario_load
from .report import Result, indent, log_evidence, out, print_result
from .spend import scenario_spend
from .stack import Stack, running_stack
from .storage import POSTGRES_URL

SCENARIO_FUNCTIONS: dict[str, Callable[[Stack, argparse.Namespace, Result], None]] = {
    "fuzz": scenario_fuzz,
    "claims": scenario_claims,
    "corpus": scenario_corpus,
    "spend": scenario_spend,
    "load": scenario_load,
    "chaos": scenario_chaos,
}
SCENARIOS = list(SCENARIO_FUNCTIONS)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = parser.add_argument
    add("--only", default=",".join(SCENARIOS), help="comma-separated scenarios")
    add("--items", type=int, default=1000, help="chaos: items in the batch")
    add("--kills", type=int, default=10, help="chaos: workers killed")
    add("--kill-interval", type=float, default=1.5, help="chaos: seconds apart")
    add("--settle-timeout", type=float, default=120, help="chaos: wait bound")
    add("--slow-latency-ms", type=float, default=3000, help="chaos LLM latency")
    add("--requests", type=int, default=200, help="load: concurrent requests")
    add("--claimers", type=int, default=50, help="claims: reviewers at once")
    add("--claim-items", type=int, default=80, help="claims: items in review")
    add("--spend-batches", type=float, default=6, help="spend: limit in batches")
    add("--spend-concurrency", type=int, default=10, help="spend: batches and calls at once, each")
    add("--spend-rounds", type=int, default=8, help="spend: rounds at most")
    add("--fuzz-examples", type=int, default=25, help="fuzz: per operation")
    add("--fuzz-max-time", type=int, default=150, help="fuzz: stop it after")
    add("--fuzz-phases", default="examples,coverage,fuzzing", help="fuzz: schemathesis phases")
    add("--fuzz-workers", type=int, default=2, help="fuzz: schemathesis workers")
    add("--workers", type=int, default=2)
    add("--api-rate", type=int, default=10000, help="the stack's requests per second per key")
    add("--redis-db", type=int, default=3, help="a Redis database to flush")
    add("--postgres-url", default=POSTGRES_URL)
    add("--env", action="append", default=[], metavar="KEY=VALUE", help="a setting of the stack")
    add("--keep-logs", action="store_true", help="keep the logs even if all OK")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SCENARIOS]
    if unknown:
        raise SystemExit(f"trust: unknown scenario(s) {unknown}; choose from {SCENARIOS}")
    # A SIGTERM (a cancelled CI job) unwinds like an error: every process is still stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="labelwise-trust-"))
    results, stack_error = run_all(args, chosen, workdir, started)
    elapsed = time.monotonic() - started
    if stack_error is not None:
        print_stack_failure(stack_error, workdir)
    failed = [r.name for r in results if not r.ok]
    incomplete = len(results) < len(chosen)
    if failed or incomplete or args.keep_logs:
        out(f"trust: logs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    ok = len(results) - len(failed)
    out(
        f"trust: {len(results)} scenarios, {ok} OK, {len(failed)} FAIL"
        f"{' (' + ', '.join(failed) + ')' if failed else ''}"
        f"{f', {len(chosen) - len(results)} not run' if incomplete else ''} in {elapsed:.0f}s"
    )
    return 1 if failed or incomplete else 0


def run_all(
    args: argparse.Namespace, chosen: list[str], workdir: Path, started: float
) -> tuple[list[Result], str | None]:
    """The chosen scenarios' results, in the suite's order, on one stack; and why the stack
    failed (None when it started and stopped cleanly). Results so far are kept either way."""
    results: list[Result] = []
    try:
        with running_stack(args, workdir) as stack:
            out(
                f"trust: stack  api={stack.api} db=postgresql(schema of its own) "
                f"redis_db={stack.redis_db} workers={args.workers} "
                f"up_s={time.monotonic() - started:.1f}"
            )
            for name in [s for s in SCENARIOS if s in chosen]:
                results.append(run_scenario(stack, args, name))
    except Exception as exc:  # the stack did not start, or did not stop: nothing can be trusted
        return results, f"{type(exc).__name__}: {str(exc)[:1500]}"
    except (KeyboardInterrupt, SystemExit) as exc:  # SIGINT or SIGTERM: stopped and cleaned up
        return results, f"interrupted ({type(exc).__name__}); every process stopped"
    return results, None


def print_stack_failure(stack_error: str, workdir: Path) -> None:
    """Why the stack failed, and (unless it was interrupted) the tail of each process's log."""
    out(f"trust: stack  FAIL  {stack_error}")
    for log in sorted(workdir.glob("*.log")) if "interrupted" not in stack_error else []:
        tail = log.read_text(errors="replace").strip().splitlines()[-12:]
        if tail:
            out(indent("\n".join(tail), f"trust:   | {log.name}: "))


def run_scenario(stack: Stack, args: argparse.Namespace, name: str) -> Result:
    """One scenario, printed as it ends. An exception breaks it (not the suite); so does a
    restart of any process but the workers the scenarios kill on purpose."""
    result = Result(name)
    begun = time.monotonic()
    api_mark = stack.logs["api"].mark()
    try:
        SCENARIO_FUNCTIONS[name](stack, args, result)
    except Exception as exc:  # the scenario could not go on: that breaks it
        result.promise(False, f"the scenario ran to its end ({type(exc).__name__})")
        result.evidence.append(f"{type(exc).__name__}: {str(exc)[:1500]}")
        log_evidence(result, "api", stack.logs["api"], api_mark)
    result.seconds = time.monotonic() - begun
    result.figures["s"] = round(result.seconds, 1)
    restarts = {c.name: c.restarts for c in stack.group.children if c.restarts}
    if any(not n.startswith("worker") for n in restarts):
        result.promise(False, f"no process but the killed workers restarted: {restarts}")
    print_result(result)
    return result


if __name__ == "__main__":
    sys.exit(main())
