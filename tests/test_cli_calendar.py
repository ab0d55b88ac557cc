"""`diarybot calendar` as an operator meets it, checked against the database.

Each test gets a cluster "Zagreb North" (Europe/Zagreb) with a mentor and a mentee school,
made through storage. The commands run through `bot.cli.main` in a thread, with the test's
environment and their output captured (a process each would cost a second of imports per case,
over ninety cases); tests/test_cli.py runs the console script in real processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import subprocess
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from bot.cli import main
from storage.calendar import add_holiday, add_term, set_input_points
from storage.clusters import add_school, create_cluster
from storage.db import Database
from storage.models import AuditEvent, Cluster, Holiday, InputPoint, SchoolKind, Term
from tests.test_cli import diarybot, one_line_error

Run = Callable[..., Awaitable[subprocess.CompletedProcess[str]]]

ZAGREB = "Zagreb North"
# A term of 110 days: points after 110 // 3 = 36 and 220 // 3 = 73 days.
AUTUMN = ("2030-09-02", "2030-12-20")  # Monday to Friday
AUTUMN_POINTS = ["2030-10-08 Tue", "2030-11-14 Thu"]  # 2 Sep + 36 days, 2 Sep + 73 days


@pytest.fixture
async def cluster(db: Database) -> dict[str, int]:
    async with db.session() as session:
        made = await create_cluster(session, name=ZAGREB, language="hr", timezone="Europe/Zagreb")
        assert made.id is not None
        mentor = await add_school(
            session, cluster_id=made.id, name="OS Mentor", kind=SchoolKind.MENTOR
        )
        mentee = await add_school(session, cluster_id=made.id, name="OS Jedan")
        assert mentor.id is not None and mentee.id is not None
        return {"cluster": made.id, "OS Mentor": mentor.id, "OS Jedan": mentee.id}


@pytest.fixture
def calendar(database_url: str, tmp_path: Path, cluster: dict[str, int]) -> Run:
    """`diarybot calendar ARGS` on the test database, in a process of its own."""

    async def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("DIARYBOT_")}
        environment.update(
            DIARYBOT_DATA_DIR=str(tmp_path), DIARYBOT_DATABASE_URL=database_url, **(env or {})
        )
        return await asyncio.to_thread(_main, ["calendar", *args], environment)

    return run


def _main(argv: list[str], environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`diarybot ARGV` in this process, with `environment` as its environment."""
    out, err = io.StringIO(), io.StringIO()
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(environment)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exit_:  # argparse refusing an argument
                code = exit_.code if isinstance(exit_.code, int) else 2
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())


def span(kind: str, name: str, first: str, last: str, cluster: str = ZAGREB) -> list[str]:
    """The arguments of `calendar term` or `calendar holiday`."""
    return [kind, "--cluster", cluster, "--name", name, "--from", first, "--to", last]


async def ok(run: Run, *args: str) -> list[str]:
    result = await run(*args)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout.splitlines()


async def state(db: Database) -> dict[str, Any]:
    """Everything the calendar commands may change."""
    async with db.session() as session:
        clusters = (await session.exec(select(Cluster).order_by(col(Cluster.id)))).all()
        terms = (await session.exec(select(Term).order_by(col(Term.id)))).all()
        holidays = (await session.exec(select(Holiday).order_by(col(Holiday.id)))).all()
        points = (await session.exec(select(InputPoint).order_by(col(InputPoint.id)))).all()
        events = (await session.exec(select(AuditEvent).order_by(col(AuditEvent.id)))).all()
        return {
            "clusters": [
                (
                    c.id,
                    c.timezone,
                    c.work_days,
                    c.work_start,
                    c.work_end,
                    c.rhythm_weeks,
                    c.nudge_after_days,
                )
                for c in clusters
            ],
            "terms": [(t.cluster_id, t.name, t.first_day, t.last_day) for t in terms],
            "holidays": [(h.cluster_id, h.name, h.first_day, h.last_day) for h in holidays],
            "points": sorted((p.school_id or 0, p.day) for p in points),
            "audit": [(e.person_id, e.action, e.target, e.detail) for e in events],
        }


def day_text(day: date) -> str:
    return f"{day.isoformat()} {('Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun')[day.weekday()]}"


def section(lines: list[str], heading: str) -> list[str]:
    """The indented lines under a heading of `calendar show`'s output."""
    start = lines.index(heading) + 1
    indent = len(heading) - len(heading.lstrip()) + 2
    rest = []
    for line in lines[start:]:
        if len(line) - len(line.lstrip()) < indent:
            break
        rest.append(line.strip())
    return rest


async def test_show_lists_two_input_points_a_term_at_a_third_and_two_thirds(
    calendar: Run, db: Database, cluster: dict[str, int]
) -> None:
    added = await ok(calendar, *span("term", "Autumn", *AUTUMN))
    (term_id,) = [t.id for t in (await _rows(db, Term))]
    assert added == [f"term {term_id}: Autumn, 2030-09-02 Mon to 2030-12-20 Fri"]

    lines = await ok(calendar, "show", "--cluster", ZAGREB, "--from", "2030-08-01")
    assert lines[:4] == [
        f"cluster {cluster['cluster']}: {ZAGREB}",
        "time zone: Europe/Zagreb",
        "working days and hours: Mon Tue Wed Thu Fri, 09:00-18:00",
        "rhythm: every 6 weeks without terms; nudge after 42 days without an entry",
    ]
    assert section(lines, "terms:") == [f"{term_id}  Autumn: 2030-09-02 Mon to 2030-12-20 Fri"]
    assert section(lines, "holidays:") == ["(none)"]
    assert "input points from 2030-08-01 to 2031-08-01:" in lines
    heading = "  cluster (two a term, at about a third and two thirds of it):"
    assert section(lines, heading) == AUTUMN_POINTS
    assert not any("OS Jedan" in line or "OS Mentor" in line for line in lines)

    # Only the points within twelve months of --from (both ends included) are listed.
    later = await ok(calendar, "show", "--cluster", str(cluster["cluster"]), "--from", "2030-10-09")
    assert section(later, heading) == AUTUMN_POINTS[1:]
    year_before = await ok(calendar, "show", "--cluster", ZAGREB, "--from", "2029-11-14")
    assert section(year_before, heading) == AUTUMN_POINTS
    too_early = await ok(calendar, "show", "--cluster", ZAGREB, "--from", "2029-11-13")
    assert section(too_early, heading) == AUTUMN_POINTS[:1]


async def _rows(db: Database, model: Any) -> list[Any]:
    async with db.session() as session:
        return list((await session.exec(select(model).order_by(col(model.id)))).all())


async def test_show_without_terms_follows_the_rhythm_from_the_clusters_creation(
    calendar: Run, db: Database
) -> None:
    (made,) = await _rows(db, Cluster)
    created = made.created_at.astimezone(ZoneInfo("Europe/Zagreb")).date()
    heading = f"  cluster (every 6 weeks from {created.isoformat()} (no terms)):"
    lines = await ok(calendar, "show", "--cluster", ZAGREB, "--from", created.isoformat())
    six = [created + timedelta(weeks=6 * n) for n in range(1, 9)]  # 48 weeks; 54 is past a year
    assert section(lines, heading) == [day_text(d) for d in six]

    await ok(calendar, "hours", "--cluster", ZAGREB, "--rhythm-weeks", "4")
    lines = await ok(calendar, "show", "--cluster", ZAGREB, "--from", created.isoformat())
    heading = f"  cluster (every 4 weeks from {created.isoformat()} (no terms)):"
    four = [created + timedelta(weeks=4 * n) for n in range(1, 14)]  # 13 * 28 = 364 days
    assert section(lines, heading) == [day_text(d) for d in four]


async def test_term_and_holiday_are_stored_listed_and_audited(
    calendar: Run, db: Database, cluster: dict[str, int]
) -> None:
    await ok(calendar, *span("term", "  Autumn   term ", *AUTUMN))
    added = await ok(calendar, *span("holiday", "Christmas", "2030-12-21", "2031-01-06"))
    (holiday,) = await _rows(db, Holiday)
    assert added == [f"holiday {holiday.id}: Christmas, 2030-12-21 Sat to 2031-01-06 Mon"]
    # A holiday may overlap a term and another holiday.
    await ok(calendar, *span("holiday", "Bridge day", "2030-12-20", "2030-12-23"))
    now = await state(db)
    the_cluster = cluster["cluster"]
    assert now["terms"] == [(the_cluster, "Autumn term", date(2030, 9, 2), date(2030, 12, 20))]
    assert now["holidays"] == [
        (the_cluster, "Christmas", date(2030, 12, 21), date(2031, 1, 6)),
        (the_cluster, "Bridge day", date(2030, 12, 20), date(2030, 12, 23)),
    ]
    term, first, second = (await _rows(db, Term))[0], *await _rows(db, Holiday)
    assert now["audit"] == [
        (
            None,
            "calendar.term_added",
            f"term:{term.id}",
            {"via": "cli", "cluster": the_cluster, "name": "Autumn term"}
            | {"first": "2030-09-02", "last": "2030-12-20"},
        ),
        (
            None,
            "calendar.holiday_added",
            f"holiday:{first.id}",
            {"via": "cli", "cluster": the_cluster, "name": "Christmas"}
            | {"first": "2030-12-21", "last": "2031-01-06"},
        ),
        (
            None,
            "calendar.holiday_added",
            f"holiday:{second.id}",
            {"via": "cli", "cluster": the_cluster, "name": "Bridge day"}
            | {"first": "2030-12-20", "last": "2030-12-23"},
        ),
    ]
    lines = await ok(calendar, "show", "--cluster", ZAGREB, "--from", "2030-08-01")
    assert section(lines, "holidays:") == [
        f"{second.id}  Bridge day: 2030-12-20 Fri to 2030-12-23 Mon",
        f"{first.id}  Christmas: 2030-12-21 Sat to 2031-01-06 Mon",
    ]


async def test_remove_deletes_a_term_or_a_holiday_and_audits_it(
    calendar: Run, db: Database, cluster: dict[str, int]
) -> None:
    async with db.session() as session:
        term = await add_term(
            session,
            cluster_id=cluster["cluster"],
            name="Autumn",
            first=date(2030, 9, 2),
            last=date(2030, 12, 20),
        )
        holiday = await add_holiday(
            session,
            cluster_id=cluster["cluster"],
            name="Christmas",
            first=date(2030, 12, 21),
            last=date(2031, 1, 6),
        )
    assert await ok(calendar, "remove", "--cluster", ZAGREB, "--term", str(term.id)) == [
        f"removed term {term.id} (Autumn, 2030-09-02 Mon to 2030-12-20 Fri) from {ZAGREB}"
    ]
    now = await state(db)
    assert now["terms"] == [] and len(now["holidays"]) == 1
    await ok(calendar, "remove", "--cluster", ZAGREB, "--holiday", str(holiday.id))
    now = await state(db)
    assert now["holidays"] == []
    detail = {"via": "cli", "cluster": cluster["cluster"]}
    assert now["audit"] == [
        (
            None,
            "calendar.term_removed",
            f"term:{term.id}",
            detail | {"name": "Autumn", "first": "2030-09-02", "last": "2030-12-20"},
        ),
        (
            None,
            "calendar.holiday_removed",
            f"holiday:{holiday.id}",
            detail | {"name": "Christmas", "first": "2030-12-21", "last": "2031-01-06"},
        ),
    ]
    lines = await ok(calendar, "show", "--cluster", ZAGREB, "--from", "2030-08-01")
    assert section(lines, "terms:") == ["(none)"] and section(lines, "holidays:") == ["(none)"]


async def test_input_points_for_a_school_and_for_the_cluster_replace_the_computed_ones(
    calendar: Run, db: Database, cluster: dict[str, int]
) -> None:
    async with db.session() as session:
        await add_term(
            session,
            cluster_id=cluster["cluster"],
            name="Autumn",
            first=date(2030, 9, 2),
            last=date(2030, 12, 20),
        )
    jedan, the_cluster = cluster["OS Jedan"], cluster["cluster"]
    school_dates = ["2030-11-30", "2030-10-01", "2030-11-30"]  # unsorted, one twice
    assert await ok(
        calendar, "input", "--cluster", ZAGREB, "--school", "OS Jedan", *school_dates
    ) == ["input points of OS Jedan: 2030-10-01 Tue, 2030-11-30 Sat"]
    assert (await state(db))["points"] == [(jedan, date(2030, 10, 1)), (jedan, date(2030, 11, 30))]
    lines = await ok(calendar, "show", "--cluster", ZAGREB, "--from", "2030-08-01")
    computed = "  cluster (two a term, at about a third and two thirds of it):"
    assert section(lines, computed) == AUTUMN_POINTS  # the cluster's dates are unchanged
    assert section(lines, "  OS Jedan (its own dates):") == ["2030-10-01 Tue", "2030-11-30 Sat"]
    assert not any("OS Mentor" in line for line in lines)  # it follows the cluster's dates

    assert await ok(calendar, "input", "--cluster", ZAGREB, "2030-09-20", "2030-12-01") == [
        f"input points of {ZAGREB}: 2030-09-20 Fri, 2030-12-01 Sun"
    ]
    lines = await ok(calendar, "show", "--cluster", ZAGREB, "--from", "2030-08-01")
    assert section(lines, "  cluster (set by hand):") == ["2030-09-20 Fri", "2030-12-01 Sun"]
    assert section(lines, "  OS Jedan (its own dates):") == ["2030-10-01 Tue", "2030-11-30 Sat"]

    assert await ok(
        calendar, "input", "--cluster", ZAGREB, "--school", "OS Jedan", "--default"
    ) == [f"OS Jedan follows the dates of {ZAGREB} again"]
    assert (await state(db))["points"] == [(0, date(2030, 9, 20)), (0, date(2030, 12, 1))]
    assert await ok(calendar, "input", "--cluster", ZAGREB, "--default") == [
        f"{ZAGREB} has its computed input points again"
    ]
    now = await state(db)
    assert now["points"] == []
    assert now["audit"] == [
        (
            None,
            "calendar.points_set",
            f"school:{jedan}",
            {"via": "cli", "cluster": the_cluster, "days": ["2030-10-01", "2030-11-30"]},
        ),
        (
            None,
            "calendar.points_set",
            f"cluster:{the_cluster}",
            {"via": "cli", "cluster": the_cluster, "days": ["2030-09-20", "2030-12-01"]},
        ),
        (
            None,
            "calendar.points_set",
            f"school:{jedan}",
            {"via": "cli", "cluster": the_cluster, "days": []},
        ),
        (
            None,
            "calendar.points_set",
            f"cluster:{the_cluster}",
            {"via": "cli", "cluster": the_cluster, "days": []},
        ),
    ]
    lines = await ok(calendar, "show", "--cluster", ZAGREB, "--from", "2030-08-01")
    assert section(lines, computed) == AUTUMN_POINTS
    assert not any("OS Jedan" in line for line in lines)


async def test_hours_change_working_days_hours_rhythm_nudge_and_time_zone(
    calendar: Run, db: Database, cluster: dict[str, int]
) -> None:
    the_cluster = cluster["cluster"]
    everything = (
        "--days 7123 --start 8:30 --end 16:00 --rhythm-weeks 4 --nudge-days 30"
        " --meeting-reminders 2h,2d"
    )
    changed = await ok(
        calendar, "hours", "--cluster", ZAGREB, *everything.split(), "--timezone", "Europe/Lisbon"
    )
    assert changed == [
        f"{ZAGREB}: Mon Tue Wed Sun, 08:30-16:00 (Europe/Lisbon); rhythm every 4 weeks; "
        "nudge after 30 days; meeting reminders 2d,2h before; weekly digest Fri 15:00"
    ]
    now = await state(db)
    assert now["clusters"] == [(the_cluster, "Europe/Lisbon", "1237", "08:30", "16:00", 4, 30)]
    assert now["audit"] == [
        (
            None,
            "calendar.hours",
            f"cluster:{the_cluster}",
            {
                "via": "cli",
                "work_days": ["12345", "1237"],
                "work_start": ["09:00", "08:30"],
                "work_end": ["18:00", "16:00"],
                "rhythm_weeks": [6, 4],
                "nudge_after_days": [42, 30],
                "timezone": ["Europe/Zagreb", "Europe/Lisbon"],
                "meeting_reminders": ["7d,1d,1h", "2d,2h"],
            },
        )
    ]
    lines = await ok(calendar, "show", "--cluster", ZAGREB)
    assert lines[1:4] == [
        "time zone: Europe/Lisbon",
        "working days and hours: Mon Tue Wed Sun, 08:30-16:00",
        "rhythm: every 4 weeks without terms; nudge after 30 days without an entry",
    ]

    # One option alone keeps the others; the same value again changes and audits nothing.
    await ok(calendar, "hours", "--cluster", ZAGREB, "--end", "17:00")
    assert (await state(db))["clusters"][0][2:5] == ("1237", "08:30", "17:00")
    assert await ok(calendar, "hours", "--cluster", ZAGREB, "--end", "17:00") == [
        f"{ZAGREB}: Mon Tue Wed Sun, 08:30-17:00 (Europe/Lisbon); rhythm every 4 weeks; "
        "nudge after 30 days; meeting reminders 2d,2h before; weekly digest Fri 15:00 "
        "(unchanged)"
    ]
    assert len((await state(db))["audit"]) == 2


OTHER_TERM = "other cluster's term"

ERRORS = [
    # Unknown cluster or school, or a term or holiday that is not there (or not this cluster's).
    (["show", "--cluster", "Nowhere"], "diarybot: error: no cluster 'Nowhere'"),
    (["hours", "--cluster", "999", "--end", "17:00"], "no cluster '999'"),
    (span("term", "T", "2031-01-05", "2031-03-01", cluster="Nowhere"), "no cluster 'Nowhere'"),
    (["input", "--cluster", ZAGREB, "--school", "OS Dva", "2030-10-01"], "no school 'OS Dva'"),
    (["input", "--cluster", ZAGREB, "--school", "OS Dva", "--default"], "no school 'OS Dva'"),
    (["remove", "--cluster", ZAGREB, "--term", "99999"], f"no term 99999 in {ZAGREB}"),
    (["remove", "--cluster", ZAGREB, "--holiday", "99999"], f"no holiday 99999 in {ZAGREB}"),
    (["remove", "--cluster", ZAGREB, "--term", OTHER_TERM], "no term"),
    # Bad dates.
    (
        span("term", "T", "2031-02-30", "2031-03-01"),
        "argument --from: '2031-02-30' is not a date YYYY-MM-DD",
    ),
    (
        span("holiday", "H", "2031-01-05", "2031-3-1"),
        "argument --to: '2031-3-1' is not a date YYYY-MM-DD",
    ),
    (["input", "--cluster", ZAGREB, "2030-10-01", "tomorrow"], "argument DATE: 'tomorrow'"),
    (["input", "--cluster", ZAGREB, "20301001"], "argument DATE: '20301001'"),
    (["show", "--cluster", ZAGREB, "--from", "2030-W40"], "argument --from: '2030-W40'"),
    # A term or holiday that ends before it starts; a term overlapping another.
    (
        span("term", "T", "2031-03-01", "2031-01-05"),
        "the term ends (2031-01-05) before it starts (2031-03-01)",
    ),
    (
        span("holiday", "H", "2031-01-06", "2031-01-05"),
        "the holiday ends (2031-01-05) before it starts (2031-01-06)",
    ),
    (
        span("term", "T", "2030-12-20", "2031-03-01"),
        "the term overlaps term TERM 'Autumn' (2030-09-02 to 2030-12-20)",
    ),
    (span("term", "T", "2030-01-01", "2031-12-31"), "the term overlaps term TERM 'Autumn'"),
    (span("term", "  ", "2031-01-05", "2031-03-01"), "argument --name: must not be empty"),
    # Input points: dates or --default, exactly one of them.
    (["input", "--cluster", ZAGREB], "give the input points' dates"),
    (["input", "--cluster", ZAGREB, "--default", "2030-10-01"], "not both"),
    # Remove: exactly one of --term and --holiday.
    (["remove", "--cluster", ZAGREB], "one of the arguments --term --holiday is required"),
    (["remove", "--cluster", ZAGREB, "--term", "1", "--holiday", "1"], "not allowed with"),
    (["remove", "--cluster", ZAGREB, "--term", "0"], "argument --term: must be from 1"),
    # Hours.
    (["hours", "--cluster", ZAGREB], "give at least one of --days"),
    (["hours", "--cluster", ZAGREB, "--start", "19:00"], "start must be before the end"),
    (["hours", "--cluster", ZAGREB, "--end", "09:00"], "start must be before the end"),
    (["hours", "--cluster", ZAGREB, "--start", "10:00", "--end", "09:30"], "must start (10:00)"),
    (["hours", "--cluster", ZAGREB, "--start", "24:00"], "argument --start: '24:00' is not a time"),
    (["hours", "--cluster", ZAGREB, "--end", "5pm"], "argument --end: '5pm' is not a time"),
    (["hours", "--cluster", ZAGREB, "--days", "0123"], "argument --days: '0123'"),
    (["hours", "--cluster", ZAGREB, "--days", "8"], "argument --days: '8'"),
    (["hours", "--cluster", ZAGREB, "--days", "1,2"], "argument --days: '1,2'"),
    (["hours", "--cluster", ZAGREB, "--days", ""], "argument --days: ''"),
    (["hours", "--cluster", ZAGREB, "--timezone", "Mars/Base"], "not a known time zone"),
    (["hours", "--cluster", ZAGREB, "--timezone", "../etc/passwd"], "not a known time zone"),
    (["hours", "--cluster", ZAGREB, "--rhythm-weeks", "0"], "argument --rhythm-weeks: must be"),
    (["hours", "--cluster", ZAGREB, "--nudge-days", "-1"], "argument --nudge-days: must be"),
    (["hours", "--cluster", ZAGREB, "--nudge-days", "x"], "'x' is not a whole number"),
    (["hours", "--cluster", ZAGREB, "--meeting-reminders", "1w"], "1w is not a time before"),
    (["hours", "--cluster", ZAGREB, "--meeting-reminders", ","], "give at least one"),
]


@pytest.mark.parametrize(("args", "says"), ERRORS)
async def test_a_mistake_is_one_line_exit_2_and_changes_nothing(
    calendar: Run, db: Database, cluster: dict[str, int], args: list[str], says: str
) -> None:
    async with db.session() as session:
        term = await add_term(
            session,
            cluster_id=cluster["cluster"],
            name="Autumn",
            first=date(2030, 9, 2),
            last=date(2030, 12, 20),
        )
        other = await create_cluster(session, name="Split", language="hr", timezone="UTC")
        assert other.id is not None
        theirs = await add_term(
            session,
            cluster_id=other.id,
            name="Spring",
            first=date(2031, 1, 5),
            last=date(2031, 3, 1),
        )
        await set_input_points(
            session,
            cluster_id=cluster["cluster"],
            school_id=cluster["OS Jedan"],
            days=[date(2030, 10, 1)],
            person_id=None,
        )
    before = await state(db)
    args = [str(theirs.id) if arg == OTHER_TERM else arg for arg in args]
    line = one_line_error(await calendar(*args))
    assert says.replace("TERM", str(term.id)) in line, line
    assert line.startswith("diarybot")
    assert await state(db) == before


async def test_no_secret_reaches_the_output(calendar: Run) -> None:
    secret = {"DIARYBOT_TELEGRAM_TOKEN": "123456:very-secret-token"}
    shown = await calendar("show", "--cluster", ZAGREB, env=secret)
    refused = await calendar("show", "--cluster", "Nowhere", env=secret)
    assert shown.returncode == 0 and refused.returncode == 2
    for result in (shown, refused):
        assert "very-secret" not in result.stdout + result.stderr


def test_every_calendar_action_has_help(tmp_path: Path) -> None:
    top = diarybot("calendar", "--help", data_dir=tmp_path)
    assert top.returncode == 0
    for action in ("show", "term", "holiday", "remove", "input", "hours"):
        assert action in top.stdout
        result = diarybot("calendar", action, "--help", data_dir=tmp_path)
        assert result.returncode == 0 and f"usage: diarybot calendar {action}" in result.stdout
    assert not (tmp_path / "diary.sqlite3").exists()
