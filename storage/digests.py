"""What a digest of a cluster's diary shows, read in a handful of queries, never one per entry.

Only submitted, undeleted entries of the cluster's own mentee schools count (or of one school,
for a school lead's private digest); drafts and deleted entries never appear, and nothing of
another cluster is read. An author who chose an anonymous public visibility is not named.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.anonymise import shows_name
from storage.db import insert_for
from storage.diary import quiet_days
from storage.meetings import answers_of, next_meeting, tally
from storage.models import (
    Cluster,
    DiaryEntry,
    DigestMark,
    EntryStatus,
    EvidenceItem,
    FocusStatus,
    Meeting,
    Person,
    School,
    SchoolFocus,
    SchoolKind,
)

LISTED = 5  # contributions listed per school, the newest; the rest are only counted
TRANSCRIPTS = 3  # per school: the newest few, a line each
# Where a digest starts when its chat has had none: a month on demand, a week for the weekly one.
ON_DEMAND = timedelta(days=30)
WEEKLY = timedelta(days=7)
EXCERPT = 90  # characters of an entry's first answer


@dataclass(frozen=True)
class Contribution:
    """One submitted entry as a digest lists it."""

    section: str
    author: str  # "" when the author chose to be anonymous or is kept without a name
    excerpt: str
    pseudonym: str = ""  # set when the entry is kept without its author's name


@dataclass
class SchoolDigest:
    """One mentee school's part of a digest."""

    school: School
    focus: str | None = None
    added: Counter[str] = field(default_factory=Counter)  # entries submitted, by section
    contributions: list[Contribution] = field(default_factory=list)  # the newest LISTED
    evidence: Counter[str] = field(default_factory=Counter)  # by kind
    transcripts: list[str] = field(default_factory=list)
    last_submitted: datetime | None = None  # ever, for "no contribution for a while"

    def idle_days(self, now: datetime) -> int:
        """Days since the school's last submitted entry (or since it joined)."""
        return quiet_days(self.school, self.last_submitted, now)


@dataclass
class Digest:
    """Everything one digest says, for one period."""

    cluster: Cluster
    since: datetime
    until: datetime
    schools: list[SchoolDigest]
    meeting: Meeting | None = None
    tally: Counter[str] = field(default_factory=Counter)

    @property
    def contributions(self) -> int:
        """How many entries were submitted in the period, all schools together."""
        return sum(s.added.total() for s in self.schools)


def excerpt_of(entry: DiaryEntry, order: tuple[str, ...]) -> str:
    """The entry's first answer (in question order), else its reflection, as one short line."""
    answers = [str(entry.activity.get(key) or "") for key in order]
    first = next((a for a in answers if a.strip()), "") or entry.reflection
    line = " ".join(first.split())
    return line if len(line) <= EXCERPT else f"{line[: EXCERPT - 1].rstrip()}…"


async def digest_of(
    session: AsyncSession,
    *,
    cluster: Cluster,
    since: datetime,
    until: datetime,
    questions: dict[str, tuple[str, ...]],
    school_id: int | None = None,
) -> Digest:
    """The digest of the cluster's mentee schools (or one school) for [since, until).

    `questions` gives each section's question order, for the excerpts.
    """
    query = select(School).where(School.cluster_id == cluster.id, School.kind == SchoolKind.MENTEE)
    if school_id is not None:
        query = query.where(School.id == school_id)
    schools = {
        s.id: SchoolDigest(s) for s in (await session.exec(query.order_by(col(School.name))))
    }
    ids = [i for i in schools if i is not None]
    digest = Digest(cluster, since, until, [schools[i] for i in ids])
    if ids:
        await _focus(session, schools, ids)
        await _contributions(session, schools, ids, since, until, questions)
        await _evidence(session, schools, ids, since, until)
        await _last_submitted(session, schools, ids)
    digest.meeting = await next_meeting(session, cluster_id=cluster.id or 0, now=until)
    if digest.meeting is not None and digest.meeting.id is not None:
        digest.tally = tally(await answers_of(session, meeting_id=digest.meeting.id))
    return digest


def _in_period(since: datetime, until: datetime) -> tuple[Any, ...]:
    return (
        DiaryEntry.status == EntryStatus.SUBMITTED,
        col(DiaryEntry.submitted_at) >= since,
        col(DiaryEntry.submitted_at) < until,
    )


async def _focus(session: AsyncSession, schools: dict[Any, SchoolDigest], ids: list[int]) -> None:
    rows = await session.exec(
        select(SchoolFocus)
        .where(col(SchoolFocus.school_id).in_(ids), SchoolFocus.status == FocusStatus.CONFIRMED)
        .order_by(col(SchoolFocus.id))
    )
    for focus in rows.all():  # the newest confirmed one wins
        schools[focus.school_id].focus = focus.title


async def _contributions(
    session: AsyncSession,
    schools: dict[Any, SchoolDigest],
    ids: list[int],
    since: datetime,
    until: datetime,
    questions: dict[str, tuple[str, ...]],
) -> None:
    counts = await session.exec(
        select(DiaryEntry.school_id, DiaryEntry.section, func.count())
        .where(col(DiaryEntry.school_id).in_(ids), *_in_period(since, until))
        .group_by(col(DiaryEntry.school_id), col(DiaryEntry.section))
    )
    for school, section, count in counts.all():
        schools[school].added[section] = count
    # Only each school's newest few are read whole: the cost stays flat however long the period.
    newest = _newest(
        DiaryEntry.id,
        DiaryEntry.school_id,
        (col(DiaryEntry.submitted_at).desc(), col(DiaryEntry.id).desc()),
        col(DiaryEntry.school_id).in_(ids),
        *_in_period(since, until),
    )
    rows = await session.exec(
        select(DiaryEntry, Person.display_name, Person.pseudonym)
        .join(newest, newest.c.id == DiaryEntry.id)
        .join(Person, col(Person.id) == DiaryEntry.author_id)
        .where(newest.c.n <= LISTED)
        .order_by(col(DiaryEntry.submitted_at).desc(), col(DiaryEntry.id).desc())
    )
    for entry, name, pseudonym in rows.all():
        anonymous = not shows_name(entry)
        schools[entry.school_id].contributions.append(
            Contribution(
                section=entry.section,
                author="" if anonymous else name,
                excerpt=excerpt_of(entry, questions.get(entry.section, ())),
                pseudonym=pseudonym if entry.anonymised else "",
            )
        )


async def _evidence(
    session: AsyncSession,
    schools: dict[Any, SchoolDigest],
    ids: list[int],
    since: datetime,
    until: datetime,
) -> None:
    live = (
        col(DiaryEntry.school_id).in_(ids),
        *_in_period(since, until),
        col(EvidenceItem.removed_at).is_(None),
    )
    counts = await session.exec(
        select(DiaryEntry.school_id, EvidenceItem.kind, func.count())
        .join(DiaryEntry, col(DiaryEntry.id) == EvidenceItem.entry_id)
        .where(*live)
        .group_by(col(DiaryEntry.school_id), col(EvidenceItem.kind))
    )
    for school, kind, count in counts.all():
        schools[school].evidence[kind] = count
    newest = _newest(
        EvidenceItem.id,
        DiaryEntry.school_id,
        (col(EvidenceItem.id).desc(),),
        *live,
        col(EvidenceItem.transcript).is_not(None),
        join=True,
    )
    transcripts = await session.exec(
        select(newest.c.school_id, EvidenceItem.transcript)
        .join(newest, newest.c.id == EvidenceItem.id)
        .where(newest.c.n <= TRANSCRIPTS)
        .order_by(col(EvidenceItem.id).desc())
    )
    for school, text in transcripts.all():
        line = " ".join((text or "").split())
        if line:
            short = line if len(line) <= EXCERPT else f"{line[: EXCERPT - 1].rstrip()}…"
            schools[school].transcripts.append(short)


def _newest(key: Any, school: Any, order: tuple[Any, ...], *where: Any, join: bool = False) -> Any:
    """A subquery of `key` and `school_id` ranked newest first within each school (`n`)."""
    rank = func.row_number().over(partition_by=school, order_by=order).label("n")
    query = select(key.label("id"), school.label("school_id"), rank)
    if join:  # evidence: its school is its entry's
        query = query.join(DiaryEntry, col(DiaryEntry.id) == EvidenceItem.entry_id)
    return query.where(*where).subquery()


async def _last_submitted(
    session: AsyncSession, schools: dict[Any, SchoolDigest], ids: list[int]
) -> None:
    rows = await session.exec(
        select(DiaryEntry.school_id, func.max(DiaryEntry.submitted_at))
        .where(col(DiaryEntry.school_id).in_(ids), DiaryEntry.status == EntryStatus.SUBMITTED)
        .group_by(col(DiaryEntry.school_id))
    )
    for school, last in rows.all():
        schools[school].last_submitted = last


async def section_counts(
    session: AsyncSession, *, school_ids: list[int], since: datetime, until: datetime
) -> dict[int, Counter[str]]:
    """Submitted entries per school and section in [since, until): what the chart draws."""
    found: dict[int, Counter[str]] = defaultdict(Counter)
    if not school_ids:
        return found
    rows = await session.exec(
        select(DiaryEntry.school_id, DiaryEntry.section, func.count())
        .where(col(DiaryEntry.school_id).in_(school_ids), *_in_period(since, until))
        .group_by(col(DiaryEntry.school_id), col(DiaryEntry.section))
    )
    for school, section, count in rows.all():
        found[school][section] = count
    return found


def _mark(chat_key: str, cluster_id: int, school_id: int | None) -> tuple[Any, ...]:
    return (
        DigestMark.chat_key == chat_key,
        DigestMark.cluster_id == cluster_id,
        DigestMark.school_id == (school_id or 0),
    )


async def digest_start(
    session: AsyncSession,
    *,
    chat_key: str,
    cluster_id: int,
    school_id: int | None,
    now: datetime,
    default: timedelta,
) -> datetime:
    """Where the next digest of this cluster (or school) in this chat starts.

    That is where the last one ended, or `default` before now when there was none.
    """
    mark = (
        await session.exec(select(DigestMark).where(*_mark(chat_key, cluster_id, school_id)))
    ).first()
    return mark.until if mark is not None else now - default


async def mark_digest(
    session: AsyncSession, *, chat_key: str, cluster_id: int, school_id: int | None, until: datetime
) -> None:
    """Record that this chat's digest of the cluster (or school) now runs up to `until`."""
    values = {
        "chat_key": chat_key,
        "cluster_id": cluster_id,
        "school_id": school_id or 0,
        "until": until,
    }
    statement = insert_for(session)(DigestMark).values(values)
    await session.exec(  # type: ignore[call-overload]
        statement.on_conflict_do_update(
            index_elements=["chat_key", "cluster_id", "school_id"], set_={"until": until}
        )
    )
