"""Gold and calibration: items whose true label is known, scored by a version's model, and the
threshold they support, stored with the version it routes.

The truth is the item's `ground_truth` if the client sent one, else a reviewer's final label.
Only predictions with both a value and a confidence count: a calibration is about scores.

The calibration is stored, not recomputed per item: routing reads it under a row lock in the same
transaction that writes labels, so a label is never routed by a threshold that gold has already
moved. When it moves, the items the model labeled under the old one are routed again.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, bindparam, or_, select, update

from labelwise.calibration import Calibration, choose_threshold
from labelwise.consensus import best_separating, choose_method
from labelwise.domain import ItemStatus, LabelSource, RoutingDecision, Scored
from labelwise.errors import ReviewReason
from labelwise.quality import GoldRecord, scored
from labelwise.routing import route, with_audit
from labelwise.spec import ProjectSpec, RoutingSpec
from labelwise.store.models import Item, Prediction, ProjectVersion

items = Item.__table__
predictions = Prediction.__table__
versions = ProjectVersion.__table__

VersionKey = tuple[int, int]

# Review reasons a new threshold can overturn; an audit, a failure or a missing score it cannot.
_REROUTABLE = (ReviewReason.UNCALIBRATED.value, ReviewReason.LOW_CONFIDENCE.value)


def gold_by_version(
    connection: Connection, *, project_id: int, versions_wanted: list[int]
) -> dict[int, dict[int, GoldRecord]]:
    """Per version, its gold records keyed by item id, so versions can be compared on the items
    every one of them labeled."""
    rows = connection.execute(
        select(
            predictions.c.version,
            items.c.id,
            predictions.c.value,
            predictions.c.confidence,
            items.c.ground_truth,
            items.c.label_value,
        )
        .join(items, items.c.id == predictions.c.item_id)
        .where(
            items.c.project_id == project_id,
            items.c.gold.is_(True),
            predictions.c.version.in_(versions_wanted),
            predictions.c.value.is_not(None),
        )
    ).all()
    found: dict[int, dict[int, GoldRecord]] = {v: {} for v in versions_wanted}
    for version, item_id, value, confidence, ground_truth, reviewed in rows:
        truth = ground_truth if ground_truth is not None else reviewed
        if value is not None and truth is not None:
            found[version][item_id] = GoldRecord(value, confidence, truth)
    return found


def gold_records(connection: Connection, *, project_id: int, version: int) -> list[GoldRecord]:
    """Every gold item the version's model gave a label, with its confidence and the truth."""
    found = gold_by_version(connection, project_id=project_id, versions_wanted=[version])
    return list(found[version].values())


def gold_scores(
    connection: Connection, *, project_id: int, version: int
) -> list[tuple[float, bool]]:
    """(confidence, right) for every gold item the version's model labeled with a score."""
    return scored(gold_records(connection, project_id=project_id, version=version))


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


def gold_by_method(
    connection: Connection, *, project_id: int, version: int
) -> dict[str, list[GoldRecord]]:
    """With consensus: the version's gold as each scoring method labeled and scored it."""
    rows = connection.execute(
        select(predictions.c.scores, items.c.ground_truth, items.c.label_value)
        .join(items, items.c.id == predictions.c.item_id)
        .where(
            items.c.project_id == project_id,
            items.c.gold.is_(True),
            predictions.c.version == version,
            predictions.c.scores.is_not(None),
        )
    ).all()
    found: dict[str, list[GoldRecord]] = {}
    for scores, ground_truth, reviewed in rows:
        truth = ground_truth if ground_truth is not None else reviewed
        for method, stored in (scores or {}).items():
            if truth is not None and stored.get("value") is not None:
                found.setdefault(method, []).append(
                    GoldRecord(stored["value"], stored.get("confidence"), truth)
                )
    return found


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
        )
    return calibration


def _routes_differently(before: Calibration | None, after: Calibration) -> bool:
    if before is None:
        return True
    return (before.threshold, before.calibrated) != (after.threshold, after.calibrated)


def apply_method(connection: Connection, *, project_id: int, version: int, method: str) -> int:
    """Make `method`'s value and confidence the version's predictions, from their stored scores
    (predictions that lack that method keep theirs). Returns how many changed."""
    rows = connection.execute(
        select(predictions.c.id, predictions.c.scores, predictions.c.method)
        .join(items, items.c.id == predictions.c.item_id)
        .where(
            items.c.project_id == project_id,
            predictions.c.version == version,
            predictions.c.scores.is_not(None),
        )
    ).all()
    params = []
    for prediction_id, scores, current in rows:
        stored = (scores or {}).get(method)
        if stored is None or current == method:
            continue
        chosen = Scored.from_json(method, stored)
        params.append(
            {
                "b_id": prediction_id,
                "b_value": chosen.value,
                "b_confidence": chosen.confidence.score,
                "b_method": method,
                "b_per_label": chosen.confidence.per_label,
            }
        )
    if params:
        connection.execute(
            update(predictions)
            .where(predictions.c.id == bindparam("b_id"))
            .values(
                value=bindparam("b_value"),
                confidence=bindparam("b_confidence"),
                method=bindparam("b_method"),
                per_label=bindparam("b_per_label"),
            ),
            params,
        )
    return len(params)


@dataclass(frozen=True)
class _Rerouted:
    item_id: int
    was: str
    decision: RoutingDecision
    value: Any
    confidence: float | None


def reroute(
    connection: Connection,
    *,
    project_id: int,
    version: int,
    routing: RoutingSpec,
    calibration: Calibration,
    now: float | None = None,
) -> int:
    """Route again every item whose standing rests on the model's score alone: accepted by the
    model, or waiting in review for a low or uncalibrated score and not claimed by anyone.

    Human decisions, audits, failures and claimed items are left as they are. Returns how many
    items changed state.
    """
    now = time.time() if now is None else now
    unclaimed = or_(items.c.claim_expires_at.is_(None), items.c.claim_expires_at < now)
    rows = connection.execute(
        select(
            items.c.id,
            items.c.status,
            items.c.reason,
            items.c.label_value,
            items.c.label_confidence,
            predictions.c.value,
            predictions.c.confidence,
        )
        .join(
            predictions,
            (predictions.c.item_id == items.c.id) & (predictions.c.version == items.c.version),
        )
        .where(
            items.c.project_id == project_id,
            items.c.version == version,
            or_(
                and_(
                    items.c.status == ItemStatus.ACCEPTED.value,
                    items.c.label_source == LabelSource.MODEL.value,
                ),
                and_(
                    items.c.status == ItemStatus.REVIEW.value,
                    items.c.reason.in_(_REROUTABLE),
                    unclaimed,
                ),
            ),
        )
        .order_by(items.c.id)
    ).all()
    changes = []
    for item_id, status, reason, label_value, label_confidence, value, confidence in rows:
        decision = with_audit(
            route(confidence, routing, calibration),
            item_id=item_id,
            version=version,
            audit_rate=routing.audit_rate,
        )
        moved = (decision.status.value, decision.reason and decision.reason.value) != (
            status,
            reason,
        )
        # Still accepted, but the prediction under it changed (a new consensus method).
        relabeled = decision.status is ItemStatus.ACCEPTED and (
            label_value != value or label_confidence != confidence
        )
        if moved or relabeled:
            changes.append(_Rerouted(item_id, status, decision, value, confidence))
    if not changes:
        return 0
    statement = (
        update(items)
        .where(
            items.c.id == bindparam("b_id"),
            items.c.status == bindparam("b_was"),
            items.c.version == version,
            or_(items.c.status == ItemStatus.ACCEPTED.value, unclaimed),
        )
        .values(
            status=bindparam("b_status"),
            reason=bindparam("b_reason"),
            label_value=bindparam("b_value"),
            label_confidence=bindparam("b_confidence"),
            label_source=bindparam("b_source"),
            labeled_at=bindparam("b_labeled_at"),
        )
    )
    params = []
    for change in changes:
        accepted = change.decision.status is ItemStatus.ACCEPTED
        reason = change.decision.reason
        params.append(
            {
                "b_id": change.item_id,
                "b_was": change.was,
                "b_status": change.decision.status.value,
                "b_reason": reason.value if reason else None,
                "b_value": change.value if accepted else None,
                "b_confidence": change.confidence if accepted else None,
                "b_source": LabelSource.MODEL.value if accepted else None,
                "b_labeled_at": now if accepted else None,
            }
        )
    connection.execute(statement, params)
    return len(changes)


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
