"""Calendar files (.ics) for cluster meetings: one tap on a phone adds the meeting to a calendar.

A meeting is announced once (SEQUENCE 0) and its file sent again, under the same UID with a higher
SEQUENCE, whenever it moves or is cancelled, so the phone updates the event it already holds
instead of adding a second one. Times are written as wall-clock times in the cluster's own zone
(`DTSTART;TZID=Europe/Lisbon:20270329T090000`) with a VTIMEZONE that defines that zone, so a
meeting at 09:00 stays at 09:00 for everyone in the cluster, on either side of a daylight-saving
change. Everything here is pure: no clock, no I/O; the caller passes the DTSTAMP in.

Building and escaping the text is left to `icalendar` (commas, semicolons, newlines, non-ASCII,
lines folded at 75 octets, CRLF line ends).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from icalendar.prop import vDDDTypes

__all__ = ["PRODID", "ics_filename", "meeting_ics"]

PRODID = "-//Cluster Diary//Cluster Diary bot//EN"

# Longest slug taken from a summary in a file name: enough to recognise the meeting, short
# enough that the name survives every chat app and file system.
_SLUG_MAX = 40


def meeting_ics(
    *,
    uid: str,
    sequence: int,
    start: datetime,
    end: datetime,
    timezone: str,
    summary: str,
    location: str = "",
    description: str = "",
    url: str | None = None,
    cancelled: bool = False,
    stamp: datetime,
) -> bytes:
    """Return one VCALENDAR holding the meeting as a single VEVENT.

    icalendar is imported on the first call: a bot that announces no meeting never loads it.

    Args:
        uid: Stable for the meeting's whole life; it is how a calendar finds the event to update.
        sequence: 0 when the meeting is announced, one more for each change (cancelling included).
        start: When the meeting starts, an aware datetime (UTC expected).
        end: When it ends, aware, after `start`.
        timezone: The cluster's IANA zone, e.g. "Europe/Lisbon".
        summary: The event's title.
        location: Where it is held; left out when empty.
        description: Free text; left out when empty.
        url: A link (a video call, when the place is one); left out when None or empty.
        cancelled: Whether this file cancels the meeting (METHOD:CANCEL, STATUS:CANCELLED).
        stamp: When this version of the file was made (DTSTAMP), aware.

    Returns:
        The calendar file's bytes (UTF-8, CRLF line ends).

    Raises:
        ValueError: A naive or misordered time, a negative sequence, an empty UID or an unknown
            time zone.
    """
    from icalendar import Calendar, Event, Timezone

    if not uid:
        raise ValueError("uid must not be empty")
    if sequence < 0:
        raise ValueError(f"sequence must be 0 or more, not {sequence}")
    for name, moment in (("start", start), ("end", end), ("stamp", stamp)):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"{name} must be an aware datetime, not {moment!r}")
    if end <= start:
        raise ValueError(f"end ({end.isoformat()}) must be after start ({start.isoformat()})")
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {timezone!r}") from exc

    # Local wall-clock times carry the zone's key, which icalendar writes as the TZID parameter.
    start_local = start.astimezone(zone)
    end_local = end.astimezone(zone)

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    # PUBLISH/CANCEL rather than REQUEST: nobody is asked to reply, the file only informs.
    calendar.add("method", "CANCEL" if cancelled else "PUBLISH")

    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    # RFC 5545 wants DTSTAMP in UTC whatever zone the caller's clock used.
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", start_local)
    event.add("dtend", end_local)
    event.add("summary", summary)
    # A changed meeting replaces the whole event in the phone's calendar, so leaving a field out
    # clears what an earlier version said; an empty "LOCATION:" line would add nothing more.
    if location:
        event.add("location", location)
    if description:
        event.add("description", description)
    if url:
        event.add("url", url)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    calendar.add_component(event)

    # A TZID needs its VTIMEZONE (RFC 5545 §3.2.19). icalendar derives it from zoneinfo. It is
    # built here for the one zone used rather than by `Calendar.add_missing_timezones`, which in
    # some releases also adds an unused UTC definition (for the "Z" of DTSTAMP) or appends the
    # definition after the event, where some clients (older Outlook) fail to resolve it. A zone
    # icalendar writes as UTC ("...Z", e.g. "UTC" itself) has no TZID and needs no VTIMEZONE.
    tzid = event["DTSTART"].params.get("TZID")
    if tzid and not _written_in_utc(event["DTSTART"]):
        # The window covers the year either side of the meeting, so a daylight-saving zone shows
        # both its summer and winter rules (how some clients recognise it) while the file stays
        # small; icalendar's default window ends in 2038 and would leave later meetings undefined.
        vtimezone = Timezone.from_tzinfo(
            zone,
            tzid=tzid,
            first_date=date(start_local.year - 1, 1, 1),
            last_date=date(end_local.year + 2, 1, 1),
        )
        calendar.subcomponents.insert(0, vtimezone)
    return calendar.to_ical()


def _written_in_utc(prop: vDDDTypes) -> bool:
    """Whether icalendar writes this date-time property as UTC ("...Z", so without a TZID)."""
    # Asked of the written value: some icalendar 7.0 releases keep a TZID parameter of "UTC"
    # on a time they then write with "Z", and a VTIMEZONE for it would be one nothing uses.
    value = prop.to_ical()
    return (value.decode("ascii") if isinstance(value, bytes) else value).endswith("Z")


def ics_filename(summary: str, start_local: date) -> str:
    """Return a safe ASCII file name for the meeting's calendar file.

    The summary is folded to ASCII ("Reunião de Sé" → "reuniao-de-se") and cut short, with
    "meeting" when nothing is left, then the local date: "reuniao-de-se-2027-01-20.ics". The name
    has no path separator, no leading dot and no space, so any chat app or phone keeps it as is.

    Args:
        summary: The meeting's title.
        start_local: The meeting's date in the cluster's zone (a datetime is taken as its date).

    Returns:
        The file name, ending in ".ics".
    """
    # A datetime is a date too; its isoformat would put a time (with colons) in the name.
    day = start_local.date() if isinstance(start_local, datetime) else start_local
    # NFKD splits "á" into "a" and an accent, which the ASCII encoding then drops.
    ascii_text = unicodedata.normalize("NFKD", summary).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    slug = slug[:_SLUG_MAX].rstrip("-") or "meeting"
    return f"{slug}-{day.isoformat()}.ics"
