"""Values the channels keep for themselves: sync tokens, device ids."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

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
    """Save a channel's value, replacing the previous one."""
    row = (
        await session.exec(
            select(ChannelState).where(ChannelState.platform == platform, ChannelState.key == key)
        )
    ).first()
    if row is None:
        row = ChannelState(platform=platform, key=key, value=value)
    row.value = value
    row.updated_at = utcnow()
    session.add(row)
