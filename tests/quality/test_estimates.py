"""Estimates from random samples in the quality report: a project's audited and sampled items
are written directly in the store (as workers and reviewers would leave them), and the report
must weigh exactly those, say which sample each figure comes from, and leave out the items
reviewed because the model was unsure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from labelwise.domain import BatchGuarantee, Calibration
from labelwise.quality.estimates import GOLD_SENT
from labelwise.quality.report import build_report
from labelwise.quality.report_models import QualityReport, SampleEstimate
from labelwise.scoring.bounds import clopper_pearson_interval
from labelwise.scoring.calibration import choose_threshold
from labelwise.scoring.estimates import EXACT, MODEL_ASSISTED
from labelwise.spec import ProjectSpec
from labelwise.store.calibrations import store_calibration
from labelwise.store.models import Batch, Item, Prediction
from labelwise.store.projects import checked_spec, create_project
from tests.conftest import PROJECT, Keys, sign_in


@dataclass(frozen=True)
class Row:
    """One item as the store holds it: status (and reason), the model's value and confidence,
    the final label, how it was sampled, and the gold the client sent."""

    status: str
    confidence: float | None = 0.9
    value: Any = "positive"
    label: Any = None
    reason: str | None = None
    sampled: str | None = None
    probability: float | None = None
    truth: Any = None


SOURCES = {"accepted": "model", "reviewed": "human", "failed": "human"}


def final_label(row: Row) -> Any:
    """The model's value once accepted, the reviewers' once reviewed; none otherwise."""
    return {"accepted": row.value, "reviewed": row.label}.get(row.status)


def new_project(engine: Engine, routing: dict[str, Any]) -> tuple[int, ProjectSpec]:
    spec = checked_spec({**{k: PROJECT[k] for k in ("task", "model")}, "routing": routing})
    with Session(engine) as session:
        record = create_project(session, team="acme", name="estimates", spec=spec)
    return record.id, spec


def add_batch(
    engine: Engine, project_id: int, rows: list[Row], guarantee: BatchGuarantee | None = None
) -> int:
    with Session(engine) as session:
        batch = Batch(
            project_id=project_id,
            team="acme",
            received=len(rows),
            created=len(rows),
            guarantee=guarantee.to_json() if guarantee else None,
        )
        session.add(batch)
        session.flush()
        for index, row in enumerate(rows):
            item = Item(
                project_id=project_id,
                batch_id=batch.id,
                external_id=f"{batch.id}-{index}",
                data={"text": f"item {index}"},
                ground_truth=row.truth,
                gold=row.truth is not None or row.status == "reviewed",
                status=row.status,
                reason=row.reason,
                sampled=row.sampled,
                sample_probability=row.probability,
                version=1,
                label_value=final_label(row),
                label_source=SOURCES.get(row.status),
            )
            session.add(item)
            session.flush()
            session.add(
                Prediction(
                    item_id=item.id,
                    batch_id=batch.id,
                    version=1,
                    value=row.value,
                    confidence=row.confidence,
                    method="logprob",
                    model="m",
                )
            )
        session.commit()
        return batch.id


def report_of(engine: Engine, project_id: int, spec: ProjectSpec) -> QualityReport:
    with engine.connect() as connection:
        return build_report(connection, project_id=project_id, version=1, spec=spec)


def by(report: QualityReport, measure: str, sample: str) -> list[SampleEstimate]:
    assert report.estimates is not None
    return [e for e in report.estimates.estimates if (e.measure, e.sample) == (measure, sample)]


def audit(label: Any, status: str = "reviewed") -> Row:
    return Row(status, label=label, reason="audit", sampled="audit", probability=0.25)


# Accepted at 0.8 with one in four audited: of four audits settled, two kept the model's label,
# one was corrected and one was found unlabelable; a fifth waits. Five items reviewed for low
# confidence were all wrong: they must not count. Gold sent with items: two right of three above
# the threshold, one wrong below it.
AUDITED = [
    *[Row("accepted") for _ in range(12)],
    audit("positive"),
    audit("positive"),
    audit("negative"),
    audit(None, status="failed"),
    Row("review", reason="audit", sampled="audit", probability=0.25),
    *[Row("reviewed", 0.5, label="negative", reason="low_confidence") for _ in range(5)],
    Row("accepted", truth="positive"),
    Row("accepted", truth="positive"),
    Row("accepted", truth="negative"),
    Row("review", 0.5, reason="low_confidence", truth="negative"),
]


def test_audits_estimate_the_accepted_precision_from_audited_items_only(engine: Engine) -> None:
    project_id, spec = new_project(engine, {"accept_threshold": 0.8, "audit_rate": 0.25})
    add_batch(engine, project_id, AUDITED)
    report = report_of(engine, project_id, spec)

    weighted, assisted = by(report, "accepted_precision", "audit")
    # Equal chances and right/wrong values: two of four, exact binomial interval.
    assert (weighted.value, weighted.n, weighted.drawn, weighted.method) == (0.5, 4, 5, EXACT)
    assert (weighted.low, weighted.high) == pytest.approx(clopper_pearson_interval(2, 4, 0.95))
    # 12 accepted + 3 gold accepted + 5 audited: what the audits speak for.
    assert weighted.population == assisted.population == 20
    # The model guesses 0.1 wrong on each of 20; the four audits' residuals (-0.1, -0.1, 0.9,
    # 0.9) weighted by 4 add 6.4 / 20: 0.42 wrong, 0.58 right.
    assert assisted.method == MODEL_ASSISTED and assisted.n == 4
    assert assisted.value == pytest.approx(1 - (0.1 + 6.4 / 20))
    assert assisted.low < assisted.value < assisted.high

    (gold,) = by(report, "accepted_precision", GOLD_SENT)
    assert (gold.value, gold.n) == (pytest.approx(2 / 3), 3)
    assert by(report, "dataset_error", "guarantee") == []
    assert report.estimates is not None and "not a random sample" in report.estimates.note


def guarantee(state: str, cut: float | None) -> BatchGuarantee:
    return BatchGuarantee(
        target_error=0.1, guarantee=0.95, population=20, rate=0.25, state=state, cut=cut
    )


def sample(confidence: float | None, label: Any, status: str = "reviewed") -> Row:
    value = None if confidence is None else "positive"
    return Row(
        status,
        confidence,
        value=value,
        label=label,
        reason="guarantee_sample",
        sampled="guarantee",
        probability=0.25,
    )


# A batch of 20 certified at a cut of 0.7: six sampled (three above the cut, one of them wrong;
# three below it, wrong, unlabelable, or with no label at all), ten kept, four reviewed for
# being below the cut (two of them wrong: not a random sample).
CERTIFIED = [
    sample(0.9, "positive"),
    sample(0.8, "negative"),
    sample(0.95, "positive"),
    sample(0.6, "negative"),
    sample(0.5, None, status="failed"),
    sample(None, "negative"),
    *[Row("accepted") for _ in range(10)],
    *[Row("reviewed", 0.5, label="negative", reason="low_confidence") for _ in range(2)],
    *[Row("review", 0.5, reason="low_confidence") for _ in range(2)],
]


def test_guarantee_samples_estimate_the_dataset_error(engine: Engine) -> None:
    project_id, spec = new_project(engine, {"target_error": 0.1})
    add_batch(engine, project_id, CERTIFIED, guarantee("certified", 0.7))
    # A batch whose sample is still being reviewed has no cut yet: it is left out.
    add_batch(
        engine,
        project_id,
        [sample(0.9, "negative"), sample(0.9, "negative"), Row("held")],
        guarantee("sampling", None),
    )
    report = report_of(engine, project_id, spec)

    weighted, assisted = by(report, "dataset_error", "guarantee")
    for estimate in (weighted, assisted):
        assert (estimate.n, estimate.drawn, estimate.population) == (6, 6, 20)
        assert estimate.low <= estimate.value <= estimate.high  # type: ignore[operator]
    # One wrong of the three sampled above the cut, times the 13 of 20 items above it.
    share = 13 / 20
    assert weighted.method == EXACT
    assert weighted.value == pytest.approx(share / 3)
    low, high = clopper_pearson_interval(1, 3, 0.95)
    assert (weighted.low, weighted.high) == pytest.approx((low * share, high * share))
    # The model guesses 1.35 wrong among the 13 kept; the residuals (-0.1, 0.8, -0.05) weighted
    # by 4 add 2.6.
    assert assisted.method == MODEL_ASSISTED
    assert assisted.value == pytest.approx((1.35 + 2.6) / 13 * share)
    assert by(report, "accepted_precision", "audit") == []


def test_a_batch_that_certified_nothing_has_no_model_label_left(engine: Engine) -> None:
    project_id, spec = new_project(engine, {"target_error": 0.1})
    add_batch(engine, project_id, CERTIFIED[:6], guarantee("uncertified", None))
    (estimate,) = by(report_of(engine, project_id, spec), "dataset_error", "guarantee")
    assert (estimate.value, estimate.high, estimate.n) == (0.0, 0.0, 6)


def test_the_page_says_what_each_estimate_comes_from(
    client: TestClient, keys: Keys, engine: Engine
) -> None:
    project_id, _ = new_project(engine, {"accept_threshold": 0.8, "audit_rate": 0.25})
    add_batch(engine, project_id, AUDITED)
    assert sign_in(client, keys.admin).status_code == 303

    body = client.get(f"/v1/projects/{project_id}/quality", headers=keys.auth("admin")).json()
    samples = {(e["measure"], e["sample"]) for e in body["estimates"]["estimates"]}
    assert samples == {("accepted_precision", "audit"), ("accepted_precision", GOLD_SENT)}

    page = client.get(f"/projects/{project_id}/quality").text
    assert "Estimates from random samples" in page
    assert "audits of accepted items" in page and "gold sent with items" in page
    assert "4 reviewed of 5 drawn, for 20 items" in page
    assert "50.0%" in page and "not a random sample" in page


def test_the_page_says_how_much_gold_would_certify_a_threshold(
    client: TestClient, keys: Keys, engine: Engine
) -> None:
    project_id, spec = new_project(engine, {"target_precision": 0.9})
    add_batch(engine, project_id, [Row("review", reason="uncalibrated")])
    # Twenty gold items, 19 right: too few to certify 0.9 with probability 0.95.
    calibration = choose_threshold([(0.9, True)] * 19 + [(0.6, False)], 0.9)
    assert calibration.threshold is None and calibration.advice
    with engine.begin() as connection:
        store_calibration(connection, project_id=project_id, version=1, calibration=calibration)
    report = report_of(engine, project_id, spec)
    assert report.calibration_guarantee == 0.95
    assert [(a.coverage, a.gold) for a in report.calibration_advice] == [
        (a.coverage, a.gold) for a in calibration.advice
    ]

    assert sign_in(client, keys.admin).status_code == 303
    page = client.get(f"/projects/{project_id}/quality").text
    assert "Gold needed" in page and calibration.reason in page  # type: ignore[operator]
    assert f"about {calibration.advice[-1].gold}" in page
    assert "with probability 95.0%" in page


def test_no_advice_once_a_threshold_is_certified(engine: Engine) -> None:
    project_id, spec = new_project(engine, {"target_precision": 0.9})
    add_batch(engine, project_id, [Row("accepted")])
    certified = Calibration(0.8, 0.97, (0.92, 0.99), 0.6, 200, guarantee=0.95, advice=None)
    with engine.begin() as connection:
        store_calibration(connection, project_id=project_id, version=1, calibration=certified)
    report = report_of(engine, project_id, spec)
    assert report.threshold == 0.8 and report.calibration_advice == []
    assert report.calibration_guarantee == 0.95
