"""Recalibrating a version after gold arrives: off the path that records answers.

A write that brings gold only marks its version stale, in the writing transaction; the version is
recalibrated (and what the old calibration decided is routed again) in a transaction of its own
once that write has committed. If that step fails or the process dies first, the mark stays and
the reconciler's next pass recalibrates the version: gold is never left unused.

A recalibration reads the version's most recent gold that is a random sample (at most `max_gold`
items; see `labelwise.store.gold`) and the confidences of its most recent items, which fix the
candidate thresholds; it decides the scoring method and the threshold (`labelwise.scoring`),
stores them, and routes again the items the change concerns.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy import Connection, Engine

from labelwise.domain import Calibration, GoldRecord
from labelwise.labeling.rerouting import reroute
from labelwise.quality.metrics import scored
from labelwise.scoring.calibration import calibrate
from labelwise.scoring.consensus import method_to_route_by
from labelwise.scoring.rerouting import method_changed, reroute_scope
from labelwise.spec import ProjectSpec
from labelwise.store.calibrations import locked_calibration, stale_versions, store_calibration
from labelwise.store.gold import gold_by_method, recent_confidences, recent_gold
from labelwise.store.reroute import apply_method

log = logging.getLogger(__name__)

VersionKey = tuple[int, int]


def recalibrate(engine: Engine, specs: Mapping[VersionKey, ProjectSpec], *, max_gold: int) -> int:
    """Recalibrate each version now, one transaction each; a failure is logged and left to the
    reconciler (the version is still marked stale). Returns how many were recalibrated."""
    done = 0
    for (project_id, version), spec in sorted(specs.items()):
        try:
            with engine.begin() as connection:
                refresh_calibration(
                    connection, project_id=project_id, version=version, spec=spec, max_gold=max_gold
                )
            done += 1
        except Exception:
            log.exception(
                "recalibrating project %s version %s failed; the reconciler will retry",
                project_id,
                version,
            )
    return done


def recalibrate_stale(engine: Engine, *, max_gold: int) -> int:
    """Recalibrate every version marked stale, each in its own transaction."""
    with engine.begin() as connection:
        stale = stale_versions(connection)
    for project_id, version, spec in stale:
        with engine.begin() as connection:
            refresh_calibration(
                connection, project_id=project_id, version=version, spec=spec, max_gold=max_gold
            )
    return len(stale)


def refresh_calibration(
    connection: Connection, *, project_id: int, version: int, spec: ProjectSpec, max_gold: int
) -> Calibration | None:
    """Calibrate the version on its most recent gold, store the result, and route again the
    model-labeled items it concerns if the threshold (or, with consensus, the scoring method)
    changed. None when there is nothing to calibrate: a fixed threshold and no consensus."""
    if not spec.learns_from_gold:
        return None
    before = locked_calibration(connection, project_id=project_id, version=version)
    method, records = _gold_to_calibrate_on(
        connection, project_id=project_id, version=version, spec=spec, max_gold=max_gold
    )
    # Stored confidences are in the score the version routes by; with consensus the gold may be
    # scored by another method, whose own confidences (truth unseen) then fix the grid.
    population = (
        []
        if spec.consensus.enabled
        else recent_confidences(connection, project_id=project_id, version=version, limit=max_gold)
    )
    after = calibrate(
        scored(records, spec.task),
        spec.routing.target_precision,
        gold=len(records),
        method=method,
        guarantee=spec.routing.guarantee,
        population=population,
    )
    store_calibration(connection, project_id=project_id, version=version, calibration=after)
    new_method = method_changed(before, method)
    if new_method and method is not None:
        apply_method(connection, project_id=project_id, version=version, method=method)
    scope = reroute_scope(before, after, new_method=new_method)
    if scope is not None:
        reroute(
            connection,
            project_id=project_id,
            version=version,
            routing=spec.routing,
            calibration=after,
            between=scope.between,
        )
    return after


def _gold_to_calibrate_on(
    connection: Connection, *, project_id: int, version: int, spec: ProjectSpec, max_gold: int
) -> tuple[str | None, list[GoldRecord]]:
    """With consensus, the scoring method to route by and the gold as that method scored it;
    otherwise (or before any method has gold) no method and the gold as the version stored it."""
    if spec.consensus.enabled:
        by_method = gold_by_method(
            connection, project_id=project_id, version=version, limit=max_gold
        )
        pairs = {name: scored(records, spec.task) for name, records in by_method.items()}
        method = method_to_route_by(spec.consensus.method, pairs)
        if method is not None:
            return method, by_method[method]
    return None, recent_gold(connection, project_id=project_id, version=version, limit=max_gold)
