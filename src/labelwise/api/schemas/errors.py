"""The one shape of every error answer."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    code: str = Field(description="stable, for programs: `validation_error`, `not_found`, ...")
    message: str = Field(description="for people; a validation error names the field first")


class ErrorBody(BaseModel):
    """How every error answers, whatever its status."""

    error: ErrorDetail
