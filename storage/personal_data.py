"""Everything kept about one person, as JSON-ready data: what "Download my data" hands over.

The same records `storage.stored` counts, given in full: the person, their accounts, roles
(revoked ones too), consent answers, every entry they wrote whatever its status (with its
evidence, removed items included), their reminders, their meeting answers and the teacher
numbers they go by in public versions of the diary. Only their own
rows are read, so nothing another person wrote or is called appears; a meeting or a school is
described only by what the person saw of it (time, place, name).

One query per kind of record (entries and their evidence come in two joined queries, never one
per entry), so a person with two hundred entries costs the same handful of round trips.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.entry_json import entry_record, evidence_files, iso
from storage.models import (
    Cluster,
    ConsentRecord,
    DiaryEntry,
    EvidenceItem,
    Identity,
    Meeting,
    MeetingAnswer,
    Person,
    PublicAuthor,
    Reminder,
    Role,
    School,
)
from storage.types import utcnow

FORMAT = "cluster-diary/personal-data/1"


async def personal_data(
    session: AsyncSession, *, person_id: int, now: datetime | None = None
) -> dict[str, Any]:
    """Everything kept about the person (see the module docstring).

    Each evidence item with a stored file gets `file`, its path inside the download's archive;
    the caller sets it to None for a file it cannot include.

    Args:
        session: the session to read through.
        person_id: whose data.
        now: the export time to record (the current time when not given).
    """
    person = await session.get(Person, person_id)
    if person is None:
        raise LookupError(f"no person {person_id}")
    return {
        "format": FORMAT,
        "exported": iso(now or utcnow()),
        "person": {
            "display_name": person.display_name,
            "pseudonym": person.pseudonym,
            "language": person.language,
            "created": iso(person.created_at),
            "reminders_stopped": person.reminders_stopped,
            "reminders_paused_until": iso(person.reminders_paused_until),
        },
        "accounts": await _accounts(session, person_id),
        "roles": await _roles(session, person_id),
        "consent": await _consent(session, person_id),
        "entries": await _entries(session, person_id),
        "reminders": await _reminders(session, person_id),
        "meeting_answers": await _answers(session, person_id),
        "public_names": await _public_names(session, person_id),
    }


async def _public_names(session: AsyncSession, person_id: int) -> list[dict[str, Any]]:
    rows = await session.exec(
        select(PublicAuthor, School)
        .join(School, col(School.id) == PublicAuthor.school_id)
        .where(PublicAuthor.person_id == person_id)
        .order_by(col(PublicAuthor.id))
    )
    return [
        {"school": school.name, "teacher": alias.number, "since": iso(alias.created_at)}
        for alias, school in rows.all()
    ]


async def _accounts(session: AsyncSession, person_id: int) -> list[dict[str, Any]]:
    rows = await session.exec(
        select(Identity).where(Identity.person_id == person_id).order_by(col(Identity.id))
    )
    return [
        {
            "platform": i.platform,
            "external_id": i.external_id,
            "display_name": i.display_name,
            "private_chat_id": i.private_chat_id,
            "created": iso(i.created_at),
        }
        for i in rows.all()
    ]


async def _roles(session: AsyncSession, person_id: int) -> list[dict[str, Any]]:
    rows = await session.exec(
        select(Role, Cluster, School)
        .join(Cluster, col(Cluster.id) == Role.cluster_id)
        .outerjoin(School, col(School.id) == Role.school_id)
        .where(Role.person_id == person_id)
        .order_by(col(Role.id))
    )
    return [
        {
            "role": role.role,
            "cluster": cluster.name,
            "school": school.name if school else None,
            "since": iso(role.created_at),
            "revoked": iso(role.revoked_at),
        }
        for role, cluster, school in rows.all()
    ]


async def _consent(session: AsyncSession, person_id: int) -> list[dict[str, Any]]:
    rows = await session.exec(
        select(ConsentRecord)
        .where(ConsentRecord.person_id == person_id)
        .order_by(col(ConsentRecord.id))
    )
    return [
        {"version": c.version, "granted": c.granted, "when": iso(c.created_at)} for c in rows.all()
    ]


async def _entries(session: AsyncSession, person_id: int) -> list[dict[str, Any]]:
    mine = DiaryEntry.author_id == person_id
    entries = await session.exec(
        select(DiaryEntry, School, Cluster)
        .join(School, col(School.id) == DiaryEntry.school_id)
        .join(Cluster, col(Cluster.id) == School.cluster_id)
        .where(mine)
        .order_by(col(DiaryEntry.id))
    )
    # The join keeps it one query however many entries there are (no list of ids to send).
    items = await session.exec(
        select(EvidenceItem)
        .join(DiaryEntry, col(DiaryEntry.id) == EvidenceItem.entry_id)
        .where(mine)
        .order_by(col(EvidenceItem.entry_id), col(EvidenceItem.id))
    )
    evidence: dict[int, list[EvidenceItem]] = defaultdict(list)
    for item in items.all():
        evidence[item.entry_id].append(item)
    records = []
    for entry, school, cluster in entries.all():
        assert entry.id is not None
        own = evidence[entry.id]
        files = evidence_files(entry.id, own)
        records.append(
            entry_record(entry, school=school, cluster=cluster, evidence=own, files=files)
        )
    return records


async def _reminders(session: AsyncSession, person_id: int) -> list[dict[str, Any]]:
    rows = await session.exec(
        select(Reminder).where(Reminder.person_id == person_id).order_by(col(Reminder.due_at))
    )
    return [
        {"kind": r.kind, "status": r.status, "due": iso(r.due_at), "sent": iso(r.sent_at)}
        for r in rows.all()
    ]


async def _answers(session: AsyncSession, person_id: int) -> list[dict[str, Any]]:
    rows = await session.exec(
        select(MeetingAnswer, Meeting)
        .join(Meeting, col(Meeting.id) == MeetingAnswer.meeting_id)
        .where(MeetingAnswer.person_id == person_id)
        .order_by(col(Meeting.scheduled_at))
    )
    return [
        {
            "meeting": {
                "time": iso(meeting.scheduled_at),
                "place": meeting.place,
                "status": meeting.status,
            },
            "answer": answer.answer,
            "attended": answer.attended,
            "when": iso(answer.updated_at),
        }
        for answer, meeting in rows.all()
    ]
