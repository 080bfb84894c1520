"""The one place that knows which SQL dialect speaks `INSERT ... ON CONFLICT DO NOTHING`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def insert_ignoring_conflicts(connection: Connection, table: Table, **constraint: Any) -> Any:
    """An INSERT that skips rows violating a unique constraint (both dialects support it)."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing(**constraint)
