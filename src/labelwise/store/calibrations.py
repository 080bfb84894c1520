"""Calibrations: what gold says of a project version (the threshold a target precision routes by
and, with consensus, the score to route by), stored on the version.

The calibration is stored, not recomputed per item: routing reads it under a row lock in the same
transaction that writes labels, so a label is never routed by a threshold that gold has already
moved. When it moves, the items the model labeled under the old one are routed again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from sqlalchemy import Connection, select, update

from labelwise.quality.metrics import scored
from labelwise.scoring.calibration import Calibration, choose_threshold
from labelwise.scoring.consensus import best_separating, choose_method
from labelwise.spec import ProjectSpec
from labelwise.store.gold import gold_by_method, gold_records
from labelwise.store.models import ProjectVersion
from labelwise.store.reroute import apply_method, reroute

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


def version_calibration(
    connection: Connection, *, project_id: int, version: int, spec: ProjectSpec
) -> Calibration | None:
    """What a version routes by: its stored calibration, or None before its first gold or when
    gold changes nothing about its routing."""
    if not spec.learns_from_gold:
        return None
    return stored_calibrations(connection, [(project_id, version)])[(project_id, version)]


def refresh_calibration(
    connection: Connection, *, project_id: int, version: int, spec: ProjectSpec
) -> Calibration | None:
    """Calibrate the version on its gold as it stands, store the result, and route again the
    model-labeled items it concerns if the threshold (or, with consensus, the scoring method)
    changed. None when there is nothing to calibrate: a fixed threshold and no consensus."""
    consensus = spec.consensus
    target = spec.routing.target_precision
    if not spec.learns_from_gold:
        return None
    before = stored_calibrations(connection, [(project_id, version)], lock=True)[
        (project_id, version)
    ]
    method: str | None = None
    if consensus.enabled:
        by_method = gold_by_method(connection, project_id=project_id, version=version)
        if by_method:
            learned = (
                best_separating({m: scored(r) for m, r in by_method.items()})
                if consensus.method == "auto"
                else None
            )
            method = choose_method(consensus.method, list(by_method), learned)
    records = (
        by_method[method]
        if method is not None
        else gold_records(connection, project_id=project_id, version=version)
    )
    if target is not None:
        calibration = choose_threshold(scored(records), target)
    else:
        calibration = Calibration(None, None, None, None, gold=len(records))
    calibration = dataclasses.replace(calibration, confidence_method=method)
    connection.execute(
        update(versions)
        .where(versions.c.project_id == project_id, versions.c.version == version)
        .values(calibration=calibration.to_json(), calibration_stale=False)
    )
    method_changed = method is not None and (before is None or before.confidence_method != method)
    if method_changed:
        apply_method(connection, project_id=project_id, version=version, method=method)
    if method_changed or _routes_differently(before, calibration):
        reroute(
            connection,
            project_id=project_id,
            version=version,
            routing=spec.routing,
            calibration=calibration,
            between=None if method_changed else _moved_between(before, calibration),
        )
    return calibration


def _routes_differently(before: Calibration | None, after: Calibration) -> bool:
    if before is None:
        return True
    return (before.threshold, before.calibrated) != (after.threshold, after.calibrated)


def _moved_between(before: Calibration | None, after: Calibration) -> tuple[float, float] | None:
    """The old and new threshold when only the threshold moved; None when more changed (every
    decision may differ then)."""
    if before is None or before.threshold is None or after.threshold is None:
        return None
    if not (before.calibrated and after.calibrated):
        return None
    return before.threshold, after.threshold


def mark_stale(connection: Connection, *, project_id: int, version: int) -> None:
    """A reviewer added gold: the next reconciler pass recalibrates the version."""
    connection.execute(
        update(versions)
        .where(versions.c.project_id == project_id, versions.c.version == version)
        .values(calibration_stale=True)
    )


def stale_versions(connection: Connection) -> list[tuple[int, int, ProjectSpec]]:
    rows = connection.execute(
        select(versions.c.project_id, versions.c.version, versions.c.spec).where(
            versions.c.calibration_stale.is_(True)
        )
    ).all()
    return [(pid, version, ProjectSpec.model_validate(spec)) for pid, version, spec in rows]
