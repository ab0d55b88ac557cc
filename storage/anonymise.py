"""Keeping contributions without their author's name: the other way out besides erasure.

A person who withdraws consent may keep what they shared in the diary without their name, and a
cluster's retention keeps its submitted entries that way. The entries are marked `anonymised`
(shown under the author's pseudonym, never their name) and leave any public version; the name
itself is cleared from the person and their accounts, so nothing left can show it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import DiaryEntry, EvidenceItem, Identity, Person, Visibility


def shows_name(entry: DiaryEntry) -> bool:
    """Whether others may see who wrote the entry.

    Not when it is kept without a name, nor when its author chose to appear anonymously.
    """
    return not entry.anonymised and entry.visibility != Visibility.PUBLIC_ANONYMOUS


async def anonymise_entries(session: AsyncSession, *conditions: Any) -> int:
    """Mark the entries matching `conditions` as kept without a name; how many there were."""
    result = await session.exec(  # type: ignore[call-overload]
        update(DiaryEntry)
        .where(*conditions)
        .values(anonymised=True, visibility=Visibility.CLUSTER, moderation="", sources=None)
    )
    # The ids of the messages that gave them are the author's platform trail: they go too.
    await session.exec(  # type: ignore[call-overload]
        update(EvidenceItem)
        .where(col(EvidenceItem.entry_id).in_(select(DiaryEntry.id).where(*conditions)))
        .values(source_message=None)
    )
    return result.rowcount or 0


async def forget_name(session: AsyncSession, *, person_id: int) -> None:
    """Clear the person's name, and the names their platform accounts carried."""
    await session.exec(  # type: ignore[call-overload]
        update(Person).where(col(Person.id) == person_id).values(display_name="")
    )
    await session.exec(  # type: ignore[call-overload]
        update(Identity).where(col(Identity.person_id) == person_id).values(display_name="")
    )
