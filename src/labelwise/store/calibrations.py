"""Calibrations as stored on a project version: reading one (under a row lock when routing by
it), writing a new one, and the stale mark that asks for a recalibration.

The calibration is stored, not recomputed per item: routing reads it under a row lock in the same
transaction that writes labels, so a label is never routed by a threshold that gold has already
moved. What a calibration should be is decided elsewhere (`labelwise.labeling.recalibration`).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select, update

from labelwise.domain import Calibration
from labelwise.spec import ProjectSpec
from labelwise.store.models import ProjectVersion

versions = ProjectVersion.__table__

VersionKey = tuple[int, int]


def stored_calibrations(
    connection: Connection, keys: Iterable[VersionKey], *, lock: bool = False
) -> dict[VersionKey, Calibration | None]:
    """The calibration each version routes by (None before its first gold).

    With `lock`, the rows stay locked until the transaction ends (PostgreSQL; SQLite's writers
    are serialised already), so labels are routed by the calibration that is current when they
    are written, not by one a concurrent write of gold has just replaced.
    """
    found: dict[VersionKey, Calibration | None] = {}
    for project_id, version in sorted(set(keys)):
        statement = select(versions.c.calibration).where(
            versions.c.project_id == project_id, versions.c.version == version
        )
        if lock:
            statement = statement.with_for_update()
        stored = connection.execute(statement).scalar_one_or_none()
        found[(project_id, version)] = Calibration.from_json(stored) if stored else None
    return found


def locked_calibration(
    connection: Connection, *, project_id: int, version: int
) -> Calibration | None:
    """The version's stored calibration, its row locked until the transaction ends: two
    recalibrations of one version, or a recalibration and a write of labels, take turns."""
    key = (project_id, version)
    return stored_calibrations(connection, [key], lock=True)[key]


def version_calibration(
    connection: Connection, *, project_id: int, version: int, spec: ProjectSpec
) -> Calibration | None:
    """What a version routes by: its stored calibration, or None before its first gold or when
    gold changes nothing about its routing."""
    if not spec.learns_from_gold:
        return None
    return stored_calibrations(connection, [(project_id, version)])[(project_id, version)]


def store_calibration(
    connection: Connection, *, project_id: int, version: int, calibration: Calibration
) -> None:
    """Make `calibration` the one the version routes by, and clear its stale mark."""
    connection.execute(
        update(versions)
        .where(versions.c.project_id == project_id, versions.c.version == version)
        .values(calibration=calibration.to_json(), calibration_stale=False)
    )


def mark_stale(connection: Connection, *, project_id: int, version: int) -> None:
    """A reviewer added gold: the next reconciler pass recalibrates the version."""
    connection.execute(
        update(versions)
        .where(versions.c.project_id == project_id, versions.c.version == version)
        .values(calibration_stale=True)
    )


def stale_versions(connection: Connection) -> list[tuple[int, int, ProjectSpec]]:
    """The versions marked stale, with their specs: what the reconciler recalibrates."""
    rows = connection.execute(
        select(versions.c.project_id, versions.c.version, versions.c.spec).where(
            versions.c.calibration_stale.is_(True)
        )
    ).all()
    return [(pid, version, ProjectSpec.model_validate(spec)) for pid, version, spec in rows]
