"""Recalibrating a version after gold arrives: off the path that records answers.

A write that brings gold only marks its version stale, in the writing transaction; the version is
recalibrated (and what the old calibration decided is routed again) in a transaction of its own
once that write has committed. If that step fails or the process dies first, the mark stays and
the reconciler's next pass recalibrates the version: gold is never left unused.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy import Engine

from labelwise.spec import ProjectSpec
from labelwise.store.calibrations import refresh_calibration, stale_versions

log = logging.getLogger(__name__)

VersionKey = tuple[int, int]


def recalibrate(engine: Engine, specs: Mapping[VersionKey, ProjectSpec]) -> int:
    """Recalibrate each version now, one transaction each; a failure is logged and left to the
    reconciler (the version is still marked stale). Returns how many were recalibrated."""
    done = 0
    for (project_id, version), spec in sorted(specs.items()):
        try:
            with engine.begin() as connection:
                refresh_calibration(connection, project_id=project_id, version=version, spec=spec)
            done += 1
        except Exception:
            log.exception(
                "recalibrating project %s version %s failed; the reconciler will retry",
                project_id,
                version,
            )
    return done


def recalibrate_stale(engine: Engine) -> int:
    """Recalibrate every version marked stale, each in its own transaction."""
    with engine.begin() as connection:
        stale = stale_versions(connection)
    for project_id, version, spec in stale:
        with engine.begin() as connection:
            refresh_calibration(connection, project_id=project_id, version=version, spec=spec)
    return len(stale)
