"""Turns each cluster's calendar into planned reminder rows: input points, nudges, summaries.

Planning is repeated (every few minutes and at start) and idempotent: a row is keyed by what it
is about and for whom, so a second pass adds only what is new — a contributor who joined or
consented during an open input window, a school that fell behind this week. Who may receive a
message is decided again when it is sent (`bot.delivery`); planning only skips people who could
not receive anything now (no consent, reminders stopped).

Kinds of rows:
- `input`: the input window of a mentee school opened — to each of its contributors and leads;
- `input_hub`: the same news in the cluster's hub chats, once per input point;
- `nudge`: a school with no submitted entry for the nudge period — to its people who have not
  submitted anything in that period either, at most one a week each;
- `behind`: one private summary a week to each coordinator of the schools that are behind;
- `digest`: the weekly digest in each hub chat (`bot.digest_plan`);
- and each coming meeting's reminders and notes prompts (`bot.meeting_plan`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.digest_plan import digest_rows
from bot.meeting_plan import plan_meetings
from bot.rhythm import Calendar, Window, current_window, input_points, next_allowed, window_of
from storage.calendar import calendar_of
from storage.clusters import hub_chats_of
from storage.diary import quiet_days
from storage.models import (
    Cluster,
    DiaryEntry,
    EntryStatus,
    Reminder,
    School,
    SchoolKind,
)
from storage.people import COORDINATOR_ROLES, SCHOOL_ROLES, holders_of, reachable
from storage.reminders import plan, planned_for

NUDGE_GAP = timedelta(days=7)


@dataclass(frozen=True)
class Planned:
    """What one planning pass added."""

    rows: int
    clusters: int


async def plan_all(
    session: AsyncSession, *, now: datetime, consent_version: str, last_pass: datetime | None
) -> Planned:
    """Plan every cluster's due messages; returns how many rows were new.

    `last_pass` is when planning last ran (None the first time ever): an input window that
    opened since then and has already closed was missed while the bot was down, and its rows are
    planned anyway so that delivery records them as expired.
    """
    clusters = (await session.exec(select(Cluster).order_by(col(Cluster.id)))).all()
    added = await plan_meetings(session, now=now, consent_version=consent_version)
    for cluster in clusters:
        added += await plan_cluster(
            session, cluster=cluster, now=now, consent_version=consent_version, last_pass=last_pass
        )
    return Planned(rows=added, clusters=len(clusters))


async def plan_cluster(
    session: AsyncSession,
    *,
    cluster: Cluster,
    now: datetime,
    consent_version: str,
    last_pass: datetime | None = None,
) -> int:
    """Plan one cluster's input reminders, hub notes, nudges and coordinator summaries."""
    assert cluster.id is not None
    calendar = await calendar_of(session, cluster)
    schools = (
        await session.exec(
            select(School).where(School.cluster_id == cluster.id, School.kind == SchoolKind.MENTEE)
        )
    ).all()
    rows: list[dict[str, Any]] = []
    opened: dict[date, list[School]] = {}
    behind: list[tuple[School, int]] = []
    for school in schools:
        assert school.id is not None
        members = await holders_of(
            session, cluster_id=cluster.id, roles=SCHOOL_ROLES, school_id=school.id
        )
        people = await reachable(session, person_ids=members, consent_version=consent_version)
        window = _latest_window(calendar, now, school.id, last_pass)
        if window is not None:
            point, due, expires = window
            opened.setdefault(point, []).append(school)
            topic = f"input:{school.id}:{point.isoformat()}"
            base = _row("input", cluster.id, topic, due, expires, now, school_id=school.id)
            base["payload"] = {"point": point.isoformat(), "closes": _closes(expires, calendar)}
            planned = await planned_for(session, topic=topic)
            rows += [
                {**base, "person_id": p, "key": f"{topic}:{p}"} for p in people if p not in planned
            ]
        idle = await _idle_days(session, school=school, now=now)
        if idle >= cluster.nudge_after_days:
            behind.append((school, idle))
            rows += await _nudges(session, calendar, cluster, school, people, now, idle)
    rows += await _hub_notes(session, calendar, cluster, opened, now)
    rows += await digest_rows(session, calendar, cluster, now)
    if behind:
        coordinators = await reachable(
            session,
            person_ids=await holders_of(session, cluster_id=cluster.id, roles=COORDINATOR_ROLES),
            consent_version=consent_version,
        )
        rows += _summaries(calendar, cluster, behind, coordinators, now)
    return await plan(session, rows)


def _row(
    kind: str,
    cluster_id: int,
    topic: str,
    due: datetime,
    expires: datetime | None,
    now: datetime,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "cluster_id": cluster_id,
        "topic": topic,
        "due_at": due,
        "expires_at": expires,
        "payload": {},
        "status": "planned",
        "outcome": "",
        "created_at": now,
        **extra,
    }


def _week(calendar: Calendar, now: datetime) -> str:
    """The ISO week of `now` in the cluster, as "2026-W42": once-a-week rows carry it."""
    year, week, _ = calendar.local(now).isocalendar()
    return f"{year}-W{week:02d}"


def _opening(calendar: Calendar, window: Window) -> tuple[datetime, datetime]:
    """When an input window's messages go (its first allowed moment) and stop meaning anything."""
    due = next_allowed(calendar, calendar.at(window.point, calendar.work_start))
    return due, calendar.at(window.closes, time(0))


def _closes(expires: datetime, calendar: Calendar) -> str:
    """The last day of an input window (the day before it closes), for the message."""
    return (calendar.local(expires).date() - timedelta(days=1)).isoformat()


def _latest_window(
    calendar: Calendar, now: datetime, school_id: int, last_pass: datetime | None
) -> tuple[date, datetime, datetime] | None:
    """The school's input window to plan for: point, due moment, expiry; None if there is none.

    That is the open window, or one that opened after the last planning pass and closed
    before this one (missed while the bot was down).
    """
    today = calendar.local(now).date()
    window = current_window(calendar, today, school_id=school_id)
    if window is None:
        if last_pass is None:
            return None
        points = input_points(calendar, until=today, school_id=school_id)
        missed = [d for d in points if calendar.local(last_pass).date() < d <= today]
        if not missed:
            return None
        window = window_of(calendar, missed[-1], points)
    return (window.point, *_opening(calendar, window))


async def _idle_days(session: AsyncSession, *, school: School, now: datetime) -> int:
    """Days since the school's last submitted entry (or since it joined, if it has none)."""
    last = (
        await session.exec(
            select(func.max(DiaryEntry.submitted_at)).where(
                DiaryEntry.school_id == school.id, DiaryEntry.status == EntryStatus.SUBMITTED
            )
        )
    ).first()
    return quiet_days(school, last, now)


async def _recently(
    session: AsyncSession, *, kind: str, person_ids: list[int], now: datetime
) -> set[int]:
    """Those of the people who got (or will get) a row of this kind in the past week."""
    if not person_ids:
        return set()
    rows = await session.exec(
        select(Reminder.person_id).where(
            col(Reminder.person_id).in_(person_ids),
            Reminder.kind == kind,
            col(Reminder.due_at) > now - NUDGE_GAP,
        )
    )
    return {p for p in rows.all() if p is not None}


async def _nudges(
    session: AsyncSession,
    calendar: Calendar,
    cluster: Cluster,
    school: School,
    people: list[int],
    now: datetime,
    idle: int,
) -> list[dict[str, Any]]:
    """Gentle nudges to the school's people who have not submitted lately, one a week each."""
    period = now - timedelta(days=cluster.nudge_after_days)
    active = set(
        (
            await session.exec(
                select(DiaryEntry.author_id).where(
                    col(DiaryEntry.author_id).in_(people),
                    DiaryEntry.status == EntryStatus.SUBMITTED,
                    col(DiaryEntry.submitted_at) >= period,
                )
            )
        ).all()
    )
    waiting = [p for p in people if p not in active]
    skip = await _recently(session, kind="nudge", person_ids=waiting, now=now)
    week = _week(calendar, now)
    due = next_allowed(calendar, now)
    rows = []
    for person in waiting:
        if person in skip:
            continue
        topic = f"nudge:{person}:{week}"
        row = _row("nudge", cluster.id or 0, topic, due, None, now, school_id=school.id)
        rows.append({**row, "person_id": person, "key": topic, "payload": {"days": idle}})
    return rows


async def _hub_notes(
    session: AsyncSession,
    calendar: Calendar,
    cluster: Cluster,
    opened: dict[date, list[School]],
    now: datetime,
) -> list[dict[str, Any]]:
    """One note per input point in each of the cluster's hub chats, naming the schools."""
    hubs = await hub_chats_of(session, cluster_id=cluster.id or 0)
    rows = []
    for point, schools in opened.items():
        window = window_of(calendar, point, input_points(calendar, until=point))
        due, expires = _opening(calendar, window)
        topic = f"input_hub:{cluster.id}:{point.isoformat()}"
        for hub in hubs:
            row = _row("input_hub", cluster.id or 0, topic, due, expires, now)
            row["payload"] = {
                "hub": hub.id,
                "point": point.isoformat(),
                "closes": _closes(expires, calendar),
                "schools": sorted(s.name for s in schools),
            }
            rows.append({**row, "key": f"{topic}:{hub.id}"})
    return rows


def _summaries(
    calendar: Calendar,
    cluster: Cluster,
    behind: list[tuple[School, int]],
    coordinators: list[int],
    now: datetime,
) -> list[dict[str, Any]]:
    """One private summary a week to each coordinator, of the schools that are behind."""
    topic = f"behind:{cluster.id}:{_week(calendar, now)}"
    due = next_allowed(calendar, now)
    listed = [{"school": s.name, "days": days} for s, days in sorted(behind, key=lambda b: -b[1])]
    return [
        {
            **_row("behind", cluster.id or 0, topic, due, None, now),
            "person_id": p,
            "key": f"{topic}:{p}",
            "payload": {"schools": listed},
        }
        for p in coordinators
    ]
