"""The stack's own storage, so that the suite can run beside anything else on the same servers:
a PostgreSQL schema made for the run and dropped after it, a Redis database that was empty (the
chaos scenario flushes it, and so does the end of the run), and the store's tables and API keys
inside them. It must never touch another schema or a Redis database that holds keys.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import redis
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from labelwise.store.db import make_engine
from labelwise.store.keys import Role, create_key
from labelwise.store.migrate import upgrade

POSTGRES_URL = os.environ.get(
    "LABELWISE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TEAM = "trust"
FUZZ_TEAM = "trust-fuzz"


@contextlib.contextmanager
def own_schema(postgres_url: str) -> Iterator[str]:
    """A new schema's name; the schema is dropped, with all in it, when the block ends."""
    schema = f"lw_trust_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin_engine = make_engine(postgres_url)
    try:
        with admin_engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield schema
    finally:
        with contextlib.suppress(Exception), admin_engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin_engine.dispose()


def database_url(postgres_url: str, schema: str, application: str) -> str:
    """The URL of `schema`; application_name tells the API's connections from the workers' in
    pg_stat_activity."""
    return f"{postgres_url}?options=-csearch_path%3D{schema}&application_name={application}"


@dataclass(frozen=True)
class RedisDatabase:
    number: int
    client: redis.Redis

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:6379/{self.number}"


@contextlib.contextmanager
def own_redis_db(preferred: int) -> Iterator[RedisDatabase]:
    """An empty Redis database, flushed when the block ends."""
    number = pick_redis_db(preferred)
    database = RedisDatabase(number, redis.Redis.from_url(f"redis://127.0.0.1:6379/{number}"))
    try:
        yield database
    finally:
        with contextlib.suppress(Exception):
            database.client.flushdb()


def pick_redis_db(preferred: int) -> int:
    """`preferred` if it is empty, else the first empty database from 3 to 15: FLUSHDB on it must
    touch nobody else's keys."""
    for db in [preferred, *range(3, 16)]:
        if redis.Redis(host="127.0.0.1", port=6379, db=db).dbsize() == 0:
            return db
    raise SystemExit("trust: no empty Redis database among 3-15 to flush safely")


@dataclass(frozen=True)
class Keys:
    admin: str  # the scenarios' admin, of TEAM
    fuzz_admin: str  # the fuzzer's admin, of a team of its own: what it breaks stays there
    reviewers: list[str]  # of TEAM


def prepare_store(engine: Engine, *, reviewers: int) -> Keys:
    """Bring the schema to the newest tables (as `labelwise migrate` does) and issue the keys."""
    upgrade(engine)
    with Session(engine) as session:
        return Keys(
            admin=create_key(session, name="trust-admin", role=Role.ADMIN, team=TEAM),
            fuzz_admin=create_key(session, name="trust-fuzz", role=Role.ADMIN, team=FUZZ_TEAM),
            reviewers=[
                create_key(session, name=f"reviewer-{n}", role=Role.REVIEWER, team=TEAM)
                for n in range(reviewers)
            ],
        )
