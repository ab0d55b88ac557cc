"""How a meeting is said: its details, the hub post with its RSVP tally, the calendar file.

Shared by the scheduling flow, the RSVP handler (which edits the hub post) and the delivery of
announcements and reminders, so a meeting reads the same wherever it appears. Times are said in
the cluster's time zone, with the zone named.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.ics import ics_filename, meeting_ics
from bot.messages import Button, Reply
from handlers.dates import say_clock, say_moment
from prompts import Translator
from storage.models import Answer, Cluster, Meeting, MeetingStatus

# Reactions that count as an answer in a hub room where buttons cannot be pressed (Matrix).
# The post names the first of each; the others are what people reach for instead.
REACTIONS: dict[Answer, tuple[str, ...]] = {
    Answer.COMING: ("👍", "👍️", "✅", "🙋"),
    Answer.MAYBE: ("🤔", "❓", "🤷"),
    Answer.NOT_COMING: ("👎", "👎️", "❌"),
}
# Platforms whose group chats answer with reactions rather than buttons under a post.
REACTING_PLATFORMS = frozenset({"matrix"})


def answer_for(key: str) -> Answer | None:
    """The answer a reaction stands for, if it stands for one (skin tones ignored)."""
    bare = "".join(ch for ch in key if not 0x1F3FB <= ord(ch) <= 0x1F3FF)
    return next((a for a, keys in REACTIONS.items() if bare in keys), None)


def is_video_link(place: str) -> bool:
    """Whether the place is a link (an online meeting) rather than an address."""
    return place.startswith(("https://", "http://"))


def when_text(t: Translator, meeting: Meeting, cluster: Cluster) -> str:
    """The meeting's start in words, in the cluster's time zone, and its end time."""
    start = say_moment(meeting.scheduled_at, cluster.timezone, t.language)
    end = say_clock(meeting.ends_at, cluster.timezone, t.language)
    return t("meetings.when", start=start, end=end)


def details(t: Translator, meeting: Meeting, cluster: Cluster, schools: Sequence[str]) -> str:
    """What, when, where, the agenda and who is invited: the body of every meeting message."""
    lines = [t("meetings.what", cluster=cluster.name), when_text(t, meeting, cluster)]
    if meeting.place:
        lines.append(t("meetings.where", place=meeting.place))
    if meeting.agenda:
        lines.append(t("meetings.agenda", agenda=meeting.agenda))
    invited = ", ".join(schools) if meeting.invited else t("meetings.all_schools")
    lines.append(t("meetings.invited", schools=invited))
    return "\n".join(lines)


def tally_text(t: Translator, counts: Counter[str]) -> str:
    """How many answered what, e.g. "Coming 3 · maybe 1 · not coming 2"."""
    return t(
        "meetings.tally",
        coming=counts[Answer.COMING],
        maybe=counts[Answer.MAYBE],
        not_coming=counts[Answer.NOT_COMING],
    )


def rsvp_buttons(t: Translator, meeting_id: int) -> tuple[Button, ...]:
    """Coming / maybe / not coming, as command buttons anyone can press, in any chat."""
    return tuple(Button(t(f"meetings.answer.{a}"), f"/rsvp {meeting_id} {a}") for a in Answer)


def hub_post(
    t: Translator,
    meeting: Meeting,
    cluster: Cluster,
    schools: Sequence[str],
    counts: Counter[str],
    *,
    platform: str,
) -> Reply:
    """The announcement in a hub chat, with the tally; kept current by editing it."""
    assert meeting.id is not None
    body = details(t, meeting, cluster, schools)
    if meeting.status == MeetingStatus.CANCELLED:
        return Reply(f"{t('meetings.cancelled_header')}\n\n{body}")
    text = f"{t('meetings.hub_header')}\n\n{body}\n\n{tally_text(t, counts)}"
    if platform in REACTING_PLATFORMS:
        react = {a: REACTIONS[a][0] for a in Answer}
        how = t(
            "meetings.react",
            coming=react[Answer.COMING],
            maybe=react[Answer.MAYBE],
            not_coming=react[Answer.NOT_COMING],
        )
        return Reply(f"{text}\n{how}")
    return Reply(text, buttons=rsvp_buttons(t, meeting.id))


def calendar_file(t: Translator, meeting: Meeting, cluster: Cluster, now: datetime) -> Reply:
    """The meeting as a calendar file (same UID, current sequence; a cancellation if cancelled)."""
    place = meeting.place
    online = is_video_link(place)
    data = meeting_ics(
        uid=meeting.uid,
        sequence=meeting.sequence,
        start=meeting.scheduled_at,
        end=meeting.ends_at,
        timezone=cluster.timezone,
        summary=t("meetings.what", cluster=cluster.name),
        location=place,
        description=meeting.agenda,
        url=place if online else None,
        cancelled=meeting.status == MeetingStatus.CANCELLED,
        stamp=now,
    )
    local = meeting.scheduled_at.astimezone(ZoneInfo(cluster.timezone)).date()
    name = ics_filename(t("meetings.what", cluster=cluster.name), local)
    return Reply(t("meetings.ics_caption"), document=data, filename=name)
