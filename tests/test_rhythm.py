"""Tests of `bot.rhythm`: working hours, holidays and daylight saving (dates: test_rhythm_points).

Every expected value below was worked out by hand from a real calendar (weekdays and the dates
of the daylight-saving changes are noted next to them); none was copied from the code's output.
No test reads the clock: every moment is given explicitly, as an aware UTC datetime.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.rhythm import (
    Calendar,
    Span,
    allowed,
    next_allowed,
    parse_clock,
    parse_work_days,
)

LISBON = ZoneInfo("Europe/Lisbon")  # WET (UTC+0) in winter, WEST (UTC+1) in summer
ZAGREB = ZoneInfo("Europe/Zagreb")  # CET (UTC+1) in winter, CEST (UTC+2) in summer
NEW_YORK = ZoneInfo("America/New_York")  # EST (UTC-5) in winter, EDT (UTC-4) in summer
SAO_PAULO = ZoneInfo("America/Sao_Paulo")  # UTC-3 all year: no daylight saving since 2019
AUCKLAND = ZoneInfo("Pacific/Auckland")  # NZDT (UTC+13) in January
HONOLULU = ZoneInfo("Pacific/Honolulu")  # UTC-10 all year

# 2026/27 school year. Term 1 is Mon 14 Sep – Fri 18 Dec 2026: 96 days (17 + 31 + 30 + 18).
# A third is 96 // 3 = 32 days in: 14 Sep + 32 = 16 Oct; two thirds 192 // 3 = 64: 17 Nov.
TERM_1 = Span("Autumn", date(2026, 9, 14), date(2026, 12, 18))
# Term 2 is 4 Jan – 26 Mar 2027: 82 days (28 + 28 + 26); 82 // 3 = 27 → 31 Jan,
# 164 // 3 = 54 → 4 Jan + 54 = 27 Feb.
TERM_2 = Span("Spring", date(2027, 1, 4), date(2027, 3, 26))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def calendar(zone: ZoneInfo = ZAGREB, **changes: object) -> Calendar:
    """A Monday–Friday, 09:00–18:00 calendar started Tue 1 Sep 2026, changed as asked."""
    base = Calendar(timezone=zone, started=date(2026, 9, 1))
    return dataclasses.replace(base, **changes)


# --- Span and Calendar helpers -------------------------------------------------------------


def test_span_includes_both_ends() -> None:
    span = Span("Half term", date(2025, 10, 27), date(2025, 10, 31))
    assert date(2025, 10, 27) in span
    assert date(2025, 10, 29) in span
    assert date(2025, 10, 31) in span
    assert date(2025, 10, 26) not in span
    assert date(2025, 11, 1) not in span
    assert "2025-10-29" not in span


def test_calendar_at_and_local_convert_wall_clock_time() -> None:
    zagreb = calendar(ZAGREB)
    # Mon 1 Dec 2025 in Zagreb is CET, UTC+1.
    assert zagreb.at(date(2025, 12, 1), time(9, 0)) == utc(2025, 12, 1, 8, 0)
    local = zagreb.local(utc(2025, 12, 1, 8, 0))
    assert (local.date(), local.time()) == (date(2025, 12, 1), time(9, 0))
    # Wed 1 Jul 2026 is CEST, UTC+2.
    assert zagreb.at(date(2026, 7, 1), time(9, 0)) == utc(2026, 7, 1, 7, 0)


def test_term_of_and_is_holiday() -> None:
    cal = calendar(
        terms=(TERM_1, TERM_2),
        holidays=(Span("Christmas", date(2026, 12, 21), date(2027, 1, 1)),),
    )
    assert cal.term_of(date(2026, 9, 14)) is TERM_1
    assert cal.term_of(date(2026, 12, 18)) is TERM_1
    assert cal.term_of(date(2027, 2, 1)) is TERM_2
    assert cal.term_of(date(2026, 12, 19)) is None
    assert cal.term_of(date(2026, 9, 13)) is None
    assert cal.is_holiday(date(2026, 12, 21))
    assert cal.is_holiday(date(2027, 1, 1))
    assert not cal.is_holiday(date(2026, 12, 20))
    assert not cal.is_holiday(date(2027, 1, 2))
    # Mon 21 Dec 2026 is a weekday but a holiday; Sat 2 Jan 2027 is not a holiday but a Saturday.
    assert not cal.is_working_day(date(2026, 12, 21))
    assert not cal.is_working_day(date(2027, 1, 2))
    assert cal.is_working_day(date(2027, 1, 4))


# --- allowed ---------------------------------------------------------------------------------

# Zagreb in December 2025 is UTC+1, so local 09:00 is 08:00 UTC. Mon 1 Dec 2025; Thu 25 Dec.
ZAGREB_WINTER = calendar(
    ZAGREB, holidays=(Span("Christmas", date(2025, 12, 24), date(2025, 12, 26)),)
)


@pytest.mark.parametrize(
    ("moment", "expected", "why"),
    [
        (utc(2025, 12, 1, 9, 0), True, "Monday 10:00 local"),
        (utc(2025, 12, 1, 8, 0), True, "Monday 09:00 local: opening is allowed"),
        (utc(2025, 12, 1, 16, 59), True, "Monday 17:59 local"),
        (utc(2025, 12, 1, 7, 59), False, "Monday 08:59 local: before opening"),
        (utc(2025, 12, 1, 17, 0), False, "Monday 18:00 local: closing is not allowed"),
        (utc(2025, 12, 1, 21, 0), False, "Monday 22:00 local: after hours"),
        (utc(2025, 12, 6, 10, 0), False, "Saturday 11:00 local"),
        (utc(2025, 12, 7, 10, 0), False, "Sunday 11:00 local"),
        (utc(2025, 12, 25, 10, 0), False, "Thursday 11:00 local, a holiday"),
        (utc(2025, 12, 24, 8, 0), False, "first day of the holiday"),
        (utc(2025, 12, 26, 16, 0), False, "last day of the holiday"),
        (utc(2025, 12, 23, 16, 0), True, "Tuesday 17:00 local, the day before the holiday"),
    ],
)
def test_allowed(moment: datetime, expected: bool, why: str) -> None:
    assert allowed(ZAGREB_WINTER, moment) is expected, why


def test_allowed_uses_the_local_date_not_the_utc_date() -> None:
    cal = calendar(AUCKLAND)
    # Sun 4 Jan 2026 21:00 UTC is Mon 5 Jan 10:00 in Auckland (UTC+13): allowed.
    assert allowed(cal, utc(2026, 1, 4, 21, 0))
    # Fri 9 Jan 2026 22:00 UTC is Sat 10 Jan 11:00 in Auckland: not allowed.
    assert not allowed(cal, utc(2026, 1, 9, 22, 0))


def test_allowed_follows_daylight_saving() -> None:
    cal = calendar(NEW_YORK)
    # 13:30 UTC is 09:30 EDT on Fri 31 Oct 2025, but 08:30 EST on Mon 3 Nov (after 2 Nov).
    assert allowed(cal, utc(2025, 10, 31, 13, 30))
    assert not allowed(cal, utc(2025, 11, 3, 13, 30))
    # 22:30 UTC is 18:30 EDT (closed) on Friday, 17:30 EST (open) on Monday.
    assert not allowed(cal, utc(2025, 10, 31, 22, 30))
    assert allowed(cal, utc(2025, 11, 3, 22, 30))


def test_allowed_with_own_working_days_and_hours() -> None:
    cal = calendar(
        ZoneInfo("UTC"),
        work_days=parse_work_days("71234"),
        work_start=parse_clock("08:30"),
        work_end=parse_clock("16:00"),
    )
    assert allowed(cal, utc(2025, 12, 7, 8, 30))  # Sunday 08:30
    assert not allowed(cal, utc(2025, 12, 5, 10, 0))  # Friday
    assert not allowed(cal, utc(2025, 12, 6, 10, 0))  # Saturday
    assert not allowed(cal, utc(2025, 12, 4, 8, 29))  # Thursday 08:29
    assert not allowed(cal, utc(2025, 12, 4, 16, 0))  # Thursday 16:00


# --- next_allowed ----------------------------------------------------------------------------


def test_next_allowed_inside_working_hours_is_unchanged() -> None:
    moment = utc(2025, 12, 2, 10, 17)  # Tue 2 Dec 2025 11:17 in Zagreb
    assert next_allowed(ZAGREB_WINTER, moment) == moment


def test_next_allowed_keeps_a_moment_given_in_another_zone() -> None:
    moment = datetime(2025, 12, 2, 5, 17, tzinfo=NEW_YORK)  # 10:17 UTC, 11:17 in Zagreb
    assert next_allowed(ZAGREB_WINTER, moment) == utc(2025, 12, 2, 10, 17)


def test_next_allowed_at_opening_time_is_unchanged() -> None:
    assert next_allowed(ZAGREB_WINTER, utc(2025, 12, 2, 8, 0)) == utc(2025, 12, 2, 8, 0)


def test_next_allowed_before_opening_is_that_days_opening() -> None:
    # Tue 2 Dec 2025 07:15 local (06:15 UTC) → 09:00 local = 08:00 UTC the same day.
    assert next_allowed(ZAGREB_WINTER, utc(2025, 12, 2, 6, 15)) == utc(2025, 12, 2, 8, 0)
    # Just after local midnight (Mon 1 Dec 23:30 UTC is Tue 2 Dec 00:30 local).
    assert next_allowed(ZAGREB_WINTER, utc(2025, 12, 1, 23, 30)) == utc(2025, 12, 2, 8, 0)


def test_next_allowed_after_closing_is_next_working_days_opening() -> None:
    # Tue 2 Dec 2025 19:45 local → Wed 3 Dec 09:00 local = 08:00 UTC.
    assert next_allowed(ZAGREB_WINTER, utc(2025, 12, 2, 18, 45)) == utc(2025, 12, 3, 8, 0)


def test_next_allowed_exactly_at_closing_moves_to_the_next_day() -> None:
    # Tue 2 Dec 2025 18:00 local sharp → Wed 3 Dec 09:00 local.
    assert next_allowed(ZAGREB_WINTER, utc(2025, 12, 2, 17, 0)) == utc(2025, 12, 3, 8, 0)
    # One minute before closing is still allowed.
    assert next_allowed(ZAGREB_WINTER, utc(2025, 12, 2, 16, 59)) == utc(2025, 12, 2, 16, 59)


def test_next_allowed_friday_evening_is_monday_morning() -> None:
    # Fri 5 Dec 2025 20:00 local (19:00 UTC) → Mon 8 Dec 09:00 local = 08:00 UTC.
    assert next_allowed(ZAGREB_WINTER, utc(2025, 12, 5, 19, 0)) == utc(2025, 12, 8, 8, 0)
    # Saturday noon and Sunday evening go to the same Monday.
    assert next_allowed(ZAGREB_WINTER, utc(2025, 12, 6, 11, 0)) == utc(2025, 12, 8, 8, 0)
    assert next_allowed(ZAGREB_WINTER, utc(2025, 12, 7, 22, 0)) == utc(2025, 12, 8, 8, 0)


def test_next_allowed_skips_a_holiday_of_several_days() -> None:
    cal = calendar(ZAGREB, holidays=(Span("Break", date(2025, 11, 25), date(2025, 11, 27)),))
    # Mon 24 Nov 2025 19:00 local; Tue 25 – Thu 27 off → Fri 28 Nov 09:00 local = 08:00 UTC.
    assert next_allowed(cal, utc(2025, 11, 24, 18, 0)) == utc(2025, 11, 28, 8, 0)
    # From inside the holiday, during working hours.
    assert next_allowed(cal, utc(2025, 11, 26, 10, 0)) == utc(2025, 11, 28, 8, 0)


def test_next_allowed_skips_a_long_holiday_and_the_weekends_around_it() -> None:
    cal = calendar(ZAGREB, holidays=(Span("Christmas", date(2025, 12, 24), date(2026, 1, 2)),))
    # Tue 23 Dec 2025 18:30 local. Wed 24 Dec – Fri 2 Jan off, Sat 3 and Sun 4 Jan weekend
    # → Mon 5 Jan 2026 09:00 CET = 08:00 UTC.
    assert next_allowed(cal, utc(2025, 12, 23, 17, 30)) == utc(2026, 1, 5, 8, 0)


def test_next_allowed_weekend_followed_by_a_monday_holiday() -> None:
    # Lisbon, winter (WET, UTC+0). Mon 8 Dec 2025 is a holiday (Imaculada Conceição).
    cal = calendar(
        LISBON, holidays=(Span("Imaculada Conceição", date(2025, 12, 8), date(2025, 12, 8)),)
    )
    # Fri 5 Dec 18:30 → Sat, Sun, holiday Monday → Tue 9 Dec 09:00 = 09:00 UTC.
    assert next_allowed(cal, utc(2025, 12, 5, 18, 30)) == utc(2025, 12, 9, 9, 0)
    assert next_allowed(cal, utc(2025, 12, 6, 12, 0)) == utc(2025, 12, 9, 9, 0)
    assert next_allowed(cal, utc(2025, 12, 8, 10, 0)) == utc(2025, 12, 9, 9, 0)


def test_next_allowed_friday_and_monday_holidays_around_a_weekend() -> None:
    cal = calendar(
        LISBON,
        holidays=(
            Span("Bridge", date(2025, 12, 5), date(2025, 12, 5)),
            Span("Imaculada Conceição", date(2025, 12, 8), date(2025, 12, 8)),
        ),
    )
    # Thu 4 Dec 2025 18:00 → Fri off, weekend, Mon off → Tue 9 Dec 09:00 UTC.
    assert next_allowed(cal, utc(2025, 12, 4, 18, 0)) == utc(2025, 12, 9, 9, 0)


def test_next_allowed_uses_the_local_date_not_the_utc_date() -> None:
    cal = calendar(AUCKLAND)
    # Sun 4 Jan 2026 19:00 UTC is Mon 5 Jan 08:00 in Auckland (NZDT, UTC+13): opens at
    # Mon 09:00 local = Sun 4 Jan 20:00 UTC.
    assert next_allowed(cal, utc(2026, 1, 4, 19, 0)) == utc(2026, 1, 4, 20, 0)
    ny = calendar(NEW_YORK)
    # Sat 6 Dec 2025 03:00 UTC is Fri 5 Dec 22:00 EST → Mon 8 Dec 09:00 EST = 14:00 UTC.
    assert next_allowed(ny, utc(2025, 12, 6, 3, 0)) == utc(2025, 12, 8, 14, 0)
    honolulu = calendar(HONOLULU)
    # Wed 3 Dec 2025 01:00 UTC is Tue 2 Dec 15:00 in Honolulu (UTC-10): inside working hours,
    # although the UTC date is already Wednesday.
    assert next_allowed(honolulu, utc(2025, 12, 3, 1, 0)) == utc(2025, 12, 3, 1, 0)
    # Wed 3 Dec 04:00 UTC is Tue 18:00 local, closing → Wed 09:00 local = 19:00 UTC.
    assert next_allowed(honolulu, utc(2025, 12, 3, 4, 0)) == utc(2025, 12, 3, 19, 0)


def test_next_allowed_with_a_sunday_to_thursday_week() -> None:
    cal = calendar(ZoneInfo("UTC"), work_days=parse_work_days("71234"))
    # Thu 4 Dec 2025 18:00 → Fri and Sat are off → Sun 7 Dec 09:00.
    assert next_allowed(cal, utc(2025, 12, 4, 18, 0)) == utc(2025, 12, 7, 9, 0)


def test_next_allowed_with_own_hours() -> None:
    cal = calendar(ZAGREB, work_start=parse_clock("08:30"), work_end=parse_clock("13:00"))
    # Tue 2 Dec 2025 07:00 local → 08:30 local = 07:30 UTC; 13:00 local → Wed 08:30 local.
    assert next_allowed(cal, utc(2025, 12, 2, 6, 0)) == utc(2025, 12, 2, 7, 30)
    assert next_allowed(cal, utc(2025, 12, 2, 12, 0)) == utc(2025, 12, 3, 7, 30)


def test_next_allowed_gives_up_when_every_day_is_a_holiday() -> None:
    cal = calendar(ZAGREB, holidays=(Span("Closed", date(2025, 1, 1), date(2027, 12, 31)),))
    with pytest.raises(ValueError, match="no message"):
        next_allowed(cal, utc(2025, 12, 2, 10, 0))


# --- daylight saving -------------------------------------------------------------------------

# Autumn 2025: Europe leaves summer time on the last Sunday of October (26 Oct), the USA on the
# first Sunday of November (2 Nov). Sao Paulo has no change and is the control.
AUTUMN = [
    # zone, Friday before, its 09:00 in UTC, Monday after, its 09:00 in UTC
    pytest.param(LISBON, utc(2025, 10, 24, 8), utc(2025, 10, 27, 9), id="Lisbon WEST→WET"),
    pytest.param(ZAGREB, utc(2025, 10, 24, 7), utc(2025, 10, 27, 8), id="Zagreb CEST→CET"),
    pytest.param(NEW_YORK, utc(2025, 10, 31, 13), utc(2025, 11, 3, 14), id="New York EDT→EST"),
]


@pytest.mark.parametrize(("zone", "friday_nine", "monday_nine"), AUTUMN)
def test_reminder_stays_at_nine_local_across_the_autumn_change(
    zone: ZoneInfo, friday_nine: datetime, monday_nine: datetime
) -> None:
    cal = calendar(zone)
    friday_early = friday_nine - timedelta(hours=5)  # 04:00 local on the Friday
    friday_evening = friday_nine + timedelta(hours=11)  # 20:00 local on the Friday
    assert next_allowed(cal, friday_early) == friday_nine
    assert next_allowed(cal, friday_evening) == monday_nine
    for moment in (friday_nine, monday_nine):
        assert cal.local(moment).time() == time(9, 0)
    # Same wall-clock time, one hour later in UTC: the clocks went back in between.
    assert monday_nine.hour - friday_nine.hour == 1
    assert cal.at(friday_nine.date(), time(9, 0)) == friday_nine
    assert cal.at(monday_nine.date(), time(9, 0)) == monday_nine


SPRING = [
    # Spring 2026: the USA on the second Sunday of March (8 Mar), Europe on the last (29 Mar).
    pytest.param(LISBON, utc(2026, 3, 27, 9), utc(2026, 3, 30, 8), id="Lisbon WET→WEST"),
    pytest.param(ZAGREB, utc(2026, 3, 27, 8), utc(2026, 3, 30, 7), id="Zagreb CET→CEST"),
    pytest.param(NEW_YORK, utc(2026, 3, 6, 14), utc(2026, 3, 9, 13), id="New York EST→EDT"),
]


@pytest.mark.parametrize(("zone", "friday_nine", "monday_nine"), SPRING)
def test_reminder_stays_at_nine_local_across_the_spring_change(
    zone: ZoneInfo, friday_nine: datetime, monday_nine: datetime
) -> None:
    cal = calendar(zone)
    assert next_allowed(cal, friday_nine - timedelta(hours=5)) == friday_nine
    assert next_allowed(cal, friday_nine + timedelta(hours=11)) == monday_nine
    assert friday_nine.hour - monday_nine.hour == 1


def test_zone_without_daylight_saving_keeps_the_same_utc_hour() -> None:
    cal = calendar(SAO_PAULO)
    # 09:00 at UTC-3 is 12:00 UTC on Fri 31 Oct 2025 and on Mon 3 Nov 2025 alike.
    assert next_allowed(cal, utc(2025, 10, 31, 7)) == utc(2025, 10, 31, 12)
    assert next_allowed(cal, utc(2025, 10, 31, 23)) == utc(2025, 11, 3, 12)


def test_each_opening_through_the_european_change_week() -> None:
    cal = calendar(LISBON)
    # Openings from Wed 22 Oct 2025, each asked for at the previous day's closing time.
    expected = [
        utc(2025, 10, 22, 8),  # Wed, WEST
        utc(2025, 10, 23, 8),  # Thu
        utc(2025, 10, 24, 8),  # Fri
        utc(2025, 10, 27, 9),  # Mon, WET (clocks went back on Sun 26 Oct)
        utc(2025, 10, 28, 9),  # Tue
    ]
    openings = [next_allowed(cal, utc(2025, 10, 22, 6))]
    while len(openings) < len(expected):
        openings.append(next_allowed(cal, openings[-1] + timedelta(hours=9)))
    assert openings == expected


def test_europe_and_usa_change_on_different_dates() -> None:
    lisbon, new_york = calendar(LISBON), calendar(NEW_YORK)

    def gap(day: date) -> timedelta:
        return new_york.at(day, time(9, 0)) - lisbon.at(day, time(9, 0))

    # Wed 22 Oct 2025: both on summer time, 08:00 and 13:00 UTC.
    assert gap(date(2025, 10, 22)) == timedelta(hours=5)
    # Wed 29 Oct: Lisbon already on WET (09:00 UTC), New York still on EDT (13:00 UTC).
    assert gap(date(2025, 10, 29)) == timedelta(hours=4)
    assert next_allowed(lisbon, utc(2025, 10, 29, 6)) == utc(2025, 10, 29, 9)
    assert next_allowed(new_york, utc(2025, 10, 29, 6)) == utc(2025, 10, 29, 13)
    # Wed 5 Nov: both on winter time, 09:00 and 14:00 UTC.
    assert gap(date(2025, 11, 5)) == timedelta(hours=5)
