"""Running the fake LLM: in the foreground (`serve`, `main`) or on a thread for tests.

This module owns the uvicorn settings (httptools + uvloop, no access log, no per-response Date or
Server header: the fake must stay cheap next to the system it benchmarks) and the command line.
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import uvicorn

from labelwise.testing.fake_llm.app import create_app
from labelwise.testing.fake_llm.config import FakeLLMConfig

_UVICORN: dict[str, Any] = {
    "loop": "uvloop",
    "http": "httptools",
    "access_log": False,
    "server_header": False,
    "date_header": False,
    "log_level": "warning",
    # A benchmark opens many connections at once; the default backlog is fine, but keep-alive
    # must outlast the client's pauses between batches so connections are reused.
    "timeout_keep_alive": 30,
}


def serve(config: FakeLLMConfig, host: str = "127.0.0.1", port: int = 8089) -> None:
    """Serve until SIGINT/SIGTERM."""
    uvicorn.run(create_app(config), host=host, port=port, **_UVICORN)


@contextmanager
def running_fake_llm(
    config: FakeLLMConfig | None = None, port: int = 0, host: str = "127.0.0.1"
) -> Iterator[str]:
    """A fake LLM on a background thread for the duration of the block; yields its base URL
    (`http://127.0.0.1:PORT/v1`). Port 0 picks a free port."""
    with serving_app(create_app(config), port=port, host=host, name="fake-llm") as url:
        yield url


@contextmanager
def serving_app(app: Any, *, port: int = 0, host: str = "127.0.0.1", name: str) -> Iterator[str]:
    """Any ASGI `app` on a background thread for the block (the fake, or a proxy in front of
    it); yields its `/v1` base URL. Port 0 picks a free port."""
    # Bind here rather than in uvicorn so the port is known before the server starts, with no
    # window in which another process could take it.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound = sock.getsockname()[1]
    # log_config=None: leave the host process's logging (pytest's, the CLI's) alone.
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="off", **_UVICORN))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"{name}-{bound}", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the {name} server did not start")
            time.sleep(0.005)
        yield f"http://{host}:{bound}/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def build_parser() -> argparse.ArgumentParser:
    defaults = FakeLLMConfig()
    parser = argparse.ArgumentParser(
        prog="labelwise fake-llm",
        description="An OpenAI-compatible fake LLM for tests and benchmarks (never a real model).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    _add_fault_options(parser, defaults)
    _add_answer_options(parser, defaults)
    return parser


def _add_fault_options(parser: argparse.ArgumentParser, defaults: FakeLLMConfig) -> None:
    """How slow and how unreliable the fake is: latency, its own rate limit, injected failures."""
    add = parser.add_argument
    add("--latency-ms", type=float, default=defaults.latency_ms, help="delay per request")
    add(
        "--requests-per-second",
        type=float,
        default=defaults.requests_per_second,
        help="the fake's own rate limit, told in x-ratelimit-* headers (0: none)",
    )
    add("--rate-429", type=float, default=defaults.rate_429, help="share answered 429")
    add(
        "--retry-after-seconds",
        type=float,
        default=defaults.retry_after_seconds,
        help="wait advertised on 429s",
    )
    add("--rate-500", type=float, default=defaults.rate_500, help="share answered 500")
    add(
        "--rate-truncate",
        type=float,
        default=defaults.rate_truncate,
        help="share cut in half (finish_reason length)",
    )
    add(
        "--rate-invalid",
        type=float,
        default=defaults.rate_invalid,
        help="share answered with JSON that breaks the schema",
    )
    add(
        "--rate-drop-item",
        type=float,
        default=defaults.rate_drop_item,
        help="share of items left out of an answer about several items",
    )


def _add_answer_options(parser: argparse.ArgumentParser, defaults: FakeLLMConfig) -> None:
    """What the answers look like: logprobs, their alternatives, and how often they are right."""
    add = parser.add_argument
    add(
        "--logprobs",
        action=argparse.BooleanOptionalAction,
        default=defaults.logprobs,
        help="return logprobs when asked",
    )
    add(
        "--junk-alternatives",
        action=argparse.BooleanOptionalAction,
        default=defaults.junk_alternatives,
        help="mix tokens outside the schema into top_logprobs",
    )
    add("--seed", type=int, default=defaults.seed)
    add(
        "--accuracy-hint",
        type=float,
        default=defaults.accuracy_hint,
        help="probability of a label the item text names",
    )
    add(
        "--confidence-spread",
        type=float,
        default=defaults.confidence_spread,
        help="how far below the hint a named label's probability may fall, per item",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = FakeLLMConfig(
            latency_ms=args.latency_ms,
            requests_per_second=args.requests_per_second,
            rate_429=args.rate_429,
            retry_after_seconds=args.retry_after_seconds,
            rate_500=args.rate_500,
            rate_truncate=args.rate_truncate,
            rate_invalid=args.rate_invalid,
            rate_drop_item=args.rate_drop_item,
            logprobs=args.logprobs,
            junk_alternatives=args.junk_alternatives,
            seed=args.seed,
            accuracy_hint=args.accuracy_hint,
            confidence_spread=args.confidence_spread,
        )
    except ValueError as exc:
        print(f"labelwise fake-llm: {exc}", file=sys.stderr)
        return 2
    print(f"fake LLM serving http://{args.host}:{args.port}/v1", file=sys.stderr, flush=True)
    serve(config, host=args.host, port=args.port)
    return 0
