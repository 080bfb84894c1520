"""Upgrading a database that already holds data: gold is marked and calibration scheduled; a
prediction's parts come and go with their migration on both stores."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Connection, Engine, insert, inspect, select, text

from labelwise.store.db import make_engine
from labelwise.store.migrate import alembic_config, upgrade
from labelwise.store.models import Prediction
from tests.conftest import POSTGRES_URL


def test_upgrade_from_the_first_schema_marks_existing_gold(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0001")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO projects (id, team, name, current_version, created_at, updated_at) "
                "VALUES (1, 't', 'p', 1, '2026-01-01', '2026-01-01')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO project_versions (id, project_id, version, spec, created_at) "
                "VALUES (1, 1, 1, '{}', '2026-01-01')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO batches (id, project_id, team, received, created, created_at) "
                "VALUES (1, 1, 't', 3, 3, '2026-01-01')"
            )
        )
        for item_id, truth, status in [
            (1, '"a"', "accepted"),
            (2, "null", "reviewed"),  # an absent truth, as the first schema wrote it
            (3, "null", "review"),
        ]:
            connection.execute(
                text(
                    "INSERT INTO items (id, project_id, batch_id, data, ground_truth, status, "
                    "deliveries, claim_fence, created_at) "
                    "VALUES (:id, 1, 1, '{}', :truth, :status, 0, 0, '2026-01-01')"
                ),
                {"id": item_id, "truth": truth, "status": status},
            )
    upgrade(engine)
    with engine.begin() as connection:
        gold = dict(connection.execute(text("SELECT id, gold FROM items")).all())
        stale = connection.execute(text("SELECT calibration_stale FROM project_versions")).scalar()
    assert gold == {1: True, 2: True, 3: False}
    with engine.begin() as connection:
        absent = connection.execute(text("SELECT count(*) FROM items WHERE ground_truth IS NULL"))
        assert absent.scalar() == 2
    assert stale
    engine.dispose()


def _one_item(connection: Connection) -> None:
    for statement in (
        "INSERT INTO projects (id, team, name, current_version, created_at, updated_at) "
        "VALUES (1, 't', 'p', 1, '2026-01-01', '2026-01-01')",
        "INSERT INTO project_versions (id, project_id, version, spec, created_at) "
        "VALUES (1, 1, 1, '{}', '2026-01-01')",
        "INSERT INTO batches (id, project_id, team, received, created, created_at) "
        "VALUES (1, 1, 't', 1, 1, '2026-01-01')",
        "INSERT INTO items (id, project_id, batch_id, data, status, deliveries, claim_fence, "
        "created_at) VALUES (1, 1, 1, '{}', 'review', 0, 0, '2026-01-01')",
    ):
        connection.execute(text(statement))


def _prediction_columns(engine: Engine) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns("predictions")}


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database of each kind (PostgreSQL: a schema of its own)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'parts.db'}")
        yield engine
        engine.dispose()
        return
    schema = f"lw_mig_{uuid.uuid4().hex[:8]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(f"{POSTGRES_URL}?options=-csearch_path%3D{schema}")
    yield engine
    engine.dispose()
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def test_prediction_parts_upgrade_and_downgrade(empty_database: Engine) -> None:
    engine = empty_database
    upgrade(engine, "0008")
    assert not {"parts", "review_reason"} & _prediction_columns(engine)
    upgrade(engine, "0009")
    assert {"parts", "review_reason"} <= _prediction_columns(engine)
    with engine.begin() as connection:
        _one_item(connection)
        connection.execute(
            insert(Prediction.__table__).values(
                id=1,
                item_id=1,
                batch_id=1,
                version=1,
                method="logprob",
                model="m",
                parts=[{"start": 0, "end": 2, "confidence": 0.5}],
                review_reason="span_not_found",
            )
        )
        stored = connection.execute(select(Prediction.parts, Prediction.review_reason)).one()
    assert stored == ([{"start": 0, "end": 2, "confidence": 0.5}], "span_not_found")
    command.downgrade(alembic_config(engine), "0008")
    assert not {"parts", "review_reason"} & _prediction_columns(engine)
    upgrade(engine)
    assert {"parts", "review_reason"} <= _prediction_columns(engine)
