"""Reviewer agreement in the quality report: answers are the same when the task type says so,
audited labels are kept when the reviewers' label matches them. Tables of cases."""

from __future__ import annotations

from typing import Any

import pytest

from labelwise.quality.report import audit_summary
from labelwise.quality.reviewing import (
    AnswerCategories,
    agrees_with_final,
    ratings_by_item,
    review_agreement,
)
from labelwise.review.verdict import UNLABELABLE
from labelwise.spec import TaskSpec
from labelwise.store.quality import AuditedItem, DecisionRecord

SINGLE = TaskSpec(labels=["pos", "neg"])
MULTI = TaskSpec(labels=["x", "y", "z"], multi_label=True)


def decision(
    item_id: int,
    reviewer: str,
    value: Any,
    *,
    unlabelable: bool = False,
    adjudication: bool = False,
    status: str = "reviewed",
    label: Any = None,
    claimed_at: float | None = 0.0,
    decided_at: float = 60.0,
) -> DecisionRecord:
    return DecisionRecord(
        item_id, reviewer, value, unlabelable, adjudication, claimed_at, decided_at, status, label
    )


def test_answers_the_task_deems_the_same_share_a_category() -> None:
    categories = AnswerCategories(MULTI)
    numbers = [categories.of(v) for v in (["x", "y"], ["z"], ["y", "x"], ["x", "y", "y"], [])]
    assert numbers == [0, 1, 0, 0, 2]


def test_ratings_leave_out_adjudicators_and_keep_unlabelable_apart() -> None:
    records = [
        decision(1, "a", ["y", "x"]),
        decision(1, "b", ["x", "y"]),
        decision(1, "judge", ["x"], adjudication=True),
        decision(2, "a", None, unlabelable=True),
        decision(2, "b", ["z"]),
    ]
    ratings = ratings_by_item(records, MULTI)
    assert [r.category for r in ratings[1]] == [0, 0]
    assert [r.labels for r in ratings[1]] == [frozenset({"x", "y"})] * 2
    assert ratings[2][0].category == UNLABELABLE and ratings[2][0].labels == {UNLABELABLE}
    assert ratings[2][1].category == 1


@pytest.mark.parametrize(
    ("task", "record", "agrees"),
    [
        (MULTI, decision(1, "a", ["y", "x"], label=["x", "y"]), True),
        (MULTI, decision(1, "a", ["x"], label=["x", "y"]), False),
        (SINGLE, decision(1, "a", "pos", label="pos"), True),
        (SINGLE, decision(1, "a", "pos", label="neg"), False),
        (SINGLE, decision(1, "a", None, unlabelable=True, status="failed"), True),
        (SINGLE, decision(1, "a", None, unlabelable=True, label="pos"), False),
        (SINGLE, decision(1, "a", "pos", status="failed"), False),
    ],
)
def test_agreement_with_the_final_label(
    task: TaskSpec, record: DecisionRecord, agrees: bool
) -> None:
    assert agrees_with_final(record, task) is agrees


def test_label_sets_in_another_order_agree_perfectly() -> None:
    records = [
        decision(1, "a", ["y", "x"], label=["x", "y"]),
        decision(1, "b", ["x", "y"], label=["x", "y"]),
        decision(2, "a", ["z"], label=["z"]),
        decision(2, "b", ["z"], label=["z"]),
    ]
    agreement = review_agreement(records, MULTI)
    assert (agreement.items_with_several, agreement.statistic, agreement.kappa) == (2, "cohen", 1.0)
    assert [r.agreement_with_final.value for r in agreement.reviewers] == [1.0, 1.0]
    assert agreement.reviewers[0].items_per_hour == 60.0


@pytest.mark.parametrize(
    ("audited", "sent", "decided", "kept"),
    [
        ([], 0, 0, 0),
        ([AuditedItem("review", None, ["x"])], 1, 0, 0),
        ([AuditedItem("reviewed", ["x", "y"], ["y", "x"])], 1, 1, 1),
        ([AuditedItem("reviewed", ["x"], ["x", "y"])], 1, 1, 0),
        ([AuditedItem("failed", None, ["x"]), AuditedItem("reviewed", ["z"], ["z"])], 2, 2, 1),
    ],
)
def test_audits_keep_a_label_the_reviewers_matched(
    audited: list[AuditedItem], sent: int, decided: int, kept: int
) -> None:
    summary = audit_summary(audited, MULTI, rate=0.1)
    assert (summary.rate, summary.sent, summary.decided) == (0.1, sent, decided)
    assert summary.precision.successes == kept and summary.precision.n == decided
