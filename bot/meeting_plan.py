"""Turns a meeting into planned rows: its news, the reminders before it, the notes prompt after.

Like the rest of the planning (`bot.planner`) this is idempotent: a row's key says what it is
about and for whom, so planning a meeting again adds only what is new (someone invited since).
What is planned for an old state of the meeting is not deleted: each row carries the state it
was planned for (the sequence, the start, the end), and delivery skips a row whose meeting has
moved on since. Kinds:

- `meeting_news`: announced, changed or cancelled — privately, to every invitee when announced
  and to everyone who answered when changed or cancelled; `meeting_hub` is the same in the hubs;
- `meeting_remind`: before the meeting, by the cluster's offsets ("7d,1d,1h"), to the hubs and
  to each invitee (sent only to those who said coming or maybe by then);
- `meeting_notes`: at the meeting's end, to whoever scheduled it, asking for the notes; once
  more two days later if nothing was recorded.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.clusters import hub_chats_of
from storage.meetings import active_meetings, answers_of, invitees
from storage.models import Cluster, Meeting
from storage.people import reachable
from storage.reminders import plan

NOTES_AGAIN = timedelta(days=2)
# A reminder planned this late after its moment still goes (planning runs every 10 minutes).
LATE = timedelta(minutes=15)
# Meetings whose notes prompts may still be due: those that ended less than this ago.
NOTES_HORIZON = NOTES_AGAIN + timedelta(days=1)
OFFSET = re.compile(r"(\d{1,3})\s*([dhm])")
UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_offsets(text: str) -> list[tuple[str, timedelta]]:
    """The reminder offsets, "7d,1d,1h", as (label, how long before) pairs, longest first.

    Raises:
        ValueError: a part is not a number of days (d), hours (h) or minutes (m).
    """
    found: dict[str, timedelta] = {}
    for part in filter(None, (p.strip().lower() for p in text.split(","))):
        match = OFFSET.fullmatch(part)
        if match is None or int(match[1]) == 0:
            raise ValueError(part)
        label = f"{int(match[1])}{match[2]}"
        found[label] = timedelta(**{UNITS[match[2]]: int(match[1])})
    return sorted(found.items(), key=lambda item: -item[1])


def _before(start: datetime, before: timedelta, zone: str) -> datetime:
    """The moment `before` ahead of `start`: whole days keep the local time across a DST change.

    A week before a Monday 15:00 meeting is the Monday before at 15:00 local, even when the
    clocks changed in between; hours and minutes are counted as they pass.
    """
    if before % timedelta(days=1):
        return start - before
    # Arithmetic on an aware datetime in one zone is on its wall clock.
    return (start.astimezone(ZoneInfo(zone)) - before).astimezone(UTC)


def _row(kind: str, meeting: Meeting, topic: str, due: datetime, now: datetime) -> dict[str, Any]:
    return {
        "kind": kind,
        "cluster_id": meeting.cluster_id,
        "meeting_id": meeting.id,
        "topic": topic,
        "due_at": due,
        "expires_at": None,
        "payload": {},
        "status": "planned",
        "outcome": "",
        "created_at": now,
    }


def _person_rows(
    kind: str, meeting: Meeting, topic: str, due: datetime, now: datetime, people: list[int]
) -> list[dict[str, Any]]:
    """One row of `topic` for each person, keyed by the topic and the person."""
    return [
        {**_row(kind, meeting, topic, due, now), "person_id": p, "key": f"{topic}:{p}"}
        for p in people
    ]


async def _hub_rows(
    session: AsyncSession, meeting: Meeting, kind: str, topic: str, due: datetime, now: datetime
) -> list[dict[str, Any]]:
    return [
        {**_row(kind, meeting, topic, due, now), "key": f"{topic}:hub:{hub.id}", "hub": hub.id}
        for hub in await hub_chats_of(session, cluster_id=meeting.cluster_id)
    ]


def _finish(rows: list[dict[str, Any]], **payload: Any) -> list[dict[str, Any]]:
    """Move each row's hub into its payload (where delivery reads it) beside `payload`."""
    done = []
    for row in rows:
        hub = row.pop("hub", None)
        row["payload"] = {**payload, **({"hub": hub} if hub is not None else {})}
        done.append(row)
    return done


async def plan_news(
    session: AsyncSession, *, meeting: Meeting, event: str, consent_version: str, now: datetime
) -> int:
    """Plan the news of a meeting's current state: "announced", "changed" or "cancelled"."""
    assert meeting.id is not None
    if event == "announced":
        people = await invitees(session, meeting=meeting)
    else:
        people = sorted(await answers_of(session, meeting_id=meeting.id))
    # News of a meeting is not a reminder: it reaches people who stopped their reminders too.
    people = await reachable(
        session, person_ids=people, consent_version=consent_version, reminders=False
    )
    topic = f"meeting:{meeting.id}:news:{meeting.sequence}"
    rows = await _hub_rows(session, meeting, "meeting_hub", topic, now, now)
    rows += _person_rows("meeting_news", meeting, topic, now, now, people)
    return await plan(session, _finish(rows, event=event, sequence=meeting.sequence))


async def plan_meeting(
    session: AsyncSession,
    *,
    meeting: Meeting,
    cluster: Cluster,
    consent_version: str,
    now: datetime,
) -> int:
    """Plan a planned meeting's reminders and notes prompts (whatever is not planned yet)."""
    assert meeting.id is not None
    start, end = meeting.scheduled_at.isoformat(), meeting.ends_at.isoformat()
    people = await reachable(
        session,
        person_ids=await invitees(session, meeting=meeting),
        consent_version=consent_version,
    )
    rows: list[dict[str, Any]] = []
    try:
        offsets = parse_offsets(cluster.meeting_reminders)
    except ValueError:
        offsets = []  # the CLI refuses such a setting; an odd one in the database sends none
    for label, before in offsets:
        due = _before(meeting.scheduled_at, before, cluster.timezone)
        if due <= max(meeting.updated_at, now - LATE):
            # Its moment had passed when the meeting was set (or moved) to this time, or before
            # this person was invited or this hub linked: one reminder is not several at once.
            continue
        topic = f"meeting:{meeting.id}:remind:{start}:{label}"
        planned = await _hub_rows(session, meeting, "meeting_remind", topic, due, now)
        planned += _person_rows("meeting_remind", meeting, topic, due, now, people)
        for row in planned:
            row["expires_at"] = meeting.scheduled_at
        rows += _finish(planned, start=start, before=label)
    if meeting.created_by is not None:
        for n, due in enumerate((meeting.ends_at, meeting.ends_at + NOTES_AGAIN), 1):
            topic = f"meeting:{meeting.id}:notes:{end}:{n}"
            row = _row("meeting_notes", meeting, topic, due, now)
            row |= {"person_id": meeting.created_by, "key": topic}
            rows += _finish([row], ends=end, again=n > 1)
    return await plan(session, rows)


async def plan_meetings(session: AsyncSession, *, now: datetime, consent_version: str) -> int:
    """Plan every meeting that is coming or ended lately (people invited since included)."""
    added = 0
    clusters: dict[int, Cluster | None] = {}
    for meeting in await active_meetings(session, since=now - NOTES_HORIZON):
        if meeting.cluster_id not in clusters:
            clusters[meeting.cluster_id] = await session.get(Cluster, meeting.cluster_id)
        cluster = clusters[meeting.cluster_id]
        assert cluster is not None  # a foreign key
        added += await plan_meeting(
            session, meeting=meeting, cluster=cluster, consent_version=consent_version, now=now
        )
    return added
