"""The analysts' export of a cluster as JSON-ready data: every format is drawn from this record.

`cluster_record` reads one cluster in a handful of queries (however many entries it has) and
returns what `storage/schemas/export-1.schema.json` describes: the cluster, its coordinators,
its schools with their focus and its history, each school's submitted entries with their
evidence, and the cluster's meetings. Drafts, entries deleted from view and evidence taken off
an entry are not in it, and what a person erased is no longer in the database to be read.

An author is named unless the entry is kept without a name (`storage.anonymise.shows_name`);
then their pseudonym stands instead, so analysts can follow one person's nameless entries. A
named entry never carries the pseudonym: next to a name it would undo every nameless one.

Given a `storage.publication.Publication`, the record is the public version's instead: only
the entries that may be published, shown as that module describes.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.anonymise import shows_name
from storage.entry_json import entry_record, evidence_files, iso
from storage.models import (
    Cluster,
    DiaryEntry,
    EntryStatus,
    EvidenceItem,
    Meeting,
    MeetingAnswer,
    Person,
    Role,
    RoleName,
    School,
    SchoolFocus,
)
from storage.publication import Publication

FORMAT = "cluster-diary/export/1"
COORDINATORS = (RoleName.CLUSTER_COORDINATOR, RoleName.NATIONAL_COORDINATOR)


def export_header(*, now: datetime, scope: str, public: bool = False) -> dict[str, Any]:
    """The fields of an export before its clusters: format, when, what was asked for."""
    return {"format": FORMAT, "generated": iso(now), "scope": scope, "public": public}


def entries_in(export: dict[str, Any]) -> int:
    """How many entries an export holds."""
    return sum(len(s["entries"]) for c in export["clusters"] for s in c["schools"])


def evidence_in(export: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every evidence item of every entry an export holds, in the order they are shown."""
    for cluster in export["clusters"]:
        for school in cluster["schools"]:
            for entry in school["entries"]:
                yield from entry["evidence"]


def photos_in(export: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The export's photos that come with their file, in the order they are shown."""
    return (item for item in evidence_in(export) if item["kind"] == "photo" and item["file"])


async def cluster_record(
    session: AsyncSession, *, cluster: Cluster, public: Publication | None = None
) -> dict[str, Any]:
    """One cluster with everything the export holds about it (see the module docstring)."""
    schools = list(
        (
            await session.exec(
                select(School).where(School.cluster_id == cluster.id).order_by(col(School.id))
            )
        ).all()
    )
    ids = [s.id for s in schools]
    focus = await _focus(session, ids)
    entries = await _entries(session, cluster, {s.id: s for s in schools}, public)
    submitted = [e["submitted"] for found in entries.values() for e in found]
    record = {
        "id": cluster.id,
        "name": cluster.name,
        "country": cluster.country,
        "language": cluster.language,
        "timezone": cluster.timezone,
        "ends_on": cluster.ends_on.isoformat() if cluster.ends_on else None,
        "period": {"first": min(submitted, default=None), "last": max(submitted, default=None)},
        "coordinators": await _coordinators(session, cluster),
        "schools": [
            {
                "id": school.id,
                "name": school.name,
                "kind": school.kind,
                "focus": next(
                    (f for f in reversed(focus[school.id]) if f["status"] == "confirmed"), None
                ),
                "focus_history": focus[school.id],
                "entries": entries[school.id],
            }
            for school in schools
        ],
        "meetings": [] if public else await _meetings(session, cluster),
    }
    if public is not None:
        public.cluster(record)
    return record


async def _coordinators(session: AsyncSession, cluster: Cluster) -> list[dict[str, Any]]:
    rows = await session.exec(
        select(Role.role, Person.display_name, Person.pseudonym)
        .join(Person, col(Person.id) == Role.person_id)
        .where(
            Role.cluster_id == cluster.id,
            col(Role.role).in_(COORDINATORS),
            col(Role.revoked_at).is_(None),
        )
        .order_by(col(Role.id))
    )
    return [
        {"role": role, "name": name or None, "pseudonym": None if name else pseudonym}
        for role, name, pseudonym in rows.all()
    ]


async def _focus(session: AsyncSession, school_ids: list[int | None]) -> dict[Any, list[Any]]:
    found: dict[Any, list[Any]] = defaultdict(list)
    rows = await session.exec(
        select(SchoolFocus)
        .where(col(SchoolFocus.school_id).in_(school_ids))
        .order_by(col(SchoolFocus.id))
    )
    for focus in rows.all():
        found[focus.school_id].append(
            {
                "title": focus.title,
                "rationale": focus.rationale,
                "status": focus.status,
                "proposed": iso(focus.created_at),
                "decided": iso(focus.decided_at),
                "decision_note": focus.decision_note,
            }
        )
    return found


async def _entries(
    session: AsyncSession, cluster: Cluster, schools: dict[Any, School], public: Publication | None
) -> dict[Any, list[dict[str, Any]]]:
    """Each school's submitted entries, oldest first, with their authors and current evidence."""
    wanted = (
        col(DiaryEntry.school_id).in_(list(schools)),
        DiaryEntry.status == EntryStatus.SUBMITTED,
        *(public.conditions() if public else ()),
    )
    items = await session.exec(
        select(EvidenceItem)
        .join(DiaryEntry, col(DiaryEntry.id) == EvidenceItem.entry_id)
        .where(*wanted, col(EvidenceItem.removed_at).is_(None))
        .order_by(col(EvidenceItem.entry_id), col(EvidenceItem.id))
    )
    evidence: dict[int, list[EvidenceItem]] = defaultdict(list)
    for item in items.all():
        evidence[item.entry_id].append(item)
    rows = await session.exec(
        select(DiaryEntry, Person.display_name, Person.pseudonym)
        .join(Person, col(Person.id) == DiaryEntry.author_id)
        .where(*wanted)
        .order_by(col(DiaryEntry.submitted_at), col(DiaryEntry.id))
    )
    found: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    listed = list(rows.all())
    teachers: dict[tuple[int, int], int] = {}
    if public is not None:
        consenting = await public.consenting(session, (e.author_id for e, _, _ in listed))
        listed = [row for row in listed if row[0].author_id in consenting]
        nameless = [(e.school_id, e.author_id) for e, n, _ in listed if not public.named(e, n)]
        teachers = await public.teachers(session, nameless)
    for entry, name, pseudonym in listed:
        assert entry.id is not None
        own = evidence[entry.id]
        files = evidence_files(entry.id, own)
        school = schools[entry.school_id]
        record = entry_record(entry, school=school, cluster=cluster, evidence=own, files=files)
        author: dict[str, Any] = {"name": None, "pseudonym": None, "teacher": None}
        if public is not None:
            if public.named(entry, name):
                author["name"] = name
            else:
                author["teacher"] = teachers[entry.school_id, entry.author_id]
        elif shows_name(entry) and name:
            author["name"] = name
        else:
            author["pseudonym"] = pseudonym
        record["author"] = author
        if public is not None:
            public.entry(record)
        found[entry.school_id].append(record)
    return found


async def _meetings(session: AsyncSession, cluster: Cluster) -> list[dict[str, Any]]:
    meetings = list(
        (
            await session.exec(
                select(Meeting)
                .where(Meeting.cluster_id == cluster.id)
                .order_by(col(Meeting.scheduled_at))
            )
        ).all()
    )
    answers: dict[Any, Counter[str]] = defaultdict(Counter)
    attended: Counter[Any] = Counter()
    rows = await session.exec(
        select(MeetingAnswer).where(col(MeetingAnswer.meeting_id).in_([m.id for m in meetings]))
    )
    for answer in rows.all():
        if answer.answer:
            answers[answer.meeting_id][answer.answer] += 1
        if answer.attended:
            attended[answer.meeting_id] += 1
    return [
        {
            "id": m.id,
            "starts": iso(m.scheduled_at),
            "ends": iso(m.ends_at),
            "place": m.place,
            "agenda": m.agenda,
            "status": m.status,
            "held": iso(m.held_at),
            "answers": dict(answers[m.id]),
            "attended": attended[m.id],
        }
        for m in meetings
    ]
