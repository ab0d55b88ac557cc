"""What every rendering of the diary (Word, HTML, Markdown) says the same way: days, lengths.

Times in an export record are ISO 8601 UTC strings; a document shows them as a day in the
cluster's time zone and the reader's language ("6 December 2026").
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date

from handlers.dates import locale_of

# Evidence shown with its length (and transcript) rather than as a picture or a name.
AUDIO_KINDS = ("voice", "audio", "video")


def long_day(moment: str | None, zone: ZoneInfo, language: str) -> str:
    """The day of an export time, in words; "" for none."""
    if moment is None:
        return ""
    when = datetime.fromisoformat(moment.replace("Z", "+00:00")).astimezone(zone)
    return format_date(when.date(), format="long", locale=locale_of(language))


def clock_length(seconds: float | None) -> str:
    """A recording's length as minutes and seconds: "2:05"."""
    total = round(seconds or 0)
    return f"{total // 60}:{total % 60:02d}"
