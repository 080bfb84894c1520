"""The quality report's estimates from random samples: what the accepted labels' precision and
the final dataset's error are, over every item, judged only from items drawn at random with a
known probability and settled by reviewers.

- Accepted precision, from audits: each accepted item is sent to reviewers with probability
  `audit_rate`; weighted by one over it, the audited items speak for all accepted ones
  (`scoring.estimates.ipw_proportion`), and with the model's confidences over all accepted
  items, the model-assisted estimate narrows the interval (`model_assisted_error`).
- Accepted precision, on the gold sent with items above the threshold: exact, but it speaks
  for all items only if the client drew that gold at random from them.
- Dataset error, from the guarantee samples of settled batches: the share of a batch's items
  kept with a wrong model label (items sent to review are taken to end right), as the
  guarantee counts it (`scoring.dataset_error`). Estimated as the error among kept labels
  times the known share kept. The sample also chose each batch's cut, just above a sampled
  error, so this leans low; the certified bound is what holds with the stated probability.

A sampled item's model label is wrong when the task type says it does not match the
reviewers' label, or when reviewers marked the item unlabelable (status `failed`).
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import Connection

from labelwise.domain import Calibration, ItemStatus
from labelwise.quality.report_models import GoldAdviceRow, SampleEstimate, SampleEstimates
from labelwise.scoring.estimates import Estimate, ipw_proportion, model_assisted_error
from labelwise.spec import ProjectSpec, TaskSpec
from labelwise.store.samples import (
    AUDIT,
    GUARANTEE,
    SampledItem,
    audit_population,
    client_gold,
    guarantee_batches,
    sampled_count,
    sampled_items,
)
from labelwise.tasks import matches

LEVEL = 0.95
GOLD_SENT = "gold sent with items"
NOTE = (
    "Only items drawn at random with a known probability are used here: audits of accepted "
    "items and each batch's guarantee sample, each weighted by one over its chance of being "
    "drawn. Items reviewers saw because the model was unsure are not used: they are not a "
    "random sample, and would make the labels look worse than they are. Gold sent with items "
    "speaks for all items only if it was drawn at random from them. The dataset error rests "
    "on the sample that also chose each batch's cut, so it may lean low: each batch's "
    "certified bound is what holds with the stated probability."
)


def sample_estimates(
    connection: Connection,
    *,
    project_id: int,
    version: int,
    spec: ProjectSpec,
    threshold: float | None,
) -> SampleEstimates:
    """Every estimate the version's samples allow; a sample nobody drew gives none."""
    where = {"project_id": project_id, "version": version}
    return SampleEstimates(
        level=LEVEL,
        estimates=[
            *_from_audits(connection, where, spec.task),
            *_from_gold(connection, where, spec.task, threshold),
            *_from_guarantee(connection, where, spec.task),
        ],
        note=NOTE,
    )


def is_wrong(task: TaskSpec, item: SampledItem) -> bool:
    """Whether the model's label was wrong, as reviewers settled the item."""
    if item.status == ItemStatus.FAILED.value or item.value is None:
        return True
    return not matches(task, item.value, item.label)


def _public(
    measure: str, sample: str, estimate: Estimate, *, drawn: int, population: int
) -> SampleEstimate:
    return SampleEstimate(
        measure=measure,
        sample=sample,
        method=estimate.method,
        value=estimate.value,
        low=estimate.low,
        high=estimate.high,
        n=estimate.n,
        drawn=drawn,
        population=population,
    )


def _complement(error: Estimate) -> Estimate:
    """An error share restated as the share right."""
    value = None if error.value is None else 1.0 - error.value
    return Estimate(value, 1.0 - error.high, 1.0 - error.low, error.n, error.method)


def _from_audits(
    connection: Connection, where: dict[str, int], task: TaskSpec
) -> list[SampleEstimate]:
    drawn = sampled_count(connection, sampled=AUDIT, **where)
    if not drawn:
        return []
    settled = sampled_items(connection, sampled=AUDIT, **where)
    population = audit_population(connection, **where)
    wrong = [(item, is_wrong(task, item)) for item in settled]
    weighted = ipw_proportion([(0.0 if bad else 1.0, item.probability) for item, bad in wrong])
    assisted = model_assisted_error(
        population,
        [(i.confidence, bad, i.probability) for i, bad in wrong if i.confidence is not None],
    )
    size = {"drawn": drawn, "population": len(population)}
    return [
        _public("accepted_precision", AUDIT, weighted, **size),
        _public("accepted_precision", AUDIT, _complement(assisted), **size),
    ]


def _from_gold(
    connection: Connection, where: dict[str, int], task: TaskSpec, threshold: float | None
) -> list[SampleEstimate]:
    if threshold is None:
        return []
    above = [
        gold
        for gold in client_gold(connection, **where)
        if gold.confidence is not None and gold.confidence >= threshold
    ]
    if not above:
        return []
    # Every gold item is in: a census of the gold, so each counts once.
    right = ipw_proportion([(float(matches(task, g.value, g.truth)), 1.0) for g in above])
    population = len(audit_population(connection, **where))
    return [
        _public("accepted_precision", GOLD_SENT, right, drawn=len(above), population=population)
    ]


def _kept(confidence: float | None, cut: float | None) -> bool:
    return confidence is not None and cut is not None and confidence >= cut


def _from_guarantee(
    connection: Connection, where: dict[str, int], task: TaskSpec
) -> list[SampleEstimate]:
    settled = [b for b in guarantee_batches(connection, **where) if b.guarantee.settled]
    if not settled:
        return []
    cuts = {b.batch_id: b.guarantee.cut for b in settled}
    sample = [
        s for s in sampled_items(connection, sampled=GUARANTEE, **where) if s.batch_id in cuts
    ]
    everything = sum(len(b.confidences) for b in settled)
    kept = [c for b in settled for c in b.confidences if _kept(c, b.guarantee.cut)]
    kept_sample = [s for s in sample if _kept(s.confidence, cuts[s.batch_id])]
    size = {
        "drawn": sampled_count(connection, sampled=GUARANTEE, batch_ids=list(cuts), **where),
        "population": everything,
    }
    if not kept:
        # Nothing kept the model's label: every label is a reviewer's, counted right.
        exact = Estimate(0.0, 0.0, 0.0, len(sample), "exact: every label decided by reviewers")
        return [_public("dataset_error", GUARANTEE, exact, **size)]
    share = len(kept) / everything
    weighted = ipw_proportion([(float(is_wrong(task, s)), s.probability) for s in kept_sample])
    assisted = model_assisted_error(
        kept, [(s.confidence, is_wrong(task, s), s.probability) for s in kept_sample]
    )
    return [
        _public("dataset_error", GUARANTEE, replace(e.scaled(share), n=len(sample)), **size)
        for e in (weighted, assisted)
    ]


def gold_advice_rows(calibration: Calibration | None) -> list[GoldAdviceRow]:
    """Without a certified threshold: how much gold would certify which coverage."""
    advice = calibration.advice if calibration is not None else None
    return [GoldAdviceRow(coverage=row.coverage, gold=row.gold) for row in advice or ()]
