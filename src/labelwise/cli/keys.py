"""`labelwise keys create|list|revoke|rotate`: the operator's hand on API keys, any team's,
straight on the store (no API has to run). Commands that make a key print it as their last line,
so scripts can take it with `tail -n 1`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TextIO

from sqlalchemy.orm import Session

from labelwise.errors import ConflictError, NotFoundError
from labelwise.settings import Settings
from labelwise.store import keys as store
from labelwise.store.keys import IssuedKey, KeyRecord, Role
from labelwise.store.models import utcnow


@contextmanager
def key_store(settings: Settings) -> Iterator[Session]:
    """A session on an up-to-date store, for one command."""
    from labelwise.store.db import engine_for
    from labelwise.store.migrate import upgrade

    engine = engine_for(settings)
    try:
        upgrade(engine)
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def issue(
    settings: Settings, *, name: str, role: Role, team: str, expires_at: datetime | None = None
) -> IssuedKey:
    with key_store(settings) as session:
        return store.issue_key(session, name=name, role=role, team=team, expires_at=expires_at)


def revoke(settings: Settings, key_id: int) -> KeyRecord:
    with key_store(settings) as session:
        return store.revoke_key(session, key_id=key_id)


def key_status(record: KeyRecord, now: datetime) -> str:
    if record.revoked_at is not None:
        return "revoked"
    if record.expires_at is not None and record.expires_at <= now:
        return "expired"
    return "active"


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"


def format_keys(records: list[KeyRecord], now: datetime) -> list[str]:
    rows = [("ID", "TEAM", "NAME", "ROLE", "PREFIX", "CREATED", "EXPIRES", "STATUS")]
    rows += [
        (
            str(r.id),
            r.team,
            r.name,
            r.role.value,
            r.prefix,
            _when(r.created_at),
            _when(r.expires_at),
            key_status(r, now),
        )
        for r in records
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def run_keys(settings: Settings, args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    command = args.keys_command
    try:
        if command == "create":
            expires_at = (
                utcnow() + timedelta(days=args.expires_in_days) if args.expires_in_days else None
            )
            issued = issue(
                settings,
                name=args.name,
                role=Role(args.role),
                team=args.team,
                expires_at=expires_at,
            )
            until = f", expiring {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else ""
            print(f"created {args.role} key {args.name!r} for team {args.team!r}{until}", file=out)
            print(issued.secret, file=out)
        elif command == "list":
            with key_store(settings) as session:
                records = store.list_keys(session, team=args.team)
            for line in format_keys(records, utcnow()):
                print(line, file=out)
        elif command == "revoke":
            record = revoke(settings, args.id)
            print(f"revoked key {record.id} {record.name!r} of team {record.team!r}", file=out)
        else:
            with key_store(settings) as session:
                issued = store.rotate_key(session, key_id=args.id)
            new = issued.record
            print(
                f"rotated key {args.id} {new.name!r} of team {new.team!r}: the new key is "
                f"{new.id}, the old one is revoked",
                file=out,
            )
            print(issued.secret, file=out)
    except (NotFoundError, ConflictError) as exc:
        raise SystemExit(f"labelwise: {exc.message}") from None
    return 0
