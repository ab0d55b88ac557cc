"""Column types and small helpers shared by the tables.

`UTCDateTime` stores naive UTC and always hands back timezone-aware UTC, so SQLite (which keeps
no zone) and PostgreSQL behave the same for every timestamp the bot compares.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator

# The largest row id: ids are INTEGER columns, 32 bits on PostgreSQL. A larger number names no row,
# and PostgreSQL refuses it outright rather than finding nothing.
MAX_ROW_ID = 2**31 - 1


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp column that is always UTC on the way in and timezone-aware on the way out."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Convert to naive UTC for storage; naive input is taken to be UTC already."""
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Mark the stored naive UTC value as UTC."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)
