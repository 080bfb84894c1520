"""Engines and sessions for SQLite (the default) and PostgreSQL (production).

SQLite gets WAL, a busy timeout and `BEGIN IMMEDIATE` transactions: a deferred transaction that
reads and then writes can fail with SQLITE_BUSY at once, whatever the timeout, so every
transaction that may write takes the write lock up front and waits its turn. Reads go through
`read_only(engine)`, whose deferred transactions never wait for a writer (WAL gives them a
snapshot), so a large ingest does not hold up key checks, progress polls or exports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from labelwise.settings import Settings

SQLITE_BUSY_TIMEOUT_MS = 30_000
READ_ONLY_OPTION = "labelwise_read_only"


def normalize_database_url(url: str) -> str:
    """Accept the usual `postgresql://` spelling and use the psycopg 3 driver for it."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


@dataclass(frozen=True)
class PoolSettings:
    """A PostgreSQL connection pool's bounds (SQLite's pool is SQLAlchemy's own). `timeout_seconds`
    is how long a request waits for a connection before the API answers 503: short, so overload
    is told at once instead of stalling every caller."""

    size: int = 10
    max_overflow: int = 30
    timeout_seconds: float = 5.0


def engine_for(settings: Settings) -> Engine:
    """The engine an entry point (API, worker, CLI) uses, sized by its settings."""
    return make_engine(
        settings.database_url,
        pool=PoolSettings(
            size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            timeout_seconds=settings.db_pool_timeout_seconds,
        ),
    )


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, *, pool: PoolSettings | None = None, **kwargs: Any) -> Engine:
    """An engine whose errors never carry their SQL parameters (item text, claim tokens and key
    hashes would otherwise reach the logs), and whose pool waits a bounded time."""
    url = normalize_database_url(url)
    kwargs.setdefault("hide_parameters", True)
    if make_url(url).get_backend_name() != "sqlite":
        pool = pool or PoolSettings()
        return create_engine(
            url,
            pool_pre_ping=True,
            pool_size=pool.size,
            max_overflow=pool.max_overflow,
            pool_timeout=pool.timeout_seconds,
            **kwargs,
        )
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        **kwargs,
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy's "begin" event below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY_OPTION, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def read_only(engine: Engine) -> Engine:
    """The same engine and pool, for transactions that only read."""
    return engine.execution_options(**{READ_ONLY_OPTION: True})


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
