"""/notes: after a meeting, record who was there and each school's meeting notes.

Asked for privately at the meeting's end (and once more two days later if nothing was recorded)
of whoever scheduled it; any coordinator of the cluster may record them. First the attendance,
pre-filled from the answers (coming counts as present) and changed by tapping names; saving it
marks the meeting as held. Then, school by school, the diary's own walk-through of the section
"cluster meeting notes" for that school, evidence included (a photo of the flipchart, a voice
note): each becomes a meeting-notes entry of the school linked to the meeting, and once it is
submitted the walk-through comes back here for the next school.
"""

from __future__ import annotations

from typing import Any

from bot.messages import Button, Reply
from handlers import entry
from handlers.context import Context, say
from handlers.dates import say_moment
from handlers.meeting_changes import coordinated, meeting_of
from handlers.steps import Gone, Step, StepFlow
from storage.clusters import schools_of
from storage.diary import start_draft
from storage.meetings import answers_of, invitees, notes_due
from storage.models import (
    Answer,
    Cluster,
    DiaryEntry,
    Meeting,
    MeetingAnswer,
    MeetingStatus,
    School,
    SchoolKind,
    Section,
)
from storage.people import audit, names_of
from storage.types import MAX_ROW_ID

FLOW = "notes"


async def command(ctx: Context) -> list[Reply]:
    """/notes MEETING: record a meeting's attendance and notes (the prompt's button sends it)."""
    text = ctx.msg.argument
    if not text:  # the latest meeting of theirs that ended with no notes recorded
        waiting = await notes_due(
            ctx.session, cluster_ids=list(await coordinated(ctx)), now=ctx.now
        )
        if waiting is None:
            return [say(ctx.t("meetings.no_notes_due"))]
        return await begin(ctx, waiting)
    meeting_id = int(text) if text.isdigit() and int(text) <= MAX_ROW_ID else None
    found = await meeting_of(ctx, meeting_id, to_change=True)
    if found is None:
        return [say(ctx.t("meetings.not_yours"))]
    return await begin(ctx, found[0])


async def begin(ctx: Context, meeting: Meeting) -> list[Reply]:
    """Start with the attendance, pre-filled from the answers."""
    if meeting.status == MeetingStatus.CANCELLED:
        ctx.finish()
        return [say(ctx.t("meetings.rsvp_cancelled"))]
    if meeting.scheduled_at > ctx.now:
        ctx.finish()
        return [say(ctx.t("meetings.notes_too_early"))]
    assert meeting.id is not None
    answers = await answers_of(ctx.session, meeting_id=meeting.id)
    if meeting.held_at is not None:  # recorded before: start from what was saved
        present = [p for p, a in answers.items() if a.attended]
    else:
        present = [p for p, a in answers.items() if a.answer == Answer.COMING]
    ctx.goto(FLOW, "attendance", meeting_id=meeting.id, present=sorted(present), recorded=[])
    return await ask(ctx)


async def _meeting(ctx: Context) -> tuple[Meeting, Cluster]:
    found = await meeting_of(ctx, ctx.data.get("meeting_id"), to_change=True)
    if found is None:
        raise Gone("not a meeting this person may record")
    return found


async def _people(ctx: Context, meeting: Meeting) -> dict[int, str]:
    """Everyone invited, by id, with the name they gave (or a number when they gave none)."""
    invited = await invitees(ctx.session, meeting=meeting)
    names = await names_of(ctx.session, person_ids=invited)
    named = {p: name or f"#{p}" for p, name in names.items()}
    return dict(sorted(named.items(), key=lambda item: item[1].casefold()))


async def ask_attendance(ctx: Context) -> list[Reply]:
    """Who was there? Tap a name to change it."""
    meeting, cluster = await _meeting(ctx)
    present = set(ctx.data.get("present", []))
    people = await _people(ctx, meeting)
    buttons = [
        Button(f"{'✓' if p in present else '✗'} {name}"[:60], str(p)) for p, name in people.items()
    ]
    buttons.append(ctx.choice("meetings.attendance_done", "done"))
    when = say_moment(meeting.scheduled_at, cluster.timezone, ctx.t.language)
    count = len(present & set(people))
    text = ctx.t("meetings.ask_attendance", when=when, present=count, invited=len(people))
    return [say(text, *buttons)]


async def take_attendance(ctx: Context) -> list[Reply]:
    """Tick or untick a person; Done saves the attendance and marks the meeting as held."""
    meeting, _ = await _meeting(ctx)
    people = await _people(ctx, meeting)
    present = set(ctx.data.get("present", []))
    choice = ctx.msg.button or ""
    if choice.isdigit() and int(choice) in people:
        ctx.update(present=sorted(present ^ {int(choice)}))
        return []
    if choice != "done":
        return [say(ctx.t("errors.use_buttons"))]
    assert meeting.id is not None
    answers = await answers_of(ctx.session, meeting_id=meeting.id)
    for person_id in people:
        row = answers.get(person_id) or MeetingAnswer(meeting_id=meeting.id, person_id=person_id)
        row.attended = person_id in present
        ctx.session.add(row)
    meeting.held_at = meeting.held_at or ctx.now
    ctx.session.add(meeting)
    await audit(
        ctx.session,
        person_id=ctx.person.id,
        action="meeting.attendance",
        target=f"meeting:{meeting.id}",
        detail={"present": len(present & set(people)), "invited": len(people)},
    )
    ctx.goto(FLOW, "school")
    return [say(ctx.t("meetings.attendance_saved", present=len(present & set(people))))]


async def _schools(ctx: Context, meeting: Meeting) -> list[School]:
    """The invited mentee schools: whose diaries the meeting discussed."""
    schools = await schools_of(ctx.session, cluster_id=meeting.cluster_id)
    return [
        s
        for s in schools
        if s.kind == SchoolKind.MENTEE and (not meeting.invited or s.id in meeting.invited)
    ]


async def ask_school(ctx: Context) -> list[Reply]:
    """Whose discussion to record next (schools done already are ticked)."""
    meeting, _ = await _meeting(ctx)
    done = set(ctx.data.get("recorded", []))
    buttons = [
        Button(f"{'✓ ' if s.id in done else ''}{s.name}"[:60], str(s.id))
        for s in await _schools(ctx, meeting)
    ]
    buttons.append(ctx.choice("meetings.notes_finish", "finish"))
    return [say(ctx.t("meetings.ask_school"), *buttons)]


async def take_school(ctx: Context) -> list[Reply]:
    """Hand over to the diary walk-through of that school's meeting notes; or finish."""
    meeting, _ = await _meeting(ctx)
    choice = ctx.msg.button or ""
    if choice == "finish":
        count = len(ctx.data.get("recorded", []))
        ctx.finish()
        return [say(ctx.t.plural("meetings.notes_done", count, schools=count))]
    school = {str(s.id): s for s in await _schools(ctx, meeting)}.get(choice)
    if school is None:
        return [say(ctx.t("errors.use_buttons"))]
    assert ctx.person.id is not None
    draft = await start_draft(
        ctx.session,
        author_id=ctx.person.id,
        school_id=school.id or 0,
        section=Section.MEETING_NOTES,
        language=ctx.t.language,
    )
    draft.meeting_id = meeting.id
    ctx.session.add(draft)
    back = {"meeting_id": meeting.id, "recorded": ctx.data.get("recorded", [])}
    ctx.goto(
        entry.FLOW,
        "question",
        entry_id=draft.id,
        school_id=school.id,
        section=Section.MEETING_NOTES,
        q=0,
        notes=back,
    )
    intro = ctx.t("meetings.notes_for", school=school.name)
    return [say(intro), *await entry.ask(ctx)]


async def back_from_entry(ctx: Context, back: dict[str, Any], submitted: DiaryEntry) -> list[Reply]:
    """After a meeting-notes entry is submitted: back to the list of schools."""
    recorded = sorted({*back.get("recorded", []), submitted.school_id})
    ctx.goto(FLOW, "school", meeting_id=back.get("meeting_id"), recorded=recorded)
    return await ask(ctx)


entry.AFTER_SUBMIT["notes"] = back_from_entry

STEPS = {
    "attendance": Step(ask_attendance, take_attendance),
    "school": Step(ask_school, take_school),
}

FLOW_STEPS = StepFlow(FLOW, STEPS, lost="meetings.not_yours")
ask, handle = FLOW_STEPS.ask, FLOW_STEPS.handle
