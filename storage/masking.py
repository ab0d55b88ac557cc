"""Contact details found in free text and hidden, for the public version of the diary.

What a teacher types may hold a phone number, an e-mail address or someone's chat account
(a Telegram @name, a Matrix @name:server, a t.me or matrix.to link). The public version shows
none of them: each is replaced by a word saying what stood there ("[phone number]").

Phone numbers are found by `phonenumbers` (Google's libphonenumber) as numbers possible in any
of the countries our clusters work in, or anywhere when written with their "+" country code.
A date written with dots, slashes or dashes ("12.05.2026"), a school year ("2025/2026") or a
number shorter than any phone number can look like one too; they are left as they are. A name
typed in the text is not something a pattern can find: that is what the moderator reads for.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# The countries of the network (Flanders, Croatia, Czechia, Hungary, Italy, Portugal) and the
# United Kingdom, for numbers typed without their country code.
REGIONS = ("BE", "HR", "CZ", "HU", "IT", "PT", "GB")
KINDS = ("phone", "email", "account")

_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
_ACCOUNT = re.compile(
    # links to a person's account or a chat
    r"(?:https?://)?(?:t\.me|telegram\.me|matrix\.to/#)/[\w@:.\-/+=?&]*[\w/=]"
    r"|tg://\S*[\w=]"
    r"|@[\w.=\-/]+:[\w\-]+(?:\.[\w\-]+)+"  # a Matrix user id
    r"|(?<![\w@])@\w{3,}"  # a Telegram @username (and any other @name)
)
# A day written out: year first (2026-12-06) or last (12.05.2026, 12/5/26), the parts checked.
_DAY = re.compile(r"(\d{1,4})([./\-]) ?(\d{1,2})\2 ?(\d{1,4})\.?")
_SCHOOL_YEAR = re.compile(r"(?:19|20)\d\d ?[/\-–] ?(?:19|20)?\d\d")  # 2025/2026, 2025-26
# The shortest subscriber numbers in these countries have seven digits (without the prefix).
MIN_DIGITS = 7


def _looks_like_a_date(raw: str) -> bool:
    """Whether a would-be number is a day or a school year ("0475.12.3456" is neither)."""
    if _SCHOOL_YEAR.fullmatch(raw):
        return True
    found = _DAY.fullmatch(raw)
    if found is None:
        return False
    first, _, middle, last = found.groups()
    if len(first) == 4:  # year, month, day
        year, month, day = first, middle, last
    elif len(last) in (2, 4):  # day and month in either order, then the year
        year, month, day = last, middle, first
        if int(month) > 12:
            month, day = day, month
    else:
        return False
    plausible_year = len(year) == 2 or year.startswith(("19", "20"))
    return plausible_year and 1 <= int(month) <= 12 and 1 <= int(day) <= 31 and len(day) <= 2


def _phones(text: str) -> list[tuple[int, int]]:
    """Where phone numbers stand in `text`, as (start, end), in order and not overlapping."""
    # Imported here: its metadata is megabytes that a running bot needs only for an export.
    import phonenumbers

    found: set[tuple[int, int]] = set()
    for region in REGIONS:
        matcher = phonenumbers.PhoneNumberMatcher(text, region, phonenumbers.Leniency.POSSIBLE)
        for match in matcher:
            raw = match.raw_string
            if sum(c.isdigit() for c in raw) >= MIN_DIGITS and not _looks_like_a_date(raw):
                found.add((match.start, match.end))
    spans: list[tuple[int, int]] = []
    for start, end in sorted(found):
        if spans and start < spans[-1][1]:  # the same number, read a little differently
            spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
        else:
            spans.append((start, end))
    return spans


def mask(text: str, words: Mapping[str, str]) -> str:
    """`text` with every contact detail replaced by `words[kind]` (one per `KINDS`)."""
    if not text:
        return text
    text = _EMAIL.sub(words["email"], text)
    text = _ACCOUNT.sub(words["account"], text)
    # A digit-free text has no number to find; most answers are spared the matcher.
    if not any(c.isdigit() for c in text):
        return text
    for start, end in reversed(_phones(text)):
        text = text[:start] + words["phone"] + text[end:]
    return text
