"""Values the channels keep for themselves: sync tokens, device ids."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import insert_for
from storage.models import ChannelState
from storage.types import utcnow


async def get_channel_value(session: AsyncSession, *, platform: str, key: str) -> str | None:
    """A value a channel saved for itself (a sync token, a device id), if any."""
    row = (
        await session.exec(
            select(ChannelState).where(ChannelState.platform == platform, ChannelState.key == key)
        )
    ).first()
    return row.value if row else None


async def set_channel_value(session: AsyncSession, *, platform: str, key: str, value: str) -> None:
    """Save a channel's value, replacing the previous one.

    One upsert: two processes saving the same key at once both succeed; the later one wins.
    """
    insert = insert_for(session)(ChannelState).values(
        platform=platform, key=key, value=value, updated_at=utcnow()
    )
    statement = insert.on_conflict_do_update(
        index_elements=["platform", "key"],
        set_={"value": insert.excluded.value, "updated_at": insert.excluded.updated_at},
    )
    await session.exec(statement)  # type: ignore[call-overload]
