"""What every rendering of the diary (Word, HTML, Markdown) says the same way.

Days, lengths, who wrote an entry and how a piece of evidence is named. Times in an export
record are ISO 8601 UTC strings; a document shows them as a day in the cluster's time zone and
the reader's language ("6 December 2026").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date

from handlers.dates import locale_of
from prompts import Translator

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


def who(t: Translator, person: dict[str, Any], school: str = "") -> str:
    """A person as the record shows them: a name, a public teacher number, or a pseudonym."""
    if person["name"]:
        return person["name"]
    if person.get("teacher"):
        return t("export.teacher", number=person["teacher"], school=school)
    return t("privacy.pseudonym", code=person["pseudonym"])


def evidence_label(t: Translator, item: dict[str, Any], *, kept: bool) -> str:
    """An evidence item by its kind and name, address or length; `kept`: its file is included.

    A file the record names but the export lacks is said to be no longer kept, or, in the
    public version, left out of it.
    """
    kind = t(f"evidence.kind.{item['kind']}")
    if item["kind"] in AUDIO_KINDS:
        label = t("export.duration", kind=kind, duration=clock_length(item["duration_s"]))
    elif item["kind"] == "link":
        label = f"{kind}: {item['url']}"
    elif item["file_name"]:
        label = f"{kind}: {item['file_name']}"
    else:
        label = kind
    if item["withheld"]:
        return t("export.withheld", name=label)
    if item["sha256"] and not kept:
        return t("export.missing_file", name=label)
    return label
