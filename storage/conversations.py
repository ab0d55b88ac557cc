"""A person's conversation carried over to another chat, for a private chat that was replaced.

A Matrix direct chat can be upgraded to a new room: the conversation state kept for the old
chat's key (`conversation_states`) is taken out, for the handler to continue under the new one.
"""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ConversationState


async def take_conversation(
    session: AsyncSession, *, identity_id: int, chat_key: str
) -> ConversationState | None:
    """Delete a person's conversation state in a chat and return it; None if there is none.

    Its values stay readable for the caller to carry over: the dispatcher saves the state of the
    chat the message came from, one row per person and chat.
    """
    state = (
        await session.exec(
            select(ConversationState).where(
                ConversationState.identity_id == identity_id,
                ConversationState.chat_key == chat_key,
            )
        )
    ).first()
    if state is not None:
        await session.delete(state)
    return state
