"""Tests of `bot.rhythm`'s dates: term and rhythm points, their precedence, input windows.

Companion of tests/test_rhythm.py (working hours, holidays, daylight saving), whose calendars and
zones it shares; every expected date was worked out by hand from a real calendar.
"""

from __future__ import annotations

import dataclasses
from datetime import date, time

import pytest

from bot.rhythm import (
    Span,
    Window,
    current_window,
    input_points,
    next_point,
    parse_clock,
    parse_work_days,
    rhythm_points,
    term_points,
    window_of,
)
from tests.test_rhythm import (
    TERM_1,
    TERM_2,
    calendar,
)

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
