"""`diarybot calendar`: an operator's view and changes of a cluster's termly rhythm.

`show` prints the time zone, working days and hours, the rhythm, the terms and holidays with
their ids, and the input points of the next twelve months for the cluster and for each school
with its own timetable. `term`, `holiday`, `remove`, `input` and `hours` change the calendar;
each change is one transaction with one audit event (no person: the operator, `via` "cli").

A mistake the arguments alone show (a bad date, a term that ends before it starts, nothing to
change) is refused before the database is opened; one the database shows (an unknown cluster,
school or id, overlapping terms, hours that end before they start) rolls everything back. Both
end with one line and exit status 2, as every other `diarybot` command.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cli_args import _cluster_ref, _text, _time_zone, _whole_number
from bot.meeting_plan import parse_offsets
from bot.rhythm import Calendar, input_points
from storage.calendar import (
    CalendarError,
    add_holiday,
    add_term,
    calendar_of,
    remove_span,
    set_input_points,
    terms_and_holidays,
    zone_of,
)
from storage.clusters import ClusterError, find_cluster, schools_of
from storage.db import Database
from storage.models import Cluster, Holiday, School, Term
from storage.people import audit
from storage.types import MAX_ROW_ID

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MAX_RHYTHM_WEEKS = 52
MAX_NUDGE_DAYS = 366
NAME_LIMIT = 100  # as storage.calendar keeps a term's or holiday's name

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CLOCK = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")

Work = Callable[[Database], Awaitable[None]]


# Argument types.


def _day(text: str) -> date:
    """An argument type: a date written YYYY-MM-DD."""
    value = text.strip()
    if _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD")


def _offsets(text: str) -> str:
    try:
        offsets = parse_offsets(text)
    except ValueError as bad:
        raise argparse.ArgumentTypeError(
            f"{bad} is not a time before the meeting: write days, hours or minutes, "
            'separated by commas, e.g. "7d,1d,1h"'
        ) from None
    if not offsets:
        raise argparse.ArgumentTypeError('give at least one, e.g. "1d"')
    return ",".join(label for label, _ in offsets)


def _clock(text: str) -> str:
    """An argument type: a local time HH:MM (00:00 to 23:59), returned as HH:MM."""
    match = _CLOCK.fullmatch(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time HH:MM from 00:00 to 23:59")
    return f"{int(match[1]):02}:{match[2]}"


def _work_days(text: str) -> str:
    """An argument type: ISO weekdays as digits 1 (Monday) to 7, returned sorted ("12345")."""
    value = text.strip()
    if not value or any(c not in "1234567" for c in value):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a set of weekday digits 1 (Monday) to 7 (Sunday), such as 12345"
        )
    return "".join(sorted(set(value)))


def add_calendar_parser(sub: Any) -> None:
    """Add `calendar` and its actions to the `diarybot` subcommands `sub`."""
    calendar = sub.add_parser("calendar", help="show or change a cluster's terms and rhythm")
    actions = calendar.add_subparsers(dest="calendar_command", required=True, metavar="ACTION")
    cluster_help = "cluster name or id"

    show = actions.add_parser(
        "show", help="working hours, rhythm, terms, holidays and the coming input points"
    )
    show.add_argument("--cluster", type=_cluster_ref, required=True, help=cluster_help)
    show.add_argument(
        "--from",
        dest="start",
        type=_day,
        help="list input points for 12 months from this day (default: today in the cluster)",
    )

    for kind, what in (("term", "a school term"), ("holiday", "a holiday (no messages)")):
        span = actions.add_parser(kind, help=f"add {what}; both days included")
        span.add_argument("--cluster", type=_cluster_ref, required=True, help=cluster_help)
        span.add_argument(
            "--name", type=_text(NAME_LIMIT), required=True, help=f"the {kind}'s name"
        )
        span.add_argument("--from", dest="first", type=_day, required=True, help="first day")
        span.add_argument("--to", dest="last", type=_day, required=True, help="last day")

    remove = actions.add_parser("remove", help="remove a term or a holiday by its id (see show)")
    remove.add_argument("--cluster", type=_cluster_ref, required=True, help=cluster_help)
    which = remove.add_mutually_exclusive_group(required=True)
    row_id = _whole_number(1, MAX_ROW_ID)
    which.add_argument("--term", type=row_id, metavar="ID", help="the term's id")
    which.add_argument("--holiday", type=row_id, metavar="ID", help="the holiday's id")

    points = actions.add_parser(
        "input",
        help="set the input points by hand, for the cluster or one school's own timetable",
    )
    points.add_argument("--cluster", type=_cluster_ref, required=True, help=cluster_help)
    points.add_argument("--school", type=_text(200), help="a school's own dates, not the cluster's")
    points.add_argument("dates", nargs="*", type=_day, metavar="DATE", help="YYYY-MM-DD")
    points.add_argument(
        "--default",
        action="store_true",
        help="clear the dates set by hand (a school then follows the cluster's dates)",
    )

    hours = actions.add_parser(
        "hours", help="change working days and hours, rhythm, nudge period, time zone"
    )
    hours.add_argument("--cluster", type=_cluster_ref, required=True, help=cluster_help)
    hours.add_argument("--days", type=_work_days, help="working weekdays, 1 Monday to 7 Sunday")
    hours.add_argument("--start", type=_clock, help="local time the working day starts, HH:MM")
    hours.add_argument("--end", type=_clock, help="local time the working day ends, HH:MM")
    hours.add_argument(
        "--rhythm-weeks",
        type=_whole_number(1, MAX_RHYTHM_WEEKS),
        help="without terms, an input point every this many weeks",
    )
    hours.add_argument(
        "--nudge-days",
        type=_whole_number(1, MAX_NUDGE_DAYS),
        help="nudge a mentee school after this many days without an entry",
    )
    hours.add_argument("--timezone", type=_time_zone, help="IANA time zone name, Area/City")
    hours.add_argument(
        "--digest-day",
        type=_whole_number(0, 7),
        help="weekday of the weekly digest in the hub chats, 1 Monday to 7 Sunday, 0 none",
    )
    hours.add_argument("--digest-time", type=_clock, help="local time of the digest, HH:MM")
    hours.add_argument(
        "--meeting-reminders",
        type=_offsets,
        help='how long before a meeting its reminders go, e.g. "7d,1d,1h" (days, hours, minutes)',
    )


# Output.


def _day_text(day: date) -> str:
    return f"{day.isoformat()} {WEEKDAYS[day.weekday()]}"


def _span_text(first: date, last: date) -> str:
    return f"{_day_text(first)} to {_day_text(last)}"


def _days_text(work_days: str) -> str:
    return " ".join(WEEKDAYS[int(c) - 1] for c in sorted(set(work_days)) if c in "1234567")


def _digest_text(cluster: Cluster) -> str:
    if not 1 <= cluster.digest_day <= 7:
        return "none"
    return f"{WEEKDAYS[cluster.digest_day - 1]} {cluster.digest_time}"


def _hours_text(cluster: Cluster) -> str:
    return f"{_days_text(cluster.work_days)}, {cluster.work_start}-{cluster.work_end}"


def _year_after(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def _source(calendar: Calendar) -> str:
    if calendar.cluster_points:
        return "set by hand"
    if calendar.terms:
        return "two a term, at about a third and two thirds of it"
    return f"every {calendar.rhythm_weeks} weeks from {calendar.started.isoformat()} (no terms)"


def _spans_lines(spans: list[Term] | list[Holiday]) -> list[str]:
    lines = [f"  {s.id}  {s.name}: {_span_text(s.first_day, s.last_day)}" for s in spans]
    return lines or ["  (none)"]


def _points_lines(days: list[date]) -> list[str]:
    return [f"    {_day_text(day)}" for day in days] or ["    (none)"]


async def _show(session: AsyncSession, cluster: Cluster, start: date | None) -> None:
    assert cluster.id is not None
    calendar = await calendar_of(session, cluster)
    terms, holidays = await terms_and_holidays(session, cluster_id=cluster.id)
    first = start or datetime.now(zone_of(cluster)).date()
    until = _year_after(first)

    def coming(school_id: int | None) -> list[date]:
        days = input_points(calendar, until=until, school_id=school_id)
        return [day for day in days if first <= day <= until]

    lines = [
        f"cluster {cluster.id}: {cluster.name}",
        f"time zone: {cluster.timezone}",
        f"working days and hours: {_hours_text(cluster)}",
        f"rhythm: every {cluster.rhythm_weeks} weeks without terms; "
        f"nudge after {cluster.nudge_after_days} days without an entry",
        f"meeting reminders before: {cluster.meeting_reminders}",
        f"weekly digest: {_digest_text(cluster)}",
        "terms:",
        *_spans_lines(terms),
        "holidays:",
        *_spans_lines(holidays),
        f"input points from {first.isoformat()} to {until.isoformat()}:",
        f"  cluster ({_source(calendar)}):",
        *_points_lines(coming(None)),
    ]
    for school in await schools_of(session, cluster_id=cluster.id):
        if school.id in calendar.school_points:
            lines += [f"  {school.name} (its own dates):", *_points_lines(coming(school.id))]
    print("\n".join(lines))


# Changes.


async def _school_named(session: AsyncSession, cluster: Cluster, name: str) -> School:
    assert cluster.id is not None
    for school in await schools_of(session, cluster_id=cluster.id):
        if school.name == name:
            return school
    raise ClusterError("no_school", f"no school {name!r} in {cluster.name}")


def _span_detail(span: Term | Holiday) -> dict[str, str]:
    """What the audit log keeps of a term or holiday (as the chat's calendar commands do)."""
    return {
        "name": span.name,
        "first": span.first_day.isoformat(),
        "last": span.last_day.isoformat(),
    }


async def _add_span(session: AsyncSession, cluster: Cluster, args: argparse.Namespace) -> None:
    assert cluster.id is not None
    kind = args.calendar_command
    if kind == "term":
        terms, _ = await terms_and_holidays(session, cluster_id=cluster.id)
        for other in terms:
            if other.first_day <= args.last and other.last_day >= args.first:
                raise ClusterError(
                    "overlaps",
                    f"the term overlaps term {other.id} {other.name!r} "
                    f"({other.first_day.isoformat()} to {other.last_day.isoformat()}) "
                    f"in {cluster.name}",
                )
    add = add_term if kind == "term" else add_holiday
    try:
        span = await add(
            session, cluster_id=cluster.id, name=args.name, first=args.first, last=args.last
        )
    except CalendarError as exc:  # checked above already; kept as a one-line error
        raise ClusterError(exc.reason, f"cannot add the {kind}: {exc.reason}") from exc
    await audit(
        session,
        person_id=None,
        action=f"calendar.{kind}_added",
        target=f"{kind}:{span.id}",
        detail={"via": "cli", "cluster": cluster.id, **_span_detail(span)},
    )
    print(f"{kind} {span.id}: {span.name}, {_span_text(span.first_day, span.last_day)}")


async def _remove(session: AsyncSession, cluster: Cluster, args: argparse.Namespace) -> None:
    assert cluster.id is not None
    kind, span_id = ("term", args.term) if args.term is not None else ("holiday", args.holiday)
    terms, holidays = await terms_and_holidays(session, cluster_id=cluster.id)
    span = next((row for row in (terms if kind == "term" else holidays) if row.id == span_id), None)
    if span is None:
        raise ClusterError(f"no_{kind}", f"no {kind} {span_id} in {cluster.name}")
    gone = f"{span.name}, {_span_text(span.first_day, span.last_day)}"
    detail = {"via": "cli", "cluster": cluster.id, **_span_detail(span)}
    if not await remove_span(session, cluster_id=cluster.id, kind=kind, span_id=span_id):
        raise ClusterError(f"no_{kind}", f"no {kind} {span_id} in {cluster.name}")
    await audit(
        session,
        person_id=None,
        action=f"calendar.{kind}_removed",
        target=f"{kind}:{span_id}",
        detail=detail,
    )
    print(f"removed {kind} {span_id} ({gone}) from {cluster.name}")


async def _input(session: AsyncSession, cluster: Cluster, args: argparse.Namespace) -> None:
    assert cluster.id is not None
    school = await _school_named(session, cluster, args.school) if args.school else None
    days = sorted(set(args.dates))
    await set_input_points(
        session,
        cluster_id=cluster.id,
        school_id=school.id if school else None,
        days=days,
        person_id=None,
    )
    whose = school.name if school else cluster.name
    await audit(
        session,
        person_id=None,
        action="calendar.points_set",
        target=f"school:{school.id}" if school else f"cluster:{cluster.id}",
        detail={"via": "cli", "cluster": cluster.id, "days": [day.isoformat() for day in days]},
    )
    if days:
        print(f"input points of {whose}: {', '.join(_day_text(day) for day in days)}")
    elif school:
        print(f"{whose} follows the dates of {cluster.name} again")
    else:
        print(f"{whose} has its computed input points again")


_HOURS_FIELDS = {
    "days": "work_days",
    "start": "work_start",
    "end": "work_end",
    "rhythm_weeks": "rhythm_weeks",
    "nudge_days": "nudge_after_days",
    "timezone": "timezone",
    "meeting_reminders": "meeting_reminders",
    "digest_day": "digest_day",
    "digest_time": "digest_time",
}


async def _hours(session: AsyncSession, cluster: Cluster, args: argparse.Namespace) -> None:
    changed: dict[str, list[Any]] = {}
    for option, column in _HOURS_FIELDS.items():
        value = getattr(args, option)
        if value is not None and value != getattr(cluster, column):
            changed[column] = [getattr(cluster, column), value]
            setattr(cluster, column, value)
    if cluster.work_start >= cluster.work_end:
        raise ClusterError(
            "hours",
            f"the working day would start at {cluster.work_start} and end at "
            f"{cluster.work_end}: the start must be before the end",
        )
    if changed:
        session.add(cluster)
        await audit(
            session,
            person_id=None,
            action="calendar.hours",
            target=f"cluster:{cluster.id}",
            detail={"via": "cli", **changed},
        )
    print(
        f"{cluster.name}: {_hours_text(cluster)} ({cluster.timezone}); "
        f"rhythm every {cluster.rhythm_weeks} weeks; "
        f"nudge after {cluster.nudge_after_days} days; "
        f"meeting reminders {cluster.meeting_reminders} before; "
        f"weekly digest {_digest_text(cluster)}" + ("" if changed else " (unchanged)")
    )


_CHANGES = {
    "term": _add_span,
    "holiday": _add_span,
    "remove": _remove,
    "input": _input,
    "hours": _hours,
}


def _check(args: argparse.Namespace) -> None:
    """Refuse what the arguments alone show to be wrong, before the database is opened."""
    command = args.calendar_command
    if command in ("term", "holiday") and args.last < args.first:
        raise ClusterError(
            "ends_before_start",
            f"the {command} ends ({args.last.isoformat()}) before it starts "
            f"({args.first.isoformat()})",
        )
    if command == "input" and bool(args.dates) == args.default:
        raise ClusterError(
            "input_points",
            "give the input points' dates (YYYY-MM-DD) or --default to clear them, not both"
            if args.default
            else "give the input points' dates (YYYY-MM-DD), or --default to clear them",
        )
    if command == "hours":
        given = [option for option in _HOURS_FIELDS if getattr(args, option) is not None]
        if not given:
            raise ClusterError(
                "nothing_to_change",
                "give at least one of --days, --start, --end, --rhythm-weeks, --nudge-days, "
                "--timezone, --meeting-reminders, --digest-day, --digest-time",
            )
        if args.start is not None and args.end is not None and args.start >= args.end:
            raise ClusterError(
                "hours", f"the working day must start ({args.start}) before it ends ({args.end})"
            )


def calendar_work(args: argparse.Namespace) -> Work:
    """What `diarybot calendar ...` does with the database, once its arguments are checked.

    Raises:
        ClusterError: the arguments contradict each other (before anything is opened).
    """
    _check(args)

    async def work(db: Database) -> None:
        async with db.session() as session:
            cluster = await find_cluster(session, name_or_id=args.cluster)
            if args.calendar_command == "show":
                await _show(session, cluster, args.start)
            else:
                await _CHANGES[args.calendar_command](session, cluster, args)

    return work
