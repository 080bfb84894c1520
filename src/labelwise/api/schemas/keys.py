"""API keys: creating one for the caller's team, and listing them without their secrets."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field, field_validator, model_validator

from labelwise.spec import StrictModel
from labelwise.store.keys import Role

# Keys that should never expire are left without an expiry, not given a far-off one.
MAX_EXPIRY_YEAR = 9000


class KeyCreate(StrictModel):
    """A new key of the caller's team. It expires at `expires_at` (a time in the future; without
    a zone, UTC) or `expires_in_days` from now; with neither, it lasts until revoked."""

    name: str = Field(min_length=1, max_length=200)
    role: Role
    expires_at: datetime | None = None
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)

    @field_validator("expires_at")
    @classmethod
    def _in_the_future(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        value = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        try:
            value = value.astimezone(UTC)
        except OverflowError:  # 9999-12-31T23:59-14:00 is past the last day Python knows
            raise ValueError("must be a date before the year 9999") from None
        if value <= datetime.now(UTC):
            raise ValueError("must be in the future")
        if value.year > MAX_EXPIRY_YEAR:
            raise ValueError(f"must be before the year {MAX_EXPIRY_YEAR + 1}")
        return value

    @model_validator(mode="after")
    def _one_expiry(self) -> KeyCreate:
        if self.expires_at is not None and self.expires_in_days is not None:
            raise ValueError("give expires_at or expires_in_days, not both")
        return self


class KeyPublic(BaseModel):
    """A key as listed: never its secret or hash; `prefix` tells keys apart."""

    id: int
    name: str
    role: Role
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class KeyCreated(BaseModel):
    """A new key, with its secret: shown in this answer only, never again."""

    id: int
    key: str
    name: str
    role: Role
    prefix: str
    created_at: datetime
    expires_at: datetime | None
