"""Moderation: an entry meant for the public version waits for a moderator's approval.

The rule lives here, where every write passes (the session's flush), so no flow has to remember
it: a submitted entry whose author chose a public visibility is `pending` as soon as it is
submitted, made public, or changed (its text, or its evidence) after a moderator saw it; an
entry that stays in the cluster needs no moderation. Only a moderator's decision, recorded with
`decide`, sets `approved` or `returned`. The moderators of a cluster are its coordinators
(national ones included) and the lead of its mentor school: the briefing has the mentor school
moderate the shared space.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    DiaryEntry,
    EntryStatus,
    EvidenceItem,
    RoleName,
    School,
    SchoolKind,
    Visibility,
)
from storage.people import Membership

# What an author changes that a moderator must see again.
CONTENT = ("activity", "reflection", "visibility", "status")


class Moderation(StrEnum):
    """Where a public entry stands."""

    NONE = ""
    PENDING = "pending"
    APPROVED = "approved"
    RETURNED = "returned"


def moderates(membership: Membership) -> bool:
    """Whether this role moderates its cluster's public entries."""
    if membership.is_coordinator:
        return True
    school = membership.school
    return (
        membership.role == RoleName.SCHOOL_LEAD
        and school is not None
        and school.kind == SchoolKind.MENTOR
    )


def _wants_public(entry: DiaryEntry) -> bool:
    return entry.status == EntryStatus.SUBMITTED and entry.visibility != Visibility.CLUSTER


def _changed(entry: DiaryEntry, names: tuple[str, ...]) -> bool:
    state = inspect(entry)
    return any(state.attrs[name].history.has_changes() for name in names)


def _recheck(entry: DiaryEntry, *, content_changed: bool) -> None:
    if not _wants_public(entry):
        entry.moderation = Moderation.NONE
    elif content_changed or entry.moderation == Moderation.NONE:
        entry.moderation = Moderation.PENDING


def _on_flush(session: Session, _context: object, _instances: object) -> None:
    for obj in session.new:
        if isinstance(obj, DiaryEntry):
            _recheck(obj, content_changed=True)
    for obj in session.dirty:
        if isinstance(obj, DiaryEntry) and session.is_modified(obj):
            decided = _changed(obj, ("moderation",))
            _recheck(obj, content_changed=not decided and _changed(obj, CONTENT))
    # Evidence added to or taken off an entry changes what the public would see.
    touched = {
        obj.entry_id
        for obj in (*session.new, *(o for o in session.dirty if session.is_modified(o)))
        if isinstance(obj, EvidenceItem) and obj.entry_id is not None
    }
    with session.no_autoflush:
        for entry_id in touched:
            entry = session.get(DiaryEntry, entry_id)
            if entry is not None and _wants_public(entry):
                entry.moderation = Moderation.PENDING


def install() -> None:
    """Apply the rule to every session of this process (once, however often it is called)."""
    if not event.contains(Session, "before_flush", _on_flush):
        event.listen(Session, "before_flush", _on_flush)


async def waiting(session: AsyncSession, *, cluster_ids: list[int]) -> list[DiaryEntry]:
    """The entries of these clusters waiting for a moderator, oldest first."""
    rows = await session.exec(
        select(DiaryEntry)
        .join(School, col(School.id) == DiaryEntry.school_id)
        .where(
            col(School.cluster_id).in_(cluster_ids),
            DiaryEntry.moderation == Moderation.PENDING,
        )
        .order_by(col(DiaryEntry.submitted_at), col(DiaryEntry.id))
    )
    return list(rows.all())


def decide(
    entry: DiaryEntry, *, approve: bool, moderator_id: int, note: str, now: datetime
) -> dict[str, Any]:
    """Record a moderator's decision on the entry; the audit detail of it."""
    entry.moderation = Moderation.APPROVED if approve else Moderation.RETURNED
    entry.moderated_by, entry.moderated_at, entry.moderation_note = moderator_id, now, note
    return {"entry": entry.id, "decision": entry.moderation}
