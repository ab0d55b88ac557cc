"""A cluster's calendar as stored: terms, holidays, hand-set input points, working hours.

`calendar_of` turns the rows into the `bot.rhythm.Calendar` the rules work on; the other
functions are the changes coordinators (and school leads, for their school's own dates) make.
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.rhythm import Calendar, Span, parse_clock, parse_work_days
from storage.models import Cluster, Holiday, InputPoint, Term

NAME_LIMIT = 100


class CalendarError(ValueError):
    """A calendar change that cannot be made; `reason` names which rule it breaks."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def zone_of(cluster: Cluster) -> ZoneInfo:
    """The cluster's time zone (UTC when the stored name is unknown to this system)."""
    try:
        return ZoneInfo(cluster.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


async def calendar_of(session: AsyncSession, cluster: Cluster) -> Calendar:
    """Everything the rhythm rules need to know about one cluster."""
    assert cluster.id is not None
    terms, holidays = await terms_and_holidays(session, cluster_id=cluster.id)
    points = (
        await session.exec(
            select(InputPoint)
            .where(InputPoint.cluster_id == cluster.id)
            .order_by(col(InputPoint.day))
        )
    ).all()
    school_points: dict[int, tuple[date, ...]] = {}
    for point in points:
        if point.school_id is not None:
            school_points[point.school_id] = (*school_points.get(point.school_id, ()), point.day)
    zone = zone_of(cluster)
    return Calendar(
        timezone=zone,
        started=cluster.created_at.astimezone(zone).date(),
        work_days=parse_work_days(cluster.work_days),
        work_start=parse_clock(cluster.work_start),
        work_end=parse_clock(cluster.work_end),
        terms=tuple(Span(t.name, t.first_day, t.last_day) for t in terms),
        holidays=tuple(Span(h.name, h.first_day, h.last_day) for h in holidays),
        rhythm_weeks=cluster.rhythm_weeks,
        cluster_points=tuple(p.day for p in points if p.school_id is None),
        school_points=school_points,
    )


def _checked_span(name: str, first: date, last: date) -> str:
    name = " ".join(name.split())[:NAME_LIMIT]
    if not name:
        raise CalendarError("no_name")
    if last < first:
        raise CalendarError("ends_before_start")
    return name


async def add_term(
    session: AsyncSession, *, cluster_id: int, name: str, first: date, last: date
) -> Term:
    """Add a term; a term overlapping another of the cluster's is refused."""
    name = _checked_span(name, first, last)
    overlapping = (
        await session.exec(
            select(Term).where(
                Term.cluster_id == cluster_id, Term.first_day <= last, Term.last_day >= first
            )
        )
    ).first()
    if overlapping is not None:
        raise CalendarError("overlaps")
    term = Term(cluster_id=cluster_id, name=name, first_day=first, last_day=last)
    session.add(term)
    await session.flush()
    return term


async def add_holiday(
    session: AsyncSession, *, cluster_id: int, name: str, first: date, last: date
) -> Holiday:
    """Add a holiday (holidays may overlap; a day is off if any holiday covers it)."""
    holiday = Holiday(
        cluster_id=cluster_id, name=_checked_span(name, first, last), first_day=first, last_day=last
    )
    session.add(holiday)
    await session.flush()
    return holiday


async def remove_span(session: AsyncSession, *, cluster_id: int, kind: str, span_id: int) -> bool:
    """Remove one of the cluster's terms or holidays; False when it is not the cluster's."""
    model = Term if kind == "term" else Holiday
    row = await session.get(model, span_id)
    if row is None or row.cluster_id != cluster_id:
        return False
    await session.delete(row)
    await session.flush()
    return True


async def set_input_points(
    session: AsyncSession,
    *,
    cluster_id: int,
    school_id: int | None,
    days: list[date],
    person_id: int | None,
) -> None:
    """Replace the hand-set input points of the cluster (school None) or of one school.

    An empty list goes back to the computed dates (or, for a school, to the cluster's).
    """
    await session.exec(  # type: ignore[call-overload]
        delete(InputPoint).where(
            col(InputPoint.cluster_id) == cluster_id,
            col(InputPoint.school_id).is_(None)
            if school_id is None
            else col(InputPoint.school_id) == school_id,
        )
    )
    for day in sorted(set(days)):
        session.add(
            InputPoint(cluster_id=cluster_id, school_id=school_id, day=day, created_by=person_id)
        )
    await session.flush()


async def terms_and_holidays(
    session: AsyncSession, *, cluster_id: int
) -> tuple[list[Term], list[Holiday]]:
    """The cluster's terms and holidays with their ids, in date order (for listing and removal)."""
    terms = (
        await session.exec(
            select(Term).where(Term.cluster_id == cluster_id).order_by(col(Term.first_day))
        )
    ).all()
    holidays = (
        await session.exec(
            select(Holiday).where(Holiday.cluster_id == cluster_id).order_by(col(Holiday.first_day))
        )
    ).all()
    return list(terms), list(holidays)
