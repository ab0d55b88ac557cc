"""What delivery does with a meeting's rows: whether they still apply, and what they say.

A row was planned for one state of its meeting (`bot.meeting_plan`); when it falls due the
meeting may have moved, changed again, been cancelled or had its notes recorded, and the row is
then skipped with that reason. Meeting messages ignore working hours, except the notes prompt:
news of a change and a reminder an hour before are wanted even at 19:00.
"""

from __future__ import annotations

from collections import Counter

from bot.messages import Button, Reply
from handlers.dates import say_moment
from handlers.meeting_text import (
    calendar_file,
    details,
    hub_post,
    rsvp_buttons,
    tally_text,
)
from prompts import Translator
from storage.meetings import tally
from storage.models import Answer, Cluster, Meeting, MeetingStatus, Reminder
from storage.people import COORDINATOR_ROLES
from storage.recipients import Recipients

# The kinds that may go outside working hours.
ANY_HOUR = frozenset({"meeting_news", "meeting_hub", "meeting_remind"})
# The kinds sent whether or not the person paused or stopped reminders: news, not reminders.
UNPAUSED = frozenset({"meeting_news", "meeting_hub"})


def is_meeting(row: Reminder) -> bool:
    """Whether the row is one of a meeting's."""
    return row.kind.startswith("meeting_")


def no_longer(row: Reminder, meeting: Meeting | None) -> str | None:
    """Why the row no longer applies to its meeting (None when it still does)."""
    if meeting is None:
        return "meeting gone"
    payload = row.payload
    if row.kind in UNPAUSED:
        if payload.get("event") == "announced":
            # Written from the meeting as it is now, so a change since does not make it wrong.
            cancelled = meeting.status == MeetingStatus.CANCELLED
            return "meeting cancelled" if cancelled else None
        return None if payload.get("sequence") == meeting.sequence else "meeting changed again"
    if meeting.status == MeetingStatus.CANCELLED:
        return "meeting cancelled"
    if row.kind == "meeting_remind" and payload.get("start") != meeting.scheduled_at.isoformat():
        return "meeting moved"
    if row.kind == "meeting_notes":
        if payload.get("ends") != meeting.ends_at.isoformat():
            return "meeting moved"
        if meeting.held_at is not None:
            return "notes already recorded"
    return None


def not_for(row: Reminder, meeting: Meeting, known: Recipients) -> str | None:
    """Why this person should not get the row (None when they should)."""
    assert row.person_id is not None
    if row.kind == "meeting_notes":
        coordinating = known.holds(row.person_id, meeting.cluster_id, COORDINATOR_ROLES, None)
        return None if coordinating else "no longer coordinates the cluster"
    if not known.invited(row.person_id, meeting):
        return "no longer invited"
    if row.kind == "meeting_remind":
        answer = known.answers.get(meeting.id or 0, {}).get(row.person_id)
        if answer is None or answer.answer not in (Answer.COMING, Answer.MAYBE):
            return "not coming"
    return None


def _schools(meeting: Meeting, known: Recipients) -> list[str]:
    return sorted(known.schools[s].name for s in meeting.invited if s in known.schools)


def _counts(meeting: Meeting, known: Recipients) -> Counter[str]:
    return tally(known.answers.get(meeting.id or 0, {}))


def messages(
    row: Reminder,
    t: Translator,
    cluster: Cluster,
    meeting: Meeting,
    known: Recipients,
    *,
    platform: str,
) -> tuple[Reply, ...]:
    """What a meeting row says, in the reader's language (a hub's is the cluster's)."""
    assert meeting.id is not None
    body = details(t, meeting, cluster, _schools(meeting, known))
    event = row.payload.get("event", "")
    ics = calendar_file(t, meeting, cluster, row.due_at)
    cancelled = meeting.status == MeetingStatus.CANCELLED
    if row.kind == "meeting_hub":
        if event == "announced":
            schools, counts = _schools(meeting, known), _counts(meeting, known)
            return hub_post(t, meeting, cluster, schools, counts, platform=platform), ics
        return Reply(f"{t(f'meetings.hub_{event}')}\n\n{body}"), ics
    if row.kind == "meeting_news":
        buttons = () if cancelled else rsvp_buttons(t, meeting.id)
        text = f"{t(f'meetings.news_{event}')}\n\n{body}"
        if not cancelled:
            text += f"\n\n{t('meetings.will_you_come')}"
        return Reply(text, buttons=buttons), ics
    if row.kind == "meeting_remind":
        when = say_moment(meeting.scheduled_at, cluster.timezone, t.language)
        head = t("meetings.reminder", when=when)
        if row.person_id is None:
            return (Reply(f"{head}\n\n{body}\n\n{tally_text(t, _counts(meeting, known))}"),)
        return (Reply(f"{head}\n\n{body}", buttons=rsvp_buttons(t, meeting.id)),)
    again = "notes_again" if row.payload.get("again") else "notes_prompt"
    record = Button(t("meetings.record_notes"), f"/notes {meeting.id}")
    return (Reply(f"{t(f'meetings.{again}')}\n\n{body}", buttons=(record,)),)
