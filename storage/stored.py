"""What the bot keeps about one person, counted: the summary `/privacy` shows on request.

A handful of grouped queries, one per kind of record, so the summary costs the same for a person
with two entries or two hundred.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    ConsentRecord,
    DiaryEntry,
    EvidenceItem,
    Identity,
    MeetingAnswer,
    Reminder,
)
from storage.people import Membership, memberships


@dataclass
class Stored:
    """Everything kept about a person, by kind."""

    platforms: list[str] = field(default_factory=list)
    roles: list[Membership] = field(default_factory=list)
    consents: list[ConsentRecord] = field(default_factory=list)  # oldest first
    entries: Counter[str] = field(default_factory=Counter)  # by status
    evidence: Counter[str] = field(default_factory=Counter)  # by kind
    evidence_bytes: int = 0
    reminders: Counter[str] = field(default_factory=Counter)  # by status
    meetings_answered: int = 0


async def stored_about(session: AsyncSession, *, person_id: int) -> Stored:
    """What is stored about the person (their own records, not what others wrote)."""
    found = Stored()
    platforms = await session.exec(select(Identity.platform).where(Identity.person_id == person_id))
    found.platforms = sorted(set(platforms.all()))
    found.roles = await memberships(session, person_id=person_id)
    consents = await session.exec(
        select(ConsentRecord)
        .where(ConsentRecord.person_id == person_id)
        .order_by(col(ConsentRecord.id))
    )
    found.consents = list(consents.all())
    mine = DiaryEntry.author_id == person_id
    by_status = await session.exec(
        select(DiaryEntry.status, func.count()).where(mine).group_by(col(DiaryEntry.status))
    )
    found.entries = Counter(dict(by_status.all()))
    by_kind = await session.exec(
        select(EvidenceItem.kind, func.count(), func.coalesce(func.sum(EvidenceItem.size), 0))
        .join(DiaryEntry, col(DiaryEntry.id) == EvidenceItem.entry_id)
        .where(mine)
        .group_by(col(EvidenceItem.kind))
    )
    for kind, count, size in by_kind.all():
        found.evidence[kind] = count
        found.evidence_bytes += int(size or 0)
    reminders = await session.exec(
        select(Reminder.status, func.count())
        .where(Reminder.person_id == person_id)
        .group_by(col(Reminder.status))
    )
    found.reminders = Counter(dict(reminders.all()))
    answered = await session.exec(select(func.count()).where(MeetingAnswer.person_id == person_id))
    found.meetings_answered = answered.one()
    return found
