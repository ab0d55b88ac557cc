"""Dates as people type them in their own language, and dates said back in words.

`dateparser` reads the text ("14/09/2026", "14 setembro 2026", "tomorrow", "Monday"), always
day first (our teachers write 14/09, never 09/14), preferring the coming date when the year is
left out. ISO dates ("2026-09-14") are read directly. `dateparser` knows "next Monday" in English
only; in the other languages it knows the weekday alone, and that already means the coming one,
so when a first reading fails, the word for "next" ("próxima", "příští", ...) is dropped and the
rest read again. It is imported inside `parse_day`: loading it is slow and most messages never
need it. It is not thread-safe (scrapinghub/dateparser#441), so it runs on the event loop; a
reading takes milliseconds once a language is loaded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, get_timezone_name

# Words for "next"/"this"/"coming" before (or, in Portuguese, "que vem" after) a weekday.
NEXT_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("next", "this", "coming"),
    "pt": ("próxima", "próximo", "proxima", "proximo", "que vem", "esta", "este", "nesta"),
    "cs": ("příští", "tento", "toto", "tuto", "nejbližší"),
    "hr": ("sljedeći", "sljedeće", "slijedeći", "idući", "iduće", "ovaj", "ove", "ovu"),
    "hu": ("jövő", "következő", "ezen a"),
    "it": ("prossimo", "prossima", "questo", "questa"),
    "nl": ("volgende", "komende", "aanstaande", "deze"),
}
LOCALES = {"en": "en_GB"}
ISO_DAY = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
LONGEST = 80  # no date anyone types is longer; longer text is not worth a parser's time
# A time of day: "15:00", "9:30", "15h30", "15h", "3pm", "3:30 pm". Dots are left out on
# purpose: "20.01" is a date in Czech, Croatian and Hungarian, never a time.
CLOCK = re.compile(
    r"(?<![\d:])(?:(?P<h12>1[0-2]|0?[1-9])(?::(?P<m12>[0-5]\d))?\s*(?P<ampm>[ap])\.?m\.?"
    r"|(?P<h>[01]?\d|2[0-3])\s*(?::|h)\s*(?P<m>[0-5]\d)?)(?![\d:])",
    re.IGNORECASE,
)
# Words that join a day and a time ("at", "às", "alle", "om", "um", "v", "u", "o", "kl") and
# are left hanging once the time is taken out.
JOINERS = re.compile(r"(?:[\s,;-]|\b(?:at|às|as|a|alle|ore|om|um|v|u|o|kl|ob)\b)+$", re.IGNORECASE)


def _read(text: str, language: str, today: date, prefer: str) -> date | None:
    import dateparser  # slow to import; see the module docstring

    settings = {
        "DATE_ORDER": "DMY",
        "PREFER_DATES_FROM": prefer,
        "RELATIVE_BASE": datetime.combine(today, time(12)),
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    found = dateparser.parse(text, languages=[language], settings=settings)  # type: ignore[arg-type]
    return found.date() if found is not None else None


def _without_next(text: str, language: str) -> str:
    words = NEXT_WORDS.get(language, ()) + NEXT_WORDS["en"]
    pattern = r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b"
    return " ".join(re.sub(pattern, " ", text, flags=re.IGNORECASE).split())


def parse_day(text: str, language: str, today: date, *, past: bool = False) -> date | None:
    """The day a person typed, or None when the text is no date.

    Args:
        text: what they typed: "14/09/2026", "14 setembro 2026", "next Monday", "2026-09-14".
        language: their language code (en, pt, cs, hr, hu, it, nl); day-first in all of them.
        today: the day relative dates count from (in the cluster's time zone).
        past: a date without a year (or a bare weekday) is the last one, not the coming one.
    """
    prefer = "past" if past else "future"
    text = " ".join(text.split())
    if not text or len(text) > LONGEST:
        return None
    if ISO_DAY.fullmatch(text):
        try:
            return date(*(int(part) for part in text.split("-")))
        except ValueError:
            return None
    found = _read(text, language, today, prefer)
    if found is None:
        shorter = _without_next(text, language)
        if shorter and shorter != text:
            found = _read(shorter, language, today, prefer)
    return found


def locale_of(language: str) -> str:
    """The Babel locale for a language: British English, day first like everyone else here."""
    return LOCALES.get(language, language)


def say_day(day: date, language: str) -> str:
    """The date in words with its weekday, e.g. "Monday, 14 September 2026"."""
    return format_date(day, format="full", locale=locale_of(language))


@dataclass(frozen=True)
class Typed:
    """A day and a time of day read from text, and whatever followed them."""

    day: date
    clock: time
    rest: str = ""


def find_clock(text: str) -> tuple[time, int, int] | None:
    """The first time of day in the text, with where it starts and ends; None if there is none."""
    found = CLOCK.search(text)
    if found is None:
        return None
    if found["ampm"]:
        hour = int(found["h12"]) % 12 + (12 if found["ampm"].lower() == "p" else 0)
        return time(hour, int(found["m12"] or 0)), found.start(), found.end()
    return time(int(found["h"]), int(found["m"] or 0)), found.start(), found.end()


def parse_moment(text: str, language: str, today: date, *, rest: bool = False) -> Typed | None:
    """A day and a time typed in one go ("20/01/2027 15:00", "20 de janeiro às 15h").

    With `rest`, the day and time come first and what follows is returned as `Typed.rest` (the
    one-line form of /meeting, where a place follows); otherwise the time may stand anywhere.
    None when either the day or the time cannot be read.
    """
    text = " ".join(text.split())
    clock = find_clock(text)
    if clock is None:
        return None
    moment, start, end = clock
    before, after = text[:start], text[end:]
    day_text = before if rest else f"{before} {after}"
    day = parse_day(JOINERS.sub("", day_text.strip()), language, today)
    if day is None:
        return None
    return Typed(day, moment, after.strip(" ,;-") if rest else "")


def wall_clock(day: date, moment: time, zone: str) -> datetime | None:
    """That day and time in the zone, as UTC; None when the clocks skip it (a DST change).

    A time that happens twice (clocks going back) is taken the first time round.
    """
    local = datetime.combine(day, moment, tzinfo=ZoneInfo(zone))
    there = local.astimezone(UTC)
    if there.astimezone(ZoneInfo(zone)).replace(tzinfo=None) != local.replace(tzinfo=None):
        return None
    return there


def say_moment(moment: datetime, zone: str, language: str) -> str:
    """A moment in words in the zone, naming the zone and whether summer time applies.

    For example "Wednesday, 20 January 2027, 15:00 (Western European Standard Time)".
    """
    local = moment.astimezone(ZoneInfo(zone))
    locale = locale_of(language)
    clock = format_time(local, format="short", locale=locale)
    name = get_timezone_name(local, width="long", locale=locale)
    return f"{say_day(local.date(), language)}, {clock} ({name})"


def say_clock(moment: datetime, zone: str, language: str) -> str:
    """Only the time of day of a moment in the zone, e.g. "15:00"."""
    return format_time(
        moment.astimezone(ZoneInfo(zone)), format="short", locale=locale_of(language)
    )
