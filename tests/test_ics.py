"""Tests of `bot.ics`: meeting calendar files, read back with icalendar.

Expected times were worked out by hand. Lisbon is on WET (UTC+0) in winter and WEST (UTC+1) in
summer; in 2027 the clocks go forward on Sunday 28 March at 01:00 UTC and back on Sunday
31 October at 01:00 UTC (the last Sundays of March and October).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Event

from bot.ics import PRODID, ics_filename, meeting_ics

LISBON = "Europe/Lisbon"
STAMP = datetime(2027, 1, 5, 14, 30, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def make(**changes: object) -> bytes:
    """A meeting in Lisbon on Wednesday 20 January 2027, 16:00–17:30 local (= UTC in winter)."""
    fields: dict[str, object] = {
        "uid": "meeting-42@cluster-diary",
        "sequence": 0,
        "start": utc(2027, 1, 20, 16),
        "end": utc(2027, 1, 20, 17, 30),
        "timezone": LISBON,
        "summary": "Termly cluster meeting",
        "location": "Escola Básica de Sé, Lisboa",
        "description": "Term 2 review",
        "stamp": STAMP,
    }
    fields.update(changes)
    return meeting_ics(**fields)  # type: ignore[arg-type]


def parse(data: bytes) -> tuple[Calendar, Event]:
    calendar = Calendar.from_ical(data)
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return calendar, events[0]


def own_zone_of(calendar: Calendar) -> tzinfo:
    """The zone as the file's own VTIMEZONE defines it, not as the reader's zone database does."""
    (vtimezone,) = calendar.walk("VTIMEZONE")
    return vtimezone.to_tz(lookup_tzid=False)


def lines(data: bytes) -> list[str]:
    """The file's content lines, unfolded (a continuation line starts with one space)."""
    return data.decode("utf-8").replace("\r\n ", "").split("\r\n")


def test_announcement_has_the_calendar_and_event_properties() -> None:
    calendar, event = parse(make())
    assert str(calendar["PRODID"]) == PRODID
    assert "Cluster Diary bot" in str(calendar["PRODID"])
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(event["UID"]) == "meeting-42@cluster-diary"
    assert event.decoded("SEQUENCE") == 0
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["SUMMARY"]) == "Termly cluster meeting"
    assert str(event["LOCATION"]) == "Escola Básica de Sé, Lisboa"
    assert str(event["DESCRIPTION"]) == "Term 2 review"
    assert event.decoded("DTSTAMP") == STAMP


def test_times_are_local_wall_clock_with_the_cluster_zone() -> None:
    data = make()
    _, event = parse(data)
    # In January Lisbon is on UTC+0, so 16:00 UTC is 16:00 on the wall.
    assert event["DTSTART"].params["TZID"] == LISBON
    assert event["DTEND"].params["TZID"] == LISBON
    assert "DTSTART;TZID=Europe/Lisbon:20270120T160000" in lines(data)
    assert "DTEND;TZID=Europe/Lisbon:20270120T173000" in lines(data)
    assert event.decoded("DTSTART").astimezone(UTC) == utc(2027, 1, 20, 16)
    assert event.decoded("DTEND").astimezone(UTC) == utc(2027, 1, 20, 17, 30)
    # DTSTAMP is always UTC, whatever zone the meeting is in.
    assert "DTSTAMP:20270105T143000Z" in lines(data)


def test_a_non_utc_aware_start_is_the_same_moment() -> None:
    athens = datetime(2027, 1, 20, 18, tzinfo=ZoneInfo("Europe/Athens"))  # UTC+2 in winter
    _, event = parse(make(start=athens, end=athens + timedelta(hours=1)))
    assert "20270120T160000" in event["DTSTART"].to_ical().decode()
    assert event.decoded("DTSTART").astimezone(UTC) == utc(2027, 1, 20, 16)


def test_vtimezone_for_the_zone_comes_before_the_event() -> None:
    data = make()
    calendar, _ = parse(data)
    zones = calendar.walk("VTIMEZONE")
    assert [str(zone["TZID"]) for zone in zones] == [LISBON]
    names = [component.name for component in calendar.subcomponents]
    assert names == ["VTIMEZONE", "VEVENT"]
    # Lisbon keeps daylight saving, so both its winter and its summer rules are described.
    offsets = {(sub.name, sub.decoded("TZOFFSETTO")) for sub in zones[0].subcomponents}
    assert ("STANDARD", timedelta(0)) in offsets
    assert ("DAYLIGHT", timedelta(hours=1)) in offsets


@pytest.mark.parametrize(
    ("start", "wall"),
    [
        # Friday 26 March 2027, before the change: WET, UTC+0.
        (utc(2027, 3, 26, 9), "20270326T090000"),
        # Sunday 28 March 2027, the day itself (clocks went forward at 01:00 UTC): WEST, UTC+1.
        (utc(2027, 3, 28, 8), "20270328T090000"),
        # Monday 29 March 2027, after the change: WEST, UTC+1.
        (utc(2027, 3, 29, 8), "20270329T090000"),
        # Friday 29 October 2027, before the autumn change: still WEST, UTC+1.
        (utc(2027, 10, 29, 8), "20271029T090000"),
        # Monday 1 November 2027, after it: WET, UTC+0.
        (utc(2027, 11, 1, 9), "20271101T090000"),
    ],
)
def test_nine_o_clock_on_both_sides_of_daylight_saving(start: datetime, wall: str) -> None:
    data = make(start=start, end=start + timedelta(hours=1))
    calendar, event = parse(data)
    assert f"DTSTART;TZID=Europe/Lisbon:{wall}" in lines(data)
    local = event.decoded("DTSTART")
    assert (local.hour, local.minute) == (9, 0)
    assert local.astimezone(UTC) == start
    # The file's own VTIMEZONE (not the reader's zone database) must give the same moment:
    # this is what a client without an IANA database goes by.
    own_zone = own_zone_of(calendar)
    naive = event.decoded("DTSTART").replace(tzinfo=None)
    assert naive.replace(tzinfo=own_zone).astimezone(UTC) == start


def test_meeting_after_2038_still_has_its_zone_rules() -> None:
    # icalendar's default VTIMEZONE window stops at 2038; summer 2040 is WEST, UTC+1.
    start = utc(2040, 6, 12, 8)
    calendar, event = parse(make(start=start, end=start + timedelta(hours=1)))
    own_zone = own_zone_of(calendar)
    naive = event.decoded("DTSTART").replace(tzinfo=None)
    assert naive == datetime(2040, 6, 12, 9)
    assert naive.replace(tzinfo=own_zone).astimezone(UTC) == start


def test_a_moved_meeting_keeps_its_uid_with_a_higher_sequence() -> None:
    first = parse(make())[1]
    moved = parse(make(sequence=1, start=utc(2027, 1, 27, 16), end=utc(2027, 1, 27, 17)))[1]
    assert str(moved["UID"]) == str(first["UID"])
    assert moved.decoded("SEQUENCE") == 1
    assert str(moved["STATUS"]) == "CONFIRMED"
    assert moved.decoded("DTSTART").astimezone(UTC) == utc(2027, 1, 27, 16)


def test_cancelled_form() -> None:
    data = make(sequence=2, cancelled=True)
    calendar, event = parse(data)
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(event["STATUS"]) == "CANCELLED"
    assert str(event["UID"]) == "meeting-42@cluster-diary"
    assert event.decoded("SEQUENCE") == 2
    assert "METHOD:PUBLISH" not in lines(data)
    assert "STATUS:CONFIRMED" not in lines(data)
    # The cancelled event still says which meeting it was.
    assert event.decoded("DTSTART").astimezone(UTC) == utc(2027, 1, 20, 16)
    assert calendar.walk("VTIMEZONE")


def test_special_characters_round_trip() -> None:
    summary = "Reunião: ciclo 1, 2; «avaliação»"
    location = "Escola Básica de Sé, Lisboa; sala 3"
    description = (
        "Agenda:\n1. Foco, progresso; próximos passos\n2. C:\\partilhas\\notas\n"
        + "Participação das famílias e dos alunos — " * 4
    )
    data = make(summary=summary, location=location, description=description)
    _, event = parse(data)
    assert str(event["SUMMARY"]) == summary
    assert str(event["LOCATION"]) == location
    assert str(event["DESCRIPTION"]) == description
    # Escaped as RFC 5545 says, and long lines folded at 75 octets without splitting a character.
    assert "LOCATION:Escola Básica de Sé\\, Lisboa\\; sala 3" in lines(data)
    assert "\\n1. Foco\\, progresso\\; próximos passos\\n2. C:\\\\partilhas\\\\notas" in (
        data.decode("utf-8").replace("\r\n ", "")
    )
    assert all(len(line) <= 75 for line in data.split(b"\r\n"))


def test_no_url_line_without_url_and_one_with_it() -> None:
    assert not [line for line in lines(make()) if line.startswith("URL")]
    assert not [line for line in lines(make(url="")) if line.startswith("URL")]
    link = "https://meet.example.org/cluster-7?pwd=a,b;c"
    _, event = parse(make(url=link))
    assert str(event["URL"]) == link


def test_empty_location_and_description_are_left_out() -> None:
    data = make(location="", description="")
    assert not [line for line in lines(data) if line.startswith(("LOCATION", "DESCRIPTION"))]


def test_file_uses_crlf_line_ends() -> None:
    data = make()
    assert data.startswith(b"BEGIN:VCALENDAR\r\n")
    assert data.endswith(b"END:VCALENDAR\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"")


def test_utc_zone_is_written_as_utc_without_a_vtimezone() -> None:
    data = make(timezone="UTC")
    calendar, event = parse(data)
    assert "DTSTART:20270120T160000Z" in lines(data)
    assert event.decoded("DTSTART") == utc(2027, 1, 20, 16)
    assert not calendar.walk("VTIMEZONE")


@pytest.mark.parametrize(
    "changes",
    [
        {"uid": ""},
        {"sequence": -1},
        {"start": datetime(2027, 1, 20, 16)},
        {"end": datetime(2027, 1, 20, 17)},
        {"stamp": datetime(2027, 1, 5, 14)},
        {"end": utc(2027, 1, 20, 16)},
        {"end": utc(2027, 1, 20, 15)},
        {"timezone": "Europe/Atlantis"},
        {"timezone": "../etc/passwd"},
        {"timezone": ""},
    ],
)
def test_invalid_input_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        make(**changes)


@pytest.mark.parametrize(
    ("summary", "day", "expected"),
    [
        ("Meeting", date(2027, 1, 20), "meeting-2027-01-20.ics"),
        ("Reunião de cluster — Sé", date(2027, 3, 29), "reuniao-de-cluster-se-2027-03-29.ics"),
        ("../../etc/passwd", date(2027, 1, 20), "etc-passwd-2027-01-20.ics"),
        ("  .hidden: a/b\\c  ", date(2027, 1, 20), "hidden-a-b-c-2027-01-20.ics"),
        ("", date(2027, 1, 20), "meeting-2027-01-20.ics"),
        ("Σύσκεψη 会议", date(2027, 1, 20), "meeting-2027-01-20.ics"),
        ("x" * 100, date(2027, 1, 20), "x" * 40 + "-2027-01-20.ics"),
        # Cut at 40 characters falls just after a separator, which is trimmed.
        ("a" * 39 + " bcd", date(2027, 1, 20), "a" * 39 + "-2027-01-20.ics"),
        ("Meeting", datetime(2027, 1, 20, 9, 30), "meeting-2027-01-20.ics"),
    ],
)
def test_ics_filename(summary: str, day: date, expected: str) -> None:
    name = ics_filename(summary, day)
    assert name == expected
    assert name.isascii()
