"""Tests of `bot.rhythm`: working hours, holidays, daylight saving, input points and windows.

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
    Window,
    allowed,
    current_window,
    input_points,
    next_allowed,
    next_point,
    parse_clock,
    parse_work_days,
    rhythm_points,
    term_points,
    window_of,
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


# --- term points and input points --------------------------------------------------------------


def test_term_points_of_an_autumn_term() -> None:
    assert term_points(TERM_1) == [date(2026, 10, 16), date(2026, 11, 17)]


def test_term_points_of_a_spring_term() -> None:
    assert term_points(TERM_2) == [date(2027, 1, 31), date(2027, 2, 27)]


def test_term_points_of_tiny_terms() -> None:
    # One day: both points fall on it. Three days: one day and two days in.
    assert term_points(Span("t", date(2026, 9, 1), date(2026, 9, 1))) == [date(2026, 9, 1)] * 2
    assert term_points(Span("t", date(2026, 9, 1), date(2026, 9, 3))) == [
        date(2026, 9, 2),
        date(2026, 9, 3),
    ]


# Rhythm from Tue 1 Sep 2026 every 6 weeks (42 days): 13 Oct, 24 Nov 2026, 5 Jan, 16 Feb 2027.
RHYTHM = [date(2026, 10, 13), date(2026, 11, 24), date(2027, 1, 5), date(2027, 2, 16)]


def test_rhythm_points_every_n_weeks_from_the_start() -> None:
    cal = calendar()
    assert rhythm_points(cal, date(2027, 1, 5)) == RHYTHM[:3]  # `until` is included
    assert rhythm_points(cal, date(2027, 1, 4)) == RHYTHM[:2]
    assert rhythm_points(cal, date(2026, 10, 12)) == []
    assert rhythm_points(cal, date(2026, 1, 1)) == []  # before the cluster started


def test_rhythm_points_with_other_periods() -> None:
    # From Mon 5 Jan 2026 every 3 weeks: 26 Jan, 16 Feb, 9 Mar.
    cal = calendar(started=date(2026, 1, 5), rhythm_weeks=3)
    assert rhythm_points(cal, date(2026, 3, 9)) == [
        date(2026, 1, 26),
        date(2026, 2, 16),
        date(2026, 3, 9),
    ]
    # A period below one week is taken as one week.
    zero = calendar(rhythm_weeks=0)
    assert rhythm_points(zero, date(2026, 9, 22)) == [
        date(2026, 9, 8),
        date(2026, 9, 15),
        date(2026, 9, 22),
    ]


def test_input_points_from_terms_two_a_term_sorted() -> None:
    cal = calendar(terms=(TERM_2, TERM_1))  # given out of order
    assert input_points(cal, until=date(2026, 9, 1)) == [
        date(2026, 10, 16),
        date(2026, 11, 17),
        date(2027, 1, 31),
        date(2027, 2, 27),
    ]


def test_input_points_from_the_rhythm_look_one_period_past_until() -> None:
    cal = calendar()
    # Up to 24 Nov 2026, plus the next point (5 Jan 2027) so that the last window can close.
    assert input_points(cal, until=date(2026, 11, 24)) == RHYTHM[:3]
    assert input_points(cal, until=date(2026, 11, 23)) == RHYTHM[:2]


SCHOOL_OWN = (date(2026, 11, 9), date(2026, 10, 5))
CLUSTER_SET = (date(2026, 11, 20), date(2026, 10, 1), date(2026, 11, 20))


def test_input_points_precedence() -> None:
    cal = calendar(
        terms=(TERM_1,), cluster_points=CLUSTER_SET, school_points={7: SCHOOL_OWN, 8: ()}
    )
    until = date(2026, 12, 31)
    # A school's own dates replace the cluster's; sorted.
    assert input_points(cal, until=until, school_id=7) == [date(2026, 10, 5), date(2026, 11, 9)]
    # A school without its own dates (or with an empty list) and the cluster itself follow the
    # cluster's hand-set dates, which replace the term points; sorted and without repeats.
    cluster_set = [date(2026, 10, 1), date(2026, 11, 20)]
    assert input_points(cal, until=until, school_id=8) == cluster_set
    assert input_points(cal, until=until, school_id=9) == cluster_set
    assert input_points(cal, until=until) == cluster_set
    # Without hand-set cluster dates: two a term; the school's own dates still win.
    no_set = dataclasses.replace(cal, cluster_points=())
    assert input_points(no_set, until=until, school_id=9) == [
        date(2026, 10, 16),
        date(2026, 11, 17),
    ]
    assert input_points(no_set, until=until, school_id=7) == [date(2026, 10, 5), date(2026, 11, 9)]
    # Without terms either: the rhythm from `started`.
    bare = dataclasses.replace(no_set, terms=())
    assert input_points(bare, until=date(2026, 11, 24), school_id=9) == RHYTHM[:3]
    assert input_points(bare, until=date(2026, 11, 24), school_id=7) == [
        date(2026, 10, 5),
        date(2026, 11, 9),
    ]


def test_input_points_school_id_zero_is_a_school() -> None:
    cal = calendar(terms=(TERM_1,), school_points={0: (date(2026, 10, 2),)})
    assert input_points(cal, until=date(2026, 12, 31), school_id=0) == [date(2026, 10, 2)]


# --- windows -----------------------------------------------------------------------------------

TERMS = calendar(terms=(TERM_1, TERM_2))
TERM_POINTS = [date(2026, 10, 16), date(2026, 11, 17), date(2027, 1, 31), date(2027, 2, 27)]


def test_window_closes_at_the_next_point_within_a_term() -> None:
    window = window_of(TERMS, date(2026, 10, 16), TERM_POINTS)
    assert window == Window(date(2026, 10, 16), date(2026, 11, 17))


def test_window_closes_the_day_after_the_term_ends_when_that_comes_first() -> None:
    # Next point is 31 Jan 2027, but term 1 ends Fri 18 Dec 2026 → closes Sat 19 Dec.
    assert window_of(TERMS, date(2026, 11, 17), TERM_POINTS) == Window(
        date(2026, 11, 17), date(2026, 12, 19)
    )
    # The last point of all: only the term's end closes it (term 2 ends Fri 26 Mar 2027).
    assert window_of(TERMS, date(2027, 2, 27), TERM_POINTS) == Window(
        date(2027, 2, 27), date(2027, 3, 27)
    )


def test_window_of_a_point_outside_any_term() -> None:
    points = [date(2026, 10, 1), date(2026, 12, 28), date(2027, 2, 1)]
    cal = calendar(terms=(TERM_1,), cluster_points=tuple(points))
    # In term 1: the term's end (19 Dec) comes before the next point (28 Dec).
    assert window_of(cal, date(2026, 10, 1), points) == Window(
        date(2026, 10, 1), date(2026, 12, 19)
    )
    # In the holidays: open until the next point.
    assert window_of(cal, date(2026, 12, 28), points) == Window(
        date(2026, 12, 28), date(2027, 2, 1)
    )
    # Neither a later point nor a term: one rhythm period (6 weeks = 42 days) → 15 Mar 2027.
    assert window_of(cal, date(2027, 2, 1), points) == Window(date(2027, 2, 1), date(2027, 3, 15))


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 9, 14), None),  # term started, first point not yet reached
        (date(2026, 10, 15), None),
        (date(2026, 10, 16), Window(date(2026, 10, 16), date(2026, 11, 17))),
        (date(2026, 11, 16), Window(date(2026, 10, 16), date(2026, 11, 17))),
        (date(2026, 11, 17), Window(date(2026, 11, 17), date(2026, 12, 19))),
        (date(2026, 12, 18), Window(date(2026, 11, 17), date(2026, 12, 19))),
        (date(2026, 12, 19), None),  # the day after the term: closed
        (date(2027, 1, 4), None),  # term 2 started, its first point not yet reached
        (date(2027, 1, 30), None),
        (date(2027, 1, 31), Window(date(2027, 1, 31), date(2027, 2, 27))),
        (date(2027, 2, 27), Window(date(2027, 2, 27), date(2027, 3, 27))),
        (date(2027, 3, 26), Window(date(2027, 2, 27), date(2027, 3, 27))),
        (date(2027, 3, 27), None),
        (date(2027, 8, 1), None),
    ],
)
def test_current_window_with_terms(today: date, expected: Window | None) -> None:
    assert current_window(TERMS, today, school_id=None) == expected


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 9, 1), None),  # the day the cluster started
        (date(2026, 10, 12), None),
        (date(2026, 10, 13), Window(date(2026, 10, 13), date(2026, 11, 24))),
        (date(2026, 11, 23), Window(date(2026, 10, 13), date(2026, 11, 24))),
        (date(2026, 11, 24), Window(date(2026, 11, 24), date(2027, 1, 5))),
        (date(2027, 1, 4), Window(date(2026, 11, 24), date(2027, 1, 5))),
        (date(2027, 1, 5), Window(date(2027, 1, 5), date(2027, 2, 16))),
    ],
)
def test_current_window_with_the_rhythm(today: date, expected: Window | None) -> None:
    assert current_window(calendar(), today, school_id=None) == expected


def test_current_window_for_a_school_with_its_own_dates() -> None:
    cal = calendar(terms=(TERM_1,), school_points={7: SCHOOL_OWN})
    assert current_window(cal, date(2026, 10, 4), school_id=7) is None
    assert current_window(cal, date(2026, 10, 20), school_id=7) == Window(
        date(2026, 10, 5), date(2026, 11, 9)
    )
    assert current_window(cal, date(2026, 12, 18), school_id=7) == Window(
        date(2026, 11, 9), date(2026, 12, 19)
    )
    assert current_window(cal, date(2026, 12, 19), school_id=7) is None
    # The cluster (and a school without dates) on the same day follows the term points.
    assert current_window(cal, date(2026, 10, 20), school_id=None) == Window(
        date(2026, 10, 16), date(2026, 11, 17)
    )
    assert current_window(cal, date(2026, 10, 20), school_id=3) == Window(
        date(2026, 10, 16), date(2026, 11, 17)
    )


def test_current_window_of_a_lone_hand_set_point_without_terms() -> None:
    cal = calendar(cluster_points=(date(2026, 10, 1),))
    # 1 Oct 2026 + 42 days = 12 Nov.
    assert current_window(cal, date(2026, 11, 11), school_id=None) == Window(
        date(2026, 10, 1), date(2026, 11, 12)
    )
    assert current_window(cal, date(2026, 11, 12), school_id=None) is None


# --- next_point --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 9, 1), date(2026, 10, 16)),
        (date(2026, 10, 15), date(2026, 10, 16)),
        (date(2026, 10, 16), date(2026, 11, 17)),  # strictly after today
        (date(2026, 12, 19), date(2027, 1, 31)),
        (date(2027, 2, 26), date(2027, 2, 27)),
        (date(2027, 2, 27), None),  # no later point known
    ],
)
def test_next_point_with_terms(today: date, expected: date | None) -> None:
    assert next_point(TERMS, today, school_id=None) == expected


def test_next_point_with_the_rhythm_and_with_a_schools_own_dates() -> None:
    assert next_point(calendar(), date(2026, 9, 1), school_id=None) == date(2026, 10, 13)
    assert next_point(calendar(), date(2026, 10, 13), school_id=None) == date(2026, 11, 24)
    cal = calendar(terms=(TERM_1,), school_points={7: SCHOOL_OWN})
    assert next_point(cal, date(2026, 10, 5), school_id=7) == date(2026, 11, 9)
    assert next_point(cal, date(2026, 11, 9), school_id=7) is None
    assert next_point(cal, date(2026, 11, 9), school_id=None) == date(2026, 11, 17)


# --- parsing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12345", frozenset({1, 2, 3, 4, 5})),
        ("67", frozenset({6, 7})),
        ("71234", frozenset({7, 1, 2, 3, 4})),
        ("1, 3,5", frozenset({1, 3, 5})),
        ("5541", frozenset({1, 4, 5})),
    ],
)
def test_parse_work_days(text: str, expected: frozenset[int]) -> None:
    assert parse_work_days(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "089", "mon-fri"])
def test_parse_work_days_without_a_day_raises(text: str) -> None:
    with pytest.raises(ValueError, match="no working day"):
        parse_work_days(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("09:30", time(9, 30)),
        ("18:00", time(18, 0)),
        ("7:05", time(7, 5)),
        ("9", time(9, 0)),
        ("00:00", time(0, 0)),
    ],
)
def test_parse_clock(text: str, expected: time) -> None:
    assert parse_clock(text) == expected


@pytest.mark.parametrize("text", ["", "25:00", "09:60", "nine", "09h30"])
def test_parse_clock_rejects_nonsense(text: str) -> None:
    with pytest.raises(ValueError):
        parse_clock(text)
