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
from datetime import date, datetime, time

from babel.dates import format_date

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


def _read(text: str, language: str, today: date) -> date | None:
    import dateparser  # slow to import; see the module docstring

    settings = {
        "DATE_ORDER": "DMY",
        "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": datetime.combine(today, time(12)),
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    found = dateparser.parse(text, languages=[language], settings=settings)  # type: ignore[arg-type]
    return found.date() if found is not None else None


def _without_next(text: str, language: str) -> str:
    words = NEXT_WORDS.get(language, ()) + NEXT_WORDS["en"]
    pattern = r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b"
    return " ".join(re.sub(pattern, " ", text, flags=re.IGNORECASE).split())


def parse_day(text: str, language: str, today: date) -> date | None:
    """The day a person typed, or None when the text is no date.

    Args:
        text: what they typed: "14/09/2026", "14 setembro 2026", "next Monday", "2026-09-14".
        language: their language code (en, pt, cs, hr, hu, it, nl); day-first in all of them.
        today: the day relative dates count from (in the cluster's time zone).
    """
    text = " ".join(text.split())
    if not text or len(text) > LONGEST:
        return None
    if ISO_DAY.fullmatch(text):
        try:
            return date(*(int(part) for part in text.split("-")))
        except ValueError:
            return None
    found = _read(text, language, today)
    if found is None:
        shorter = _without_next(text, language)
        if shorter and shorter != text:
            found = _read(shorter, language, today)
    return found


def locale_of(language: str) -> str:
    """The Babel locale for a language: British English, day first like everyone else here."""
    return LOCALES.get(language, language)


def say_day(day: date, language: str) -> str:
    """The date in words with its weekday, e.g. "Monday, 14 September 2026"."""
    return format_date(day, format="full", locale=locale_of(language))
