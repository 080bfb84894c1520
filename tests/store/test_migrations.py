"""Upgrading a database that already holds data: gold is marked and calibration scheduled."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from labelwise.store.db import make_engine
from labelwise.store.migrate import upgrade


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
