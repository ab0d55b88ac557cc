"""Cluster meetings in the database: scheduling and changing them, answers, hub posts, invitees.

Who is invited is one rule (`invitees`): every person holding a role at an invited school, and
the cluster's coordinators. A meeting's `invited` list empty means every school of the cluster.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import insert_for
from storage.models import (
    Answer,
    Meeting,
    MeetingAnswer,
    MeetingPost,
    MeetingStatus,
    Role,
)
from storage.people import COORDINATOR_ROLES

PLACE_LIMIT = 300
AGENDA_LIMIT = 2000


async def create_meeting(
    session: AsyncSession,
    *,
    cluster_id: int,
    start: datetime,
    end: datetime,
    place: str,
    agenda: str,
    invited: Sequence[int],
    person_id: int | None,
    now: datetime,
) -> Meeting:
    """A new planned meeting of the cluster."""
    meeting = Meeting(
        cluster_id=cluster_id,
        scheduled_at=start,
        ends_at=end,
        place=place[:PLACE_LIMIT],
        agenda=agenda[:AGENDA_LIMIT],
        invited=sorted(set(invited)),
        created_by=person_id,
        created_at=now,
        updated_at=now,
    )
    session.add(meeting)
    await session.flush()
    return meeting


def changed(meeting: Meeting, now: datetime) -> None:
    """Mark a change people are told about: the calendar file's sequence goes up."""
    meeting.sequence += 1
    meeting.updated_at = now


async def meetings_of(
    session: AsyncSession,
    *,
    cluster_ids: Sequence[int],
    now: datetime,
    upcoming: bool,
    limit: int = 10,
) -> list[Meeting]:
    """The clusters' upcoming meetings (soonest first) or past ones (latest first).

    A meeting counts as upcoming until it ends; cancelled ones are listed too.
    """
    query = select(Meeting).where(col(Meeting.cluster_id).in_(cluster_ids))
    if upcoming:
        query = query.where(col(Meeting.ends_at) > now).order_by(col(Meeting.scheduled_at))
    else:
        query = query.where(col(Meeting.ends_at) <= now).order_by(col(Meeting.scheduled_at).desc())
    return list((await session.exec(query.limit(limit))).all())


async def locked(session: AsyncSession, *, meeting_id: int) -> Meeting | None:
    """The meeting, locked until the transaction ends.

    Answers to one meeting are then counted one after another, each tally seeing the one
    before (on PostgreSQL; SQLite's writes queue anyway).
    """
    return (
        await session.exec(select(Meeting).where(Meeting.id == meeting_id).with_for_update())
    ).first()


async def next_meeting(session: AsyncSession, *, cluster_id: int, now: datetime) -> Meeting | None:
    """The cluster's next planned meeting that has not ended."""
    return (
        await session.exec(
            select(Meeting)
            .where(
                Meeting.cluster_id == cluster_id,
                Meeting.status == MeetingStatus.PLANNED,
                col(Meeting.ends_at) > now,
            )
            .order_by(col(Meeting.scheduled_at))
        )
    ).first()


async def notes_due(
    session: AsyncSession, *, cluster_ids: Sequence[int], now: datetime
) -> Meeting | None:
    """The latest meeting of these clusters that has ended with no notes recorded."""
    return (
        await session.exec(
            select(Meeting)
            .where(
                col(Meeting.cluster_id).in_(cluster_ids),
                Meeting.status == MeetingStatus.PLANNED,
                col(Meeting.ends_at) <= now,
                col(Meeting.held_at).is_(None),
            )
            .order_by(col(Meeting.scheduled_at).desc())
        )
    ).first()


async def active_meetings(session: AsyncSession, *, since: datetime) -> list[Meeting]:
    """Planned meetings that end after `since`: those whose reminders and notes may be due."""
    query = select(Meeting).where(
        Meeting.status == MeetingStatus.PLANNED, col(Meeting.ends_at) > since
    )
    return list((await session.exec(query.order_by(col(Meeting.id)))).all())


def invites(meeting: Meeting, role: str, school_id: int | None) -> bool:
    """Whether a role in the meeting's cluster makes its holder invited: the one rule."""
    if role in COORDINATOR_ROLES:
        return True
    return school_id is not None and (not meeting.invited or school_id in meeting.invited)


async def invitees(session: AsyncSession, *, meeting: Meeting) -> list[int]:
    """Ids of everyone invited: people of the invited schools and the cluster's coordinators."""
    rows = await session.exec(
        select(Role.person_id, Role.role, Role.school_id).where(
            Role.cluster_id == meeting.cluster_id, col(Role.revoked_at).is_(None)
        )
    )
    return sorted({p for p, role, school in rows.all() if invites(meeting, role, school)})


async def is_invited(session: AsyncSession, *, meeting: Meeting, person_id: int) -> bool:
    """Whether this person is invited to the meeting."""
    return person_id in await invitees(session, meeting=meeting)


async def answers_of(session: AsyncSession, *, meeting_id: int) -> dict[int, MeetingAnswer]:
    """Everyone's answer to the meeting, by person id."""
    rows = await session.exec(select(MeetingAnswer).where(MeetingAnswer.meeting_id == meeting_id))
    return {a.person_id: a for a in rows.all()}


async def answer(
    session: AsyncSession, *, meeting_id: int, person_id: int, choice: Answer, now: datetime
) -> str | None:
    """Record a person's answer; returns their previous one (None if they had not answered).

    One upsert, so the same person answering from two chats at once cannot collide.
    """
    previous = (
        await session.exec(
            select(MeetingAnswer.answer).where(
                MeetingAnswer.meeting_id == meeting_id, MeetingAnswer.person_id == person_id
            )
        )
    ).first()
    values = {"meeting_id": meeting_id, "person_id": person_id, "answer": choice, "updated_at": now}
    statement = insert_for(session)(MeetingAnswer).values(values)
    await session.exec(  # type: ignore[call-overload]
        statement.on_conflict_do_update(
            index_elements=["meeting_id", "person_id"],
            set_={"answer": choice, "updated_at": now},
        )
    )
    return previous


def tally(answers: dict[int, MeetingAnswer]) -> Counter[str]:
    """How many said each answer."""
    return Counter(a.answer for a in answers.values() if a.answer)


async def record_post(
    session: AsyncSession,
    *,
    meeting_id: int,
    hub_id: int,
    platform: str,
    chat_id: str,
    message_id: str,
) -> None:
    """Remember where a meeting's announcement was posted in a hub chat."""
    session.add(
        MeetingPost(
            meeting_id=meeting_id,
            hub_id=hub_id,
            platform=platform,
            chat_id=chat_id,
            message_id=message_id,
        )
    )


async def posts_of(session: AsyncSession, *, meeting_id: int) -> list[MeetingPost]:
    """The meeting's announcements in hub chats."""
    rows = await session.exec(select(MeetingPost).where(MeetingPost.meeting_id == meeting_id))
    return list(rows.all())


async def post_at(
    session: AsyncSession, *, platform: str, chat_id: str, message_id: str
) -> MeetingPost | None:
    """The meeting announcement that is this message, if it is one."""
    return (
        await session.exec(
            select(MeetingPost).where(
                MeetingPost.platform == platform,
                MeetingPost.chat_id == chat_id,
                MeetingPost.message_id == message_id,
            )
        )
    ).first()
