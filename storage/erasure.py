"""Erasure: a person's contributions, or the whole person, removed from the database for real.

"Deleted" entries elsewhere are kept hidden (a person can still take a draft back, and an entry
deleted from `/mine` stays in the audit trail of the diary). Erasure is the other thing: the
rows themselves go. For the contributions that is every entry of the person (drafts and hidden
ones included) and their evidence rows; for the whole person also their conversation states,
reminders, meeting answers, roles, consent records, identities, their own audit rows and the
person row, while what they set up for others (an invite, a hub link, a meeting, a school's
focus, input dates, a moderation decision) stays without their name. The audit log then holds
one line saying that an erasure happened and when, with no person and no content.

Media files are shared by content (one file per distinct bytes), so a file goes only when no
evidence row is left that uses it; the caller removes those files after the transaction is
committed, so a rollback never leaves rows pointing at a file already gone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    AuditEvent,
    ConsentRecord,
    ConversationState,
    DiaryEntry,
    EvidenceItem,
    HubChat,
    Identity,
    InputPoint,
    Invite,
    Meeting,
    MeetingAnswer,
    Person,
    PublicAuthor,
    Reminder,
    Role,
    SchoolFocus,
)

# Rows that name the person only as who set something up for others: the name goes, they stay.
SET_UP_BY: tuple[tuple[Any, str], ...] = (
    (Invite, "created_by"),
    (InputPoint, "created_by"),
    (HubChat, "linked_by"),
    (Meeting, "created_by"),
    (SchoolFocus, "proposed_by"),
    (SchoolFocus, "decided_by"),
    (DiaryEntry, "moderated_by"),
    # The number stays taken, so it never stands for someone else in a later public version.
    (PublicAuthor, "person_id"),
)
# Rows that are the person's own, by the column naming them.
OWN: tuple[tuple[Any, str], ...] = (
    (Reminder, "person_id"),
    (MeetingAnswer, "person_id"),
    (Role, "person_id"),
    (ConsentRecord, "person_id"),
    (AuditEvent, "person_id"),
)


@dataclass
class Erased:
    """What an erasure removed; `files` are the media to remove once committed."""

    entries: int = 0
    evidence: int = 0
    files: list[str] = field(default_factory=list)


async def erase_evidence(session: AsyncSession, *, entry_ids: Sequence[int]) -> Erased:
    """Remove the evidence rows of these entries; the files no other row uses are listed."""
    if not entry_ids:
        return Erased()
    items = await session.exec(
        select(EvidenceItem.media_hash).where(col(EvidenceItem.entry_id).in_(entry_ids))
    )
    hashes = {h for h in items.all() if h}
    evidence = await session.exec(  # type: ignore[call-overload]
        delete(EvidenceItem).where(col(EvidenceItem.entry_id).in_(entry_ids))
    )
    still_used = set()
    if hashes:
        used = await session.exec(
            select(EvidenceItem.media_hash, func.count())
            .where(col(EvidenceItem.media_hash).in_(sorted(hashes)))
            .group_by(col(EvidenceItem.media_hash))
        )
        still_used = {h for h, _ in used.all()}
    return Erased(evidence=evidence.rowcount or 0, files=sorted(hashes - still_used))


async def erase_entries(session: AsyncSession, *, entry_ids: Sequence[int]) -> Erased:
    """Remove these entries and their evidence rows; the files no other row uses are listed."""
    erased = await erase_evidence(session, entry_ids=entry_ids)
    if entry_ids:
        entries = await session.exec(  # type: ignore[call-overload]
            delete(DiaryEntry).where(col(DiaryEntry.id).in_(entry_ids))
        )
        erased.entries = entries.rowcount or 0
    return erased


async def entries_by(session: AsyncSession, *, person_id: int) -> list[int]:
    """The ids of every entry the person wrote, whatever its status."""
    rows = await session.exec(select(DiaryEntry.id).where(DiaryEntry.author_id == person_id))
    return [i for i in rows.all() if i is not None]


async def erase_contributions(session: AsyncSession, *, person_id: int) -> Erased:
    """Every entry of the person and its evidence, gone; one content-free audit line."""
    erased = await erase_entries(session, entry_ids=await entries_by(session, person_id=person_id))
    session.add(
        AuditEvent(
            person_id=person_id,
            action="privacy.contributions_erased",
            detail={"entries": erased.entries, "evidence": erased.evidence},
        )
    )
    return erased


async def forget_person(session: AsyncSession, *, person_id: int) -> None:
    """Everything of the person but their entries and the person row itself (see the docstring).

    What they set up for others stays without their name; their own records go.
    """
    identities = select(Identity.id).where(Identity.person_id == person_id)
    await session.exec(  # type: ignore[call-overload]
        delete(ConversationState).where(col(ConversationState.identity_id).in_(identities))
    )
    for table, column in SET_UP_BY:
        await session.exec(  # type: ignore[call-overload]
            update(table).where(getattr(table, column) == person_id).values({column: None})
        )
    for table, column in OWN:
        await session.exec(  # type: ignore[call-overload]
            delete(table).where(getattr(table, column) == person_id)
        )
    await session.exec(delete(Identity).where(col(Identity.person_id) == person_id))  # type: ignore[call-overload]


async def erase_person(session: AsyncSession, *, person_id: int) -> Erased:
    """The whole person, gone (see the module docstring); one audit line without them."""
    erased = await erase_entries(session, entry_ids=await entries_by(session, person_id=person_id))
    await forget_person(session, person_id=person_id)
    await session.exec(delete(Person).where(col(Person.id) == person_id))  # type: ignore[call-overload]
    session.add(AuditEvent(person_id=None, action="privacy.person_erased"))
    await session.flush()
    return erased
