"""The ranges of the numbers the API takes, declared once so the schema states them.

Ids are PostgreSQL `BIGINT` (SQLite's INTEGER is the same 64 bits): a larger one cannot name
anything, and handed to the driver it overflows (a 500 on SQLite). Versions are 32-bit
`INTEGER` columns. Out-of-range numbers answer 422 from validation, before any query.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import Field

from labelwise.errors import ValidationFailedError

MAX_ID = 2**63 - 1
MAX_VERSION = 2**31 - 1
# The longest a reviewer may ask to hold a claim for (the deployment's lease caps it lower).
MAX_LEASE_SECONDS = 7 * 24 * 3600.0
# Dollars; well past any budget, and far from where float sums lose cents.
MAX_USD = 1e9
# A claim token is 32 characters; anything much longer is not one.
MAX_TOKEN_CHARS = 200

ResourceId = Annotated[int, Path(ge=1, le=MAX_ID, description="an id this API returned")]
BodyId = Annotated[int, Field(ge=1, le=MAX_ID)]
CursorQuery = Annotated[
    str | None,
    Query(
        max_length=19,
        pattern=r"^[0-9]+$",
        description="the `next_cursor` of the previous page; leave out for the first",
    ),
]


def cursor_id(cursor: str | None) -> int:
    """The id a page starts after: 0 for the first page."""
    if not cursor:
        return 0
    if not cursor.isascii() or not cursor.isdigit() or int(cursor) > MAX_ID:
        raise ValidationFailedError("cursor: not a cursor this API returned")
    return int(cursor)
