"""Queries about the diary itself: entries, evidence and school focus proposals."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    DiaryEntry,
    EntryStatus,
    EvidenceItem,
    FocusStatus,
    School,
    SchoolFocus,
)
from storage.people import audit
from storage.types import utcnow


async def open_draft(session: AsyncSession, *, author_id: int) -> DiaryEntry | None:
    """The person's unfinished entry, if they have one (the newest)."""
    return (
        await session.exec(
            select(DiaryEntry)
            .where(DiaryEntry.author_id == author_id, DiaryEntry.status == EntryStatus.DRAFT)
            .order_by(col(DiaryEntry.id).desc())
        )
    ).first()


async def start_draft(
    session: AsyncSession, *, author_id: int, school_id: int, section: str, language: str
) -> DiaryEntry:
    """Create an empty draft entry for one section of a school's template."""
    entry = DiaryEntry(author_id=author_id, school_id=school_id, section=section, language=language)
    session.add(entry)
    await session.flush()
    return entry


async def own_entry(session: AsyncSession, *, entry_id: int, author_id: int) -> DiaryEntry | None:
    """An entry by id, only if this person wrote it and it is not deleted."""
    entry = await session.get(DiaryEntry, entry_id)
    if entry is None or entry.author_id != author_id or entry.status == EntryStatus.DELETED:
        return None
    return entry


async def entries_of(
    session: AsyncSession, *, author_id: int, limit: int = 10, offset: int = 0
) -> list[tuple[DiaryEntry, int]]:
    """The person's submitted entries, newest first, each with its evidence count.

    `offset` skips that many of the newest (the pages of `/mine`).

    The count is a subquery per entry shown (through the evidence's `entry_id` index), and the
    entries come in the order of the `(author_id, status, submitted_at, id)` index, so the work
    is bounded by `limit`, never by the size of the evidence table or of the diary.
    """
    evidence = (
        select(func.count())
        .where(col(EvidenceItem.entry_id) == DiaryEntry.id, col(EvidenceItem.removed_at).is_(None))
        .correlate(DiaryEntry)
        .scalar_subquery()
    )
    rows = await session.exec(
        select(DiaryEntry, evidence)
        .where(DiaryEntry.author_id == author_id, DiaryEntry.status == EntryStatus.SUBMITTED)
        .order_by(col(DiaryEntry.submitted_at).desc(), col(DiaryEntry.id).desc())
        .offset(offset)
        .limit(limit)
    )
    return [(entry, int(count)) for entry, count in rows]


async def live_entries(session: AsyncSession, *, author_id: int) -> list[DiaryEntry]:
    """Every entry of the person that is not deleted, drafts included."""
    rows = await session.exec(
        select(DiaryEntry).where(
            DiaryEntry.author_id == author_id, DiaryEntry.status != EntryStatus.DELETED
        )
    )
    return list(rows.all())


async def count_entries(session: AsyncSession, *, author_id: int) -> int:
    """How many submitted entries the person has."""
    return (
        await session.exec(
            select(func.count()).where(
                DiaryEntry.author_id == author_id, DiaryEntry.status == EntryStatus.SUBMITTED
            )
        )
    ).one()


async def evidence_of(session: AsyncSession, *, entry_id: int) -> list[EvidenceItem]:
    """The entry's evidence that has not been removed, in the order it was added."""
    rows = await session.exec(
        select(EvidenceItem)
        .where(EvidenceItem.entry_id == entry_id, col(EvidenceItem.removed_at).is_(None))
        .order_by(col(EvidenceItem.id))
    )
    return list(rows.all())


# The part of an entry that is its reflection; the others are its section's question keys.
REFLECTION = "reflection"


def set_part(entry: DiaryEntry, part: str, text: str, message_id: str) -> None:
    """Give `part` of the entry (a question's key, or `REFLECTION`) the text of a message.

    The platform message `message_id` is recorded as the part's source (`_note_source`), so its
    deletion on the platform can take the text out again.
    """
    if part == REFLECTION:
        entry.reflection = text
    else:
        entry.activity = {**entry.activity, part: text}
    _note_source(entry, message_id, part)


def _note_source(entry: DiaryEntry, message_id: str, part: str) -> None:
    """Record that the platform message `message_id` gave `part` of the entry.

    A part has one source, the message that gave its current text: the one it replaces is
    forgotten (and with an empty `message_id`, as from a channel without ids, the part has
    none), so an entry's sources stay as few as its parts.
    """
    sources = {message: was for message, was in (entry.sources or {}).items() if was != part}
    if message_id:
        sources[message_id] = part
    entry.sources = sources or None  # a new dict, so the JSON column is seen to change


def drop_source(entry: DiaryEntry, message_id: str) -> str | None:
    """Forget `message_id` as a source of the entry; the part it gave, or None."""
    sources = dict(entry.sources or {})
    part = sources.pop(message_id, None)
    if part is not None:
        entry.sources = sources or None
    return part


async def entry_with_source(
    session: AsyncSession, *, author_id: int, message_id: str
) -> DiaryEntry | None:
    """The person's draft or submitted entry one of whose parts came from `message_id`.

    Only the person's own entries are read (through the `(author_id, status, ...)` index), and
    of those only their ids and sources until one matches: a person has tens of entries, not
    thousands, and the key is matched here rather than by each database's own JSON functions.
    """
    rows = await session.exec(
        select(DiaryEntry.id, DiaryEntry.sources).where(
            DiaryEntry.author_id == author_id,
            col(DiaryEntry.status).in_([EntryStatus.DRAFT, EntryStatus.SUBMITTED]),
        )
    )
    found = next((entry_id for entry_id, sources in rows if message_id in (sources or {})), None)
    return await session.get(DiaryEntry, found) if found is not None else None


async def evidence_from(
    session: AsyncSession, *, author_id: int, message_id: str
) -> list[tuple[EvidenceItem, DiaryEntry]]:
    """The evidence `message_id` brought to the person's own live entries, not removed yet."""
    rows = await session.exec(
        select(EvidenceItem, DiaryEntry)
        .join(DiaryEntry, col(DiaryEntry.id) == EvidenceItem.entry_id)
        .where(
            EvidenceItem.source_message == message_id,
            col(EvidenceItem.removed_at).is_(None),
            DiaryEntry.author_id == author_id,
            DiaryEntry.status != EntryStatus.DELETED,
        )
        .order_by(col(EvidenceItem.id))
    )
    return list(rows.all())


async def audit_entry(
    session: AsyncSession,
    *,
    person_id: int | None,
    entry: DiaryEntry,
    action: str,
    **detail: object,
) -> None:
    """Record in the audit log that `person_id` changed `entry` (`action`, with `detail`)."""
    await audit(
        session, person_id=person_id, action=action, target=f"entry:{entry.id}", detail=detail
    )


def touch(entry: DiaryEntry, now: datetime | None = None) -> None:
    """Mark an entry as changed now."""
    entry.updated_at = now or utcnow()


async def delete_entry(session: AsyncSession, *, entry: DiaryEntry, person_id: int) -> None:
    """Soft-delete an entry (and hide its evidence), leaving an audit record."""
    now = utcnow()
    was = entry.status
    entry.status = EntryStatus.DELETED
    entry.deleted_at = now
    touch(entry, now)
    session.add(entry)
    for item in await evidence_of(session, entry_id=entry.id):  # type: ignore[arg-type]
        item.removed_at = now
        session.add(item)
    await audit(
        session,
        person_id=person_id,
        action="entry.deleted" if was == EntryStatus.SUBMITTED else "draft.discarded",
        target=f"entry:{entry.id}",
    )


async def focus_history(session: AsyncSession, *, school_id: int) -> list[SchoolFocus]:
    """Every focus proposal of a school, newest first."""
    rows = await session.exec(
        select(SchoolFocus)
        .where(SchoolFocus.school_id == school_id)
        .order_by(col(SchoolFocus.id).desc())
    )
    return list(rows.all())


async def confirmed_focus(session: AsyncSession, *, school_id: int) -> SchoolFocus | None:
    """The school's current confirmed focus."""
    return (
        await session.exec(
            select(SchoolFocus)
            .where(SchoolFocus.school_id == school_id, SchoolFocus.status == FocusStatus.CONFIRMED)
            .order_by(col(SchoolFocus.id).desc())
        )
    ).first()


async def pending_focus(session: AsyncSession, *, school_ids: list[int]) -> list[SchoolFocus]:
    """Proposals waiting for a coordinator's decision at these schools, oldest first."""
    rows = await session.exec(
        select(SchoolFocus)
        .where(
            col(SchoolFocus.school_id).in_(school_ids),
            SchoolFocus.status == FocusStatus.PROPOSED,
        )
        .order_by(col(SchoolFocus.id))
    )
    return list(rows.all())


class FocusDecided(Exception):
    """The proposal was decided by someone else meanwhile; `focus` shows how it stands now."""

    def __init__(self, focus: SchoolFocus) -> None:
        super().__init__(f"focus {focus.id} is {focus.status}")
        self.focus = focus


async def decide_focus(
    session: AsyncSession, *, focus: SchoolFocus, confirm: bool, person_id: int, note: str = ""
) -> None:
    """Confirm a proposal (superseding the school's confirmed focus) or send it back.

    Only a proposal still waiting for a decision can be decided: the decision is one conditional
    UPDATE, so of two coordinators acting on the same proposal (one from an old message, say)
    only the first decides.

    Raises:
        FocusDecided: the proposal is no longer waiting for a decision.
    """
    claimed = await session.exec(
        update(SchoolFocus)  # type: ignore[call-overload]
        .where(col(SchoolFocus.id) == focus.id, col(SchoolFocus.status) == FocusStatus.PROPOSED)
        .values(
            status=FocusStatus.CONFIRMED if confirm else FocusStatus.REVISE,
            decided_by=person_id,
            decided_at=utcnow(),
            decision_note=note,
        )
    )
    await session.refresh(focus)
    if claimed.rowcount != 1:
        raise FocusDecided(focus)
    if confirm:
        await session.exec(
            update(SchoolFocus)  # type: ignore[call-overload]
            .where(
                col(SchoolFocus.school_id) == focus.school_id,
                col(SchoolFocus.status) == FocusStatus.CONFIRMED,
                col(SchoolFocus.id) != focus.id,
            )
            .values(status=FocusStatus.SUPERSEDED)
        )
    await audit(
        session,
        person_id=person_id,
        action="focus.confirmed" if confirm else "focus.revise",
        target=f"focus:{focus.id}",
    )


def quiet_days(school: School, last_submitted: datetime | None, now: datetime) -> int:
    """Days a school has been without a submitted entry: since its last one, or since it joined.

    The one rule behind nudges, the coordinators' summary and the digest's quiet schools.
    """
    since = max(filter(None, (last_submitted, school.created_at)))
    return (now - since).days
