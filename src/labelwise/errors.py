"""The exception tree and the error kinds stored with items.

Exceptions are for code paths; `ReviewReason` is what a reviewer sees on an item in the queue, so
each labeling exception names the reason it maps to.
"""

from __future__ import annotations

from enum import Enum


class ReviewReason(str, Enum):
    """Why an item waits for a human. Stored on the item, shown in the review queue."""

    LOW_CONFIDENCE = "low_confidence"
    NO_CONFIDENCE = "no_confidence"
    UNCALIBRATED = "uncalibrated"
    AUDIT = "audit"
    # Drawn into the uniform sample a dataset-error guarantee is certified from.
    GUARANTEE_SAMPLE = "guarantee_sample"
    # Every reviewer asked for has decided and they disagree: an adjudicator decides.
    DISAGREEMENT = "disagreement"
    INVALID_OUTPUT = "invalid_output"
    TRUNCATED = "truncated"
    REFUSAL = "refusal"
    LLM_ERROR = "llm_error"
    DELIVERY_EXHAUSTED = "delivery_exhausted"
    # The project had spent its limit when the item's turn came: no call was made.
    SPEND_LIMIT = "spend_limit"
    # Spans: an entity the model named is not in the item's text; it was left out of the value.
    SPAN_NOT_FOUND = "span_not_found"
    # Pairwise: asked with the candidates swapped, the model picked differently.
    ORDER_DISAGREEMENT = "order_disagreement"


class LabelwiseError(Exception):
    """Root of every error labelwise raises on purpose."""


# --- Labeling (worker side) -------------------------------------------------------------------


class LabelingError(LabelwiseError):
    """An item could not be labeled; it goes to review with `reason`."""

    reason: ReviewReason = ReviewReason.LLM_ERROR

    def __init__(self, message: str, *, attempts: int = 1, usage: object | None = None) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.usage = usage


class LLMCallError(LabelingError):
    """The provider kept failing (after bounded retries) or refused the request outright."""

    reason = ReviewReason.LLM_ERROR


class InvalidOutputError(LabelingError):
    """The answer did not match the schema, even after the re-ask."""

    reason = ReviewReason.INVALID_OUTPUT


class TruncatedOutputError(InvalidOutputError):
    """The answer was cut off at `max_tokens`."""

    reason = ReviewReason.TRUNCATED


class RefusalError(LabelingError):
    """The model declined to answer."""

    reason = ReviewReason.REFUSAL


# --- Requests (API side) ----------------------------------------------------------------------


class RequestError(LabelwiseError):
    """A client error; the API turns it into `{"error": {"code", "message"}}` with `status`."""

    status: int = 400
    code: str = "bad_request"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class NotFoundError(RequestError):
    status = 404
    code = "not_found"


class ConflictError(RequestError):
    status = 409
    code = "conflict"


class PayloadTooLargeError(RequestError):
    status = 413
    code = "payload_too_large"


class TooManyRequestsError(RequestError):
    """A limit on requests: the client is told when to come back."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SpendLimitError(RequestError):
    """A batch would take the project past its spend limit; nothing of it was stored."""

    status = 402
    code = "spend_limit_exceeded"


class ValidationFailedError(RequestError):
    status = 422
    code = "validation_error"


class NestingTooDeepError(ValidationFailedError):
    """JSON nested past the bound; refused before it is parsed."""

    code = "nesting_too_deep"


class InvalidTextError(ValidationFailedError):
    """A NUL character or a lone surrogate: nothing the store can keep, or a response carry."""

    code = "invalid_text"


class AuthError(RequestError):
    status = 401
    code = "unauthorized"


class ForbiddenError(RequestError):
    status = 403
    code = "forbidden"
