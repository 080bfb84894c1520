"""Stored items as the API shows them."""

from __future__ import annotations

from labelwise.api.schemas import (
    BatchGuaranteePublic,
    ItemPublic,
    LabelPublic,
    PredictionPublic,
)
from labelwise.domain import BatchGuarantee
from labelwise.store.item_views import ItemView


def prediction_public(view: ItemView) -> PredictionPublic | None:
    if view.prediction is None:
        return None
    return PredictionPublic(**view.prediction, reason=view.reason)


def item_public(view: ItemView) -> ItemPublic:
    label = None
    if view.label_source is not None:
        label = LabelPublic(
            value=view.label_value,
            confidence=view.label_confidence,
            source=view.label_source,
            labeled_by=view.labeled_by,
        )
    return ItemPublic(
        id=view.id,
        external_id=view.external_id,
        data=view.data,
        status=view.status,
        reason=view.reason,
        label=label,
        prediction=prediction_public(view),
    )


def guarantee_public(
    guarantee: BatchGuarantee | None, counts: dict[str, int]
) -> BatchGuaranteePublic | None:
    if guarantee is None:
        return None
    return BatchGuaranteePublic(
        **guarantee.to_json(),
        waiting_for_sample=counts.get("held", 0),
        expected_sample=round(guarantee.rate * guarantee.population),
    )
