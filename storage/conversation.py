"""Conversation state rows: where each person is, per chat, with the draft gathered so far."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ChannelState, ConversationState
from storage.types import utcnow


async def load_state(
    session: AsyncSession, *, identity_id: int, chat_key: str
) -> ConversationState:
    """The person's state in this chat (new and empty on first contact), not tracked.

    The session does not watch the returned object, so no autoflush writes it halfway through a
    handler; the caller saves it once, with `session.add`, when the message is done.
    """
    state = (
        await session.exec(
            select(ConversationState).where(
                ConversationState.identity_id == identity_id,
                ConversationState.chat_key == chat_key,
            )
        )
    ).first()
    if state is None:
        return ConversationState(identity_id=identity_id, chat_key=chat_key)
    session.expunge(state)
    return state


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
