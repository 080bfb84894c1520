"""Request and response bodies of the HTTP API, one model per use, one module per resource."""

from __future__ import annotations

from labelwise.api.schemas.batches import (
    BatchAccepted,
    BatchCreate,
    BatchGuaranteePublic,
    BatchPublic,
    BatchUsage,
    ProviderBatchPublic,
    RelabelAccepted,
)
from labelwise.api.schemas.errors import ErrorBody, ErrorDetail
from labelwise.api.schemas.items import ItemIn, ItemPublic, ItemsPage, LabelPublic, PredictionPublic
from labelwise.api.schemas.keys import KeyCreate, KeyCreated, KeyPublic
from labelwise.api.schemas.labeling import SyncLabelRequest, SyncLabelResponse
from labelwise.api.schemas.projects import (
    CalibrationPublic,
    EstimatePublic,
    EstimateRequest,
    ProjectCreate,
    ProjectPublic,
    ProjectUpdate,
)
from labelwise.api.schemas.review import (
    ClaimRequest,
    ClaimResponse,
    DecisionRequest,
    ReleaseRequest,
    RenewRequest,
    RenewResponse,
    ReviewerVote,
)

__all__ = [
    "BatchAccepted",
    "BatchCreate",
    "BatchGuaranteePublic",
    "BatchPublic",
    "BatchUsage",
    "CalibrationPublic",
    "ClaimRequest",
    "ClaimResponse",
    "DecisionRequest",
    "ErrorBody",
    "ErrorDetail",
    "EstimatePublic",
    "EstimateRequest",
    "ItemIn",
    "ItemPublic",
    "ItemsPage",
    "KeyCreate",
    "KeyCreated",
    "KeyPublic",
    "LabelPublic",
    "PredictionPublic",
    "ProjectCreate",
    "ProjectPublic",
    "ProjectUpdate",
    "ProviderBatchPublic",
    "RelabelAccepted",
    "ReleaseRequest",
    "RenewRequest",
    "RenewResponse",
    "ReviewerVote",
    "SyncLabelRequest",
    "SyncLabelResponse",
]
