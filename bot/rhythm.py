"""The termly rhythm as pure rules: when schools are asked for input, and when the bot may speak.

Everything here is a function of a cluster's `Calendar` and the time it is given; nothing reads
the clock or the database, so the rules are tested with any date, in any time zone.

Times are kept in UTC and turned into the cluster's wall-clock time only to apply a rule, with
`zoneinfo`: "09:00 on a working day" is built as a local time and converted back, so a
reminder stays at 09:00 local across a daylight-saving change instead of moving by an hour.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# Two input points a term, at about a third and two thirds of it.
POINTS_PER_TERM = 2
# How far ahead the rules look for an allowed moment before giving up (a year of holidays).
SEARCH_DAYS = 400


@dataclass(frozen=True)
class Span:
    """A named run of days, both ends included (a term or a holiday)."""

    name: str
    first: date
    last: date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.first <= day <= self.last


@dataclass(frozen=True)
class Calendar:
    """One cluster's calendar: its time zone, working days and hours, terms and holidays."""

    timezone: ZoneInfo
    started: date
    work_days: frozenset[int] = frozenset({1, 2, 3, 4, 5})
    work_start: time = time(9, 0)
    work_end: time = time(18, 0)
    terms: tuple[Span, ...] = ()
    holidays: tuple[Span, ...] = ()
    rhythm_weeks: int = 6
    # Dates set by hand: the cluster's own, and each school's own timetable.
    cluster_points: tuple[date, ...] = ()
    school_points: dict[int, tuple[date, ...]] = field(default_factory=dict)

    def local(self, moment: datetime) -> datetime:
        """The moment as wall-clock time in the cluster's time zone."""
        return moment.astimezone(self.timezone)

    def at(self, day: date, clock: time) -> datetime:
        """The UTC moment of a local wall-clock time on a day."""
        return datetime.combine(day, clock, tzinfo=self.timezone).astimezone(UTC)

    def is_holiday(self, day: date) -> bool:
        """Whether the day falls in one of the cluster's holidays."""
        return any(day in holiday for holiday in self.holidays)

    def is_working_day(self, day: date) -> bool:
        """A working weekday that is not a holiday."""
        return day.isoweekday() in self.work_days and not self.is_holiday(day)

    def term_of(self, day: date) -> Span | None:
        """The term the day falls in, if any."""
        return next((term for term in self.terms if day in term), None)


def parse_work_days(text: str) -> frozenset[int]:
    """ISO weekdays from a string of digits ("12345" is Monday to Friday)."""
    days = frozenset(int(c) for c in text if c in "1234567")
    if not days:
        raise ValueError(f"no working day in {text!r}")
    return days


def parse_clock(text: str) -> time:
    """A local time from "HH:MM"."""
    hours, _, minutes = text.partition(":")
    return time(int(hours), int(minutes or 0))


def allowed(calendar: Calendar, moment: datetime) -> bool:
    """Whether an unprompted message may go out at this moment."""
    local = calendar.local(moment)
    return (
        calendar.is_working_day(local.date())
        and calendar.work_start <= local.time() < calendar.work_end
    )


def next_allowed(calendar: Calendar, moment: datetime) -> datetime:
    """The earliest moment at or after `moment` when an unprompted message may go out.

    Raises:
        ValueError: the calendar allows no moment in the next year (every day a holiday).
    """
    day = calendar.local(moment).date()
    for offset in range(SEARCH_DAYS):
        candidate = day + timedelta(days=offset)
        if not calendar.is_working_day(candidate):
            continue
        opens = calendar.at(candidate, calendar.work_start)
        closes = calendar.at(candidate, calendar.work_end)
        if moment < opens:
            return opens
        if moment < closes:
            return moment
    raise ValueError("the calendar allows no message in the coming year")


def term_points(term: Span) -> list[date]:
    """A term's default input points: after about a third and two thirds of it."""
    length = (term.last - term.first).days + 1
    return [
        term.first + timedelta(days=length * n // (POINTS_PER_TERM + 1))
        for n in range(1, POINTS_PER_TERM + 1)
    ]


def rhythm_points(calendar: Calendar, until: date) -> list[date]:
    """Without terms: a point every `rhythm_weeks` from the cluster's start, up to `until`."""
    step = timedelta(weeks=max(1, calendar.rhythm_weeks))
    points, day = [], calendar.started + step
    while day <= until:
        points.append(day)
        day += step
    return points


def input_points(calendar: Calendar, *, until: date, school_id: int | None = None) -> list[date]:
    """The input points, oldest first, for a school or for the whole cluster.

    Hand-set and term dates come whatever `until` is; the rhythm runs one period past `until`,
    so the window open on `until` has an end.

    A school's own timetable replaces the cluster's dates; dates a coordinator set replace the
    computed ones; terms give two a term; a cluster with none of these follows the rhythm.
    """
    own = calendar.school_points.get(school_id, ()) if school_id is not None else ()
    if own:
        chosen = list(own)
    elif calendar.cluster_points:
        chosen = list(calendar.cluster_points)
    elif calendar.terms:
        chosen = [day for term in calendar.terms for day in term_points(term)]
    else:
        chosen = rhythm_points(calendar, until + timedelta(weeks=max(1, calendar.rhythm_weeks)))
    return sorted({day for day in chosen})


@dataclass(frozen=True)
class Window:
    """The time from one input point to the next: when its reminder still means something."""

    point: date
    closes: date  # the next input point, or the day after the point's term ends


def window_of(calendar: Calendar, point: date, points: list[date]) -> Window:
    """The input window that opens at `point` (one of `points`)."""
    later = [day for day in points if day > point]
    term = calendar.term_of(point)
    ends = [later[0]] if later else []
    if term is not None:
        ends.append(term.last + timedelta(days=1))
    if not ends:
        ends.append(point + timedelta(weeks=max(1, calendar.rhythm_weeks)))
    return Window(point, min(ends))


def current_window(calendar: Calendar, today: date, *, school_id: int | None) -> Window | None:
    """The input window open on `today` for a school (or the cluster), if any."""
    points = input_points(calendar, until=today, school_id=school_id)
    past = [day for day in points if day <= today]
    if not past:
        return None
    window = window_of(calendar, past[-1], points)
    return window if today < window.closes else None


def next_point(calendar: Calendar, today: date, *, school_id: int | None) -> date | None:
    """The first input point after `today`, if the calendar knows one."""
    horizon = today + timedelta(days=SEARCH_DAYS)
    points = input_points(calendar, until=horizon, school_id=school_id)
    return next((day for day in points if day > today), None)
