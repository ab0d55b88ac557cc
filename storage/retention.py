"""Retention: what happens to a cluster's data once it has been kept long enough.

A cluster's data is kept `retention_months` (a setting, stated in the consent text) after its
end date. Then `apply_retention` keeps the submitted entries as the diary's record, without
their authors' names (under pseudonyms, `storage.anonymise`), and removes the rest:

- drafts and entries deleted from view, and the evidence of every entry (rows, and the files no
  other cluster's evidence uses, which the caller removes after the commit);
- each member's role in the cluster; a member with no role left anywhere else is forgotten
  (name, accounts, consent records, reminders, meeting answers, conversation states, their own
  audit rows), and the person row goes too unless it is the pseudonymous author of kept entries;
- the cluster's planned messages, meeting answers and hub posts, invites, hub links and digest
  marks. Meetings, terms, input dates and focus decisions stay as the cluster's record,
  without anyone's name, also of members still active in another cluster.

A dry run is the same work in a transaction that is rolled back, so it reports exactly what
applying would do. The cluster records when retention was applied, and the audit log one line
with the counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.anonymise import anonymise_entries, forget_name
from storage.erasure import erase_entries, erase_evidence, forget_person
from storage.models import (
    AuditEvent,
    Cluster,
    DiaryEntry,
    DigestMark,
    EntryStatus,
    HubChat,
    InputPoint,
    Invite,
    Meeting,
    MeetingAnswer,
    MeetingPost,
    Person,
    Reminder,
    Role,
    School,
    SchoolFocus,
)


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day when it has no such day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=candidate)
        except ValueError:
            continue
    raise AssertionError("every month has a 28th")


def retention_day(cluster: Cluster, months: int) -> date | None:
    """The first day the cluster's data is due for retention; None without an end date."""
    return add_months(cluster.ends_on, months) if cluster.ends_on is not None else None


@dataclass
class Retained:
    """What retention did (or, in a dry run, would do) to one cluster."""

    entries_kept: int = 0  # submitted entries kept without names
    entries_erased: int = 0  # drafts and entries deleted from view
    evidence_erased: int = 0
    roles_removed: int = 0
    people_forgotten: int = 0
    people_erased: int = 0
    other_rows: int = 0  # planned messages, answers, posts, invites, hub links, digest marks
    files: list[str] = field(default_factory=list)  # to remove from the disk after the commit

    def counts(self) -> dict[str, int]:
        """The numbers, for the audit line and the report."""
        found = asdict(self)
        found["files"] = len(self.files)
        return found


async def _ids(session: AsyncSession, query: Any) -> list[int]:
    return [i for i in (await session.exec(query)).all() if i is not None]


async def _remove(session: AsyncSession, table: Any, *conditions: Any) -> int:
    result = await session.exec(delete(table).where(*conditions))  # type: ignore[call-overload]
    return result.rowcount or 0


async def apply_retention(session: AsyncSession, *, cluster: Cluster, now: datetime) -> Retained:
    """Purge and anonymise the cluster's data as the module docstring says; nothing committed."""
    done = Retained()
    schools = await _ids(session, select(School.id).where(School.cluster_id == cluster.id))
    in_cluster = col(DiaryEntry.school_id).in_(schools)
    submitted = DiaryEntry.status == EntryStatus.SUBMITTED
    gone = await erase_entries(
        session, entry_ids=await _ids(session, select(DiaryEntry.id).where(in_cluster, ~submitted))
    )
    kept_ids = await _ids(session, select(DiaryEntry.id).where(in_cluster))
    evidence = await erase_evidence(session, entry_ids=kept_ids)
    done.entries_erased, done.evidence_erased = gone.entries, gone.evidence + evidence.evidence
    done.files = sorted({*gone.files, *evidence.files})
    done.entries_kept = await anonymise_entries(session, in_cluster)
    await _forget_members(session, cluster=cluster, done=done)
    # What stays as the cluster's record keeps no one's name, also of members active elsewhere.
    for table, condition, columns in (
        (Meeting, Meeting.cluster_id == cluster.id, ("created_by",)),
        (InputPoint, InputPoint.cluster_id == cluster.id, ("created_by",)),
        (SchoolFocus, col(SchoolFocus.school_id).in_(schools), ("proposed_by", "decided_by")),
        (DiaryEntry, in_cluster, ("moderated_by",)),
    ):
        await session.exec(  # type: ignore[call-overload]
            update(table).where(condition).values(dict.fromkeys(columns))
        )
    meetings = select(Meeting.id).where(Meeting.cluster_id == cluster.id)
    hubs = select(HubChat.id).where(HubChat.cluster_id == cluster.id)
    done.other_rows = sum(
        [
            await _remove(session, Reminder, Reminder.cluster_id == cluster.id),
            await _remove(session, MeetingAnswer, col(MeetingAnswer.meeting_id).in_(meetings)),
            await _remove(session, MeetingPost, col(MeetingPost.hub_id).in_(hubs)),
            await _remove(session, Invite, Invite.cluster_id == cluster.id),
            await _remove(session, DigestMark, DigestMark.cluster_id == cluster.id),
            await _remove(session, HubChat, HubChat.cluster_id == cluster.id),
        ]
    )
    cluster.retention_applied_at = now
    session.add(cluster)
    detail: dict[str, Any] = {"cluster": cluster.id, **done.counts()}
    session.add(
        AuditEvent(action="retention.applied", target=f"cluster:{cluster.id}", detail=detail)
    )
    await session.flush()
    return done


async def _forget_members(session: AsyncSession, *, cluster: Cluster, done: Retained) -> None:
    """Members lose their role here; those with none elsewhere are forgotten (see docstring)."""
    members = set(await _ids(session, select(Role.person_id).where(Role.cluster_id == cluster.id)))
    done.roles_removed = await _remove(session, Role, Role.cluster_id == cluster.id)
    if not members:
        return
    still_member = col(Role.revoked_at).is_(None)
    elsewhere = set(
        await _ids(
            session, select(Role.person_id).where(col(Role.person_id).in_(members), still_member)
        )
    )
    authors = set(
        await _ids(
            session, select(DiaryEntry.author_id).where(col(DiaryEntry.author_id).in_(members))
        )
    )
    for person_id in sorted(members - elsewhere):
        await forget_person(session, person_id=person_id)
        if person_id in authors:
            await forget_name(session, person_id=person_id)
            done.people_forgotten += 1
        else:
            await _remove(session, Person, col(Person.id) == person_id)
            done.people_erased += 1


async def due_for_retention(
    session: AsyncSession, *, today: date, months: int
) -> Sequence[tuple[Cluster, date]]:
    """Clusters past their end date whose retention has not been applied, with its day."""
    clusters = await session.exec(
        select(Cluster).where(
            col(Cluster.ends_on).is_not(None),
            col(Cluster.ends_on) < today,
            col(Cluster.retention_applied_at).is_(None),
        )
    )
    found = []
    for cluster in clusters.all():
        day = retention_day(cluster, months)
        assert day is not None
        found.append((cluster, day))
    return found
