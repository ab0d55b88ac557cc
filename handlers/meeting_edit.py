"""/meetings: the cluster's upcoming and past meetings, and a coordinator's changes to one.

Every member sees the list with each meeting's tally and their own answer. A coordinator picks
a meeting to move it, change its place or agenda, cancel it, or (once it has ended) record its
notes. Moving and editing reuse the scheduling steps of `handlers.meeting` with the meeting's id
in the draft; every saved change tells everyone who answered and edits the hub posts.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.messages import Button, Reply
from handlers import meeting_notes
from handlers.context import Context, say
from handlers.dates import say_clock, say_day, say_moment
from handlers.meeting_changes import FLOW, coordinated, meeting_of, member_of, school_names, tell
from handlers.meeting_text import details, tally_text
from handlers.steps import Gone, Step
from storage.meetings import answers_of, meetings_of, tally
from storage.models import Cluster, Meeting, MeetingStatus

SHOWN = 8


async def command(ctx: Context) -> list[Reply]:
    """/meetings: upcoming and past meetings; coordinators pick one to change."""
    ctx.finish()
    clusters = await member_of(ctx)
    ids = list(clusters)
    coming = await meetings_of(
        ctx.session, cluster_ids=ids, now=ctx.now, upcoming=True, limit=SHOWN
    )
    past = await meetings_of(ctx.session, cluster_ids=ids, now=ctx.now, upcoming=False, limit=4)
    if not coming and not past:
        ctx.finish()
        return [say(ctx.t("meetings.none_yet"))]
    lines = [ctx.t("meetings.upcoming") if coming else ctx.t("meetings.none_upcoming")]
    lines += [await _line(ctx, m) for m in coming]
    if past:
        lines += ["", ctx.t("meetings.past"), *[await _line(ctx, m) for m in past]]
    mine = await coordinated(ctx)
    changeable = [m for m in [*coming, *past] if m.cluster_id in mine]
    if not changeable:
        ctx.finish()
        return [say("\n".join(lines))]
    ctx.goto(FLOW, "pick")
    buttons = [Button(_label(ctx, m, mine[m.cluster_id].timezone), str(m.id)) for m in changeable]
    buttons.append(ctx.choice("calendar.done", "done"))
    return [say("\n".join([*lines, "", ctx.t("meetings.pick")]), *buttons)]


def _label(ctx: Context, meeting: Meeting, zone: str) -> str:
    """A meeting on a button: its day and local time (the zone is in the list above)."""
    local = meeting.scheduled_at.astimezone(ZoneInfo(zone))
    return f"{say_day(local.date(), ctx.t.language)}, {say_clock(local, zone, ctx.t.language)}"


async def _line(ctx: Context, meeting: Meeting) -> str:
    cluster = (await member_of(ctx))[meeting.cluster_id]
    when = say_moment(meeting.scheduled_at, cluster.timezone, ctx.t.language)
    assert meeting.id is not None
    answers = await answers_of(ctx.session, meeting_id=meeting.id)
    line = f"• {when}, {meeting.place or '—'}"
    if meeting.status == MeetingStatus.CANCELLED:
        return f"{line} — {ctx.t('meetings.cancelled_word')}"
    line += f" — {tally_text(ctx.t, tally(answers))}"
    own = answers.get(ctx.person.id or 0)
    if own is not None and own.answer:
        line += f" ({ctx.t('meetings.yours', answer=ctx.t(f'meetings.answer.{own.answer}'))})"
    return line


async def _meeting(ctx: Context) -> tuple[Meeting, Cluster]:
    found = await meeting_of(ctx, ctx.data.get("meeting_id"), to_change=True)
    if found is None:
        raise Gone("not a meeting this person may change")
    return found


async def changing(ctx: Context) -> Meeting | None:
    """The meeting being changed, when the scheduling steps serve a change (None otherwise)."""
    return (await _meeting(ctx))[0] if ctx.data.get("meeting_id") else None


def kept(ctx: Context) -> list[Reply]:
    """Back to the meeting's changes, this part as it was."""
    ctx.goto(FLOW, "actions")
    return [say(ctx.t("meetings.unchanged"))]


async def ask_pick(ctx: Context) -> list[Reply]:
    """Which meeting (the list was shown by the command)?"""
    return await command(ctx)


async def take_pick(ctx: Context) -> list[Reply]:
    """Open the chosen meeting's changes."""
    if ctx.msg.button == "done":
        ctx.finish()
        return [say(ctx.t("calendar.closed"))]
    choice = ctx.msg.button or ""
    found = await meeting_of(ctx, int(choice) if choice.isdigit() else None, to_change=True)
    if found is None:
        return [say(ctx.t("errors.use_buttons"))]
    meeting, cluster = found
    ctx.goto(FLOW, "actions", meeting_id=meeting.id, cluster_id=cluster.id)
    return []


async def ask_actions(ctx: Context) -> list[Reply]:
    """The meeting, its answers, and what can be done with it now."""
    meeting, cluster = await _meeting(ctx)
    assert meeting.id is not None
    body = details(ctx.t, meeting, cluster, await school_names(ctx, meeting))
    counts = tally(await answers_of(ctx.session, meeting_id=meeting.id))
    text = f"{body}\n{tally_text(ctx.t, counts)}"
    if meeting.status == MeetingStatus.CANCELLED:
        ctx.finish()
        return [say(f"{ctx.t('meetings.cancelled_header')}\n\n{text}")]
    if meeting.ends_at <= ctx.now:
        actions = ["notes"]
    else:
        actions = ["when", "place", "agenda", "cancel"]
    buttons = [ctx.choice(f"meetings.action_{a}", a) for a in actions]
    buttons.append(ctx.choice("calendar.done", "done"))
    return [say(text, *buttons)]


async def take_actions(ctx: Context) -> list[Reply]:
    """Start the chosen change."""
    meeting, _ = await _meeting(ctx)
    choice = ctx.msg.button
    ended = meeting.ends_at <= ctx.now
    if choice == "done":
        ctx.finish()
        return [say(ctx.t("calendar.closed"))]
    if choice == "notes" and ended:
        return await meeting_notes.begin(ctx, meeting)
    if choice in ("when", "place", "agenda", "cancel") and not ended:
        ctx.goto(FLOW, "cancel_ok" if choice == "cancel" else choice)
        return []
    return [say(ctx.t("errors.use_buttons"))]


async def ask_cancel_ok(ctx: Context) -> list[Reply]:
    """Cancel it? Everyone who answered is told."""
    meeting, cluster = await _meeting(ctx)
    when = say_moment(meeting.scheduled_at, cluster.timezone, ctx.t.language)
    yes, no = ctx.choice("meetings.cancel_yes", "yes"), ctx.choice("meetings.cancel_no", "no")
    return [say(ctx.t("meetings.check_cancel", when=when), yes, no)]


async def take_cancel_ok(ctx: Context) -> list[Reply]:
    """Yes: cancel it and tell everyone; no: back to the meeting."""
    if ctx.msg.button == "no":
        ctx.goto(FLOW, "actions")
        return []
    if ctx.msg.button != "yes":
        return [say(ctx.t("errors.use_buttons"))]
    meeting, cluster = await _meeting(ctx)
    meeting.status = MeetingStatus.CANCELLED
    edits = await tell(ctx, meeting, cluster, "cancelled")
    ctx.finish()
    return [say(ctx.t("meetings.cancelled_done")), *edits]


async def save_change(
    ctx: Context,
    *,
    start: datetime | None = None,
    place: str | None = None,
    agenda: str | None = None,
) -> list[Reply]:
    """Save a change to the meeting in the draft, tell everyone who answered, edit hub posts."""
    meeting, cluster = await _meeting(ctx)
    if meeting.status == MeetingStatus.CANCELLED or meeting.ends_at <= ctx.now:
        ctx.finish()
        return [say(ctx.t("meetings.cannot_change"))]
    if start is not None and start <= ctx.now:  # the check sat open until the moment passed
        ctx.goto(FLOW, "when")
        when = say_moment(start, cluster.timezone, ctx.t.language)
        return [say(ctx.t("meetings.in_the_past", when=when))]
    if start is not None:
        length = meeting.ends_at - meeting.scheduled_at
        meeting.scheduled_at, meeting.ends_at = start, start + length
    if place is not None:
        meeting.place = place
    if agenda is not None:
        meeting.agenda = agenda
    edits = await tell(ctx, meeting, cluster, "changed")
    ctx.goto(FLOW, "actions")
    return [say(ctx.t("meetings.changed_done")), *edits]


STEPS = {
    "pick": Step(ask_pick, take_pick),
    "actions": Step(ask_actions, take_actions),
    "cancel_ok": Step(ask_cancel_ok, take_cancel_ok),
}
