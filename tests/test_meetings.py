"""Cluster meetings end to end on the in-memory channel: schedule, announce, answer, change.

The bot runs on SQLite and PostgreSQL behind `MemoryChannel`; the dispatcher and a `Scheduler`
share a clock the test moves by hand, so announcements and reminders are sent by `tick()` at
exactly the moments the test names, and nothing waits in real time.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from icalendar import Calendar as ICalendar
from sqlmodel import select

from bot.app import App
from bot.messages import ChatKind, ChatRef, Reply
from bot.scheduler import Scheduler
from bot.settings import DEFAULT_CONSENT_VERSION
from prompts import Translator
from storage.clusters import create_cluster, create_invite
from storage.models import Cluster, DiaryEntry, Meeting, MeetingAnswer, Reminder, RoleName
from storage.types import utcnow
from tests.builders import demo_codes, member, set_rhythm
from tests.helpers import Harness, text_of

EN = Translator("en")
# A Wednesday; the meetings below are two weeks later.
NOW = datetime(2027, 1, 6, 10, tzinfo=UTC)


@dataclass
class Clock:
    """The time the dispatcher and the scheduler see; tests set it."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


async def cluster_with_hub(bot: Harness, clock: Clock) -> Scheduler:
    """The demo cluster: ana (contributor), rui (lead, Portuguese), cora (coordinator), a hub."""
    bot.app.dispatcher.clock = clock
    codes = await demo_codes(bot)
    await member(bot, "ana", codes["contributor"])
    await member(bot, "rui", codes["school_lead"], "Português")
    await member(bot, "cora", codes["coordinator"])
    # The autumn term of 2026 only: in 2027 no input reminders mix with the meeting's messages.
    await set_rhythm(bot.app.db, timezone="Europe/Lisbon", nudge_days=3650)
    async with bot.app.db.session() as session:
        cluster = (await session.exec(select(Cluster))).one()
        cluster.digest_day = 0  # no weekly digest among the meeting's messages
        session.add(cluster)
    code = text_of(await bot.say("cora", "/hubcode")).split("/linkhub ")[1].split()[0]
    await bot.say("cora", f"/linkhub {code}", group="hub")
    return restarted(bot.app, clock)


def restarted(app: App, clock: Clock) -> Scheduler:
    """A new scheduler on the app's database, as after a restart (it plans at its first tick)."""
    return Scheduler(
        db=app.db,
        channels=app.dispatcher.channels,
        consent_version=DEFAULT_CONSENT_VERSION,
        default_language="en",
        interval_seconds=0,
        clock=clock,
    )


async def schedule(bot: Harness, when: str = "20/01/2027 15:00") -> list[Reply]:
    """cora schedules a meeting by conversation, inviting every school."""
    await bot.say("cora", "/meeting")
    check = text_of(await bot.say("cora", when))
    assert "Is that right?" in check
    await bot.press("cora", EN("calendar.yes"))
    await bot.say("cora", "Hillview Primary, library")
    await bot.say("cora", "Each school's focus, in five minutes")
    await bot.press("cora", EN("meetings.invite_all"))
    return await bot.press("cora", EN("meetings.announce"))


async def announced(bot: Harness) -> tuple[Clock, Scheduler]:
    """The cluster with its hub and a meeting on 20 January 2027, 15:00, announced at `NOW`."""
    clock = Clock(NOW)
    scheduler = await cluster_with_hub(bot, clock)
    await schedule(bot)
    await scheduler.tick()
    return clock, scheduler


def sent_since(bot: Harness, mark: int) -> dict[str, list[Reply]]:
    """What was sent since `mark`, by chat id."""
    out: dict[str, list[Reply]] = {}
    for chat, reply in bot.channel.sent[mark:]:
        out.setdefault(chat.chat_id, []).append(reply)
    return out


def ics_of(reply: Reply) -> ICalendar:
    assert reply.document is not None and (reply.filename or "").endswith(".ics")
    return ICalendar.from_ical(reply.document)


def event_of(calendar: ICalendar):
    (event,) = calendar.walk("VEVENT")
    return event


async def test_scheduling_by_conversation_announces_once_with_a_calendar_file(
    harness: Harness,
) -> None:
    clock = Clock(NOW)
    scheduler = await cluster_with_hub(harness, clock)
    done = text_of(await schedule(harness))
    assert "Wednesday, 20 January 2027, 15:00 (Western European Standard Time)" in done
    mark = len(harness.channel.sent)
    await scheduler.tick()
    sent = sent_since(harness, mark)
    assert sorted(sent) == ["dm-ana", "dm-cora", "dm-rui", "hub"]
    post, hub_file = sent["hub"]
    assert "Hillview Primary, library" in post.text and "Coming 0" in post.text
    assert [b.data for b in post.buttons] == [
        f"/rsvp {n} {a}" for n, a in [(1, "coming"), (1, "maybe"), (1, "not_coming")]
    ]
    event = event_of(ics_of(hub_file))
    assert event["SEQUENCE"] == 0 and event["STATUS"] == "CONFIRMED"
    assert event.decoded("DTSTART") == datetime(2027, 1, 20, 15, tzinfo=UTC)
    assert event["DTSTART"].params["TZID"] == "Europe/Lisbon"
    invitation, private_file = sent["dm-rui"]
    assert "reunião" in invitation.text.lower(), "rui reads Portuguese"
    assert event_of(ics_of(private_file))["UID"] == event["UID"]
    mark = len(harness.channel.sent)
    await scheduler.tick()
    assert sent_since(harness, mark) == {}, "announced exactly once"


async def test_one_line_in_portuguese_goes_straight_to_the_check(harness: Harness) -> None:
    clock = Clock(NOW)
    await cluster_with_hub(harness, clock)
    await harness.say("cora", "/language")
    await harness.press("cora", "Português")
    pt = Translator("pt")
    review = text_of(
        await harness.say(
            "cora", "/meeting 20 de janeiro de 2027 às 15h30 Escola da Sé | focos de cada escola"
        )
    )
    assert "quarta-feira, 20 de janeiro de 2027, 15:30" in review
    assert "Escola da Sé" in review and "focos de cada escola" in review
    await harness.press("cora", pt("meetings.announce"))
    async with harness.app.db.session() as session:
        (meeting,) = (await session.exec(select(Meeting))).all()
    assert meeting.scheduled_at == datetime(2027, 1, 20, 15, 30, tzinfo=UTC)
    assert meeting.place == "Escola da Sé" and meeting.agenda == "focos de cada escola"


async def test_bad_moments_are_refused_in_the_persons_language(harness: Harness) -> None:
    clock = Clock(NOW)
    await cluster_with_hub(harness, clock)
    await harness.say("cora", "/meeting")
    assert "could not read" in text_of(await harness.say("cora", "whenever suits"))
    assert "already passed" in text_of(await harness.say("cora", "05/01/2027 15:00"))
    # Lisbon's clocks go from 01:00 to 02:00 on 28 March 2027: 01:30 never happens there.
    skipped = text_of(await harness.say("cora", "28/03/2027 01:30"))
    assert "does not exist in Europe/Lisbon" in skipped
    assert "could not read" in text_of(await harness.say("cora", "20/01/2027"))
    async with harness.app.db.session() as session:
        assert (await session.exec(select(Meeting))).all() == []
    # A teacher cannot schedule at all.
    assert "Only the cluster's coordinators" in text_of(await harness.say("ana", "/meeting"))


async def test_answers_in_the_hub_update_the_post_and_strangers_are_refused(
    harness: Harness,
) -> None:
    await announced(harness)
    post_id = str(
        next(
            n
            for n, (chat, reply) in enumerate(harness.channel.sent, 1)
            if chat.chat_id == "hub" and reply.buttons
        )
    )
    mark = len(harness.channel.sent)
    await harness.send("ana", "hub", button="/rsvp 1 coming")
    sent = sent_since(harness, mark)
    (confirmation,) = sent["dm-ana"]
    assert "you are coming" in confirmation.text
    (edit,) = sent["hub"]
    assert edit.edit == post_id and "Coming 1 · maybe 0" in edit.text
    # Someone who is not in the cluster presses the same button in the hub.
    mark = len(harness.channel.sent)
    await harness.send("zed", "hub", button="/rsvp 1 maybe")
    sent = sent_since(harness, mark)
    assert list(sent) == ["hub"], "no private chat known: the answer goes to the hub"
    assert "not invited" in sent["hub"][0].text and sent["hub"][0].edit is None
    async with harness.app.db.session() as session:
        answers = (await session.exec(select(MeetingAnswer))).all()
    assert [(a.answer) for a in answers] == ["coming"]


async def test_reminders_keep_local_time_across_dst_and_go_after_hours(
    harness: Harness,
) -> None:
    clock = Clock(datetime(2027, 3, 10, 10, tzinfo=UTC))
    scheduler = await cluster_with_hub(harness, clock)
    # Monday 29 March 2027, 19:00 in Lisbon (summer time: 18:00 UTC); the clocks change on the
    # 28th, so a week before is 19:00 winter time (19:00 UTC).
    await schedule(harness, "29/03/2027 19:00")
    await scheduler.tick()
    await harness.send("ana", "hub", button="/rsvp 1 coming")
    await harness.send("rui", button="/rsvp 1 not_coming")
    expected = {
        datetime(2027, 3, 22, 19, tzinfo=UTC): "7d",
        datetime(2027, 3, 28, 18, tzinfo=UTC): "1d",
        datetime(2027, 3, 29, 17, tzinfo=UTC): "1h",
    }
    for due in expected:
        clock.now = due - timedelta(minutes=1)
        mark = len(harness.channel.sent)
        await scheduler.tick()
        assert sent_since(harness, mark) == {}, f"nothing before {due}"
        clock.now = due
        await scheduler.tick()
        sent = sent_since(harness, mark)
        # cora did not answer, rui is not coming: only ana and the hub are reminded.
        assert sorted(sent) == ["dm-ana", "hub"], due
        assert "Reminder" in sent["dm-ana"][0].text
        assert "Coming 1" in sent["hub"][0].text
        # A restart (a new scheduler, planning afresh) sends none of them again.
        scheduler = restarted(harness.app, clock)
        clock.now = due + timedelta(minutes=30)
        mark = len(harness.channel.sent)
        await scheduler.tick()
        assert sent_since(harness, mark) == {}, "each reminder once"
    async with harness.app.db.session() as session:
        rows = (await session.exec(select(Reminder).where(Reminder.kind == "meeting_remind"))).all()
    outcomes = {(r.payload["before"], r.outcome) for r in rows if r.status == "skipped"}
    assert outcomes == {(label, "not coming") for label in expected.values()}


async def test_moving_and_cancelling_tell_those_who_answered(harness: Harness) -> None:
    clock, scheduler = await announced(harness)
    await harness.send("ana", button="/rsvp 1 maybe")
    # cora moves it by a day from /meetings.
    listing = text_of(await harness.say("cora", "/meetings"))
    assert "Coming 0 · maybe 1" in listing
    await harness.press("cora", "Wednesday, 20 January 2027, 15:00")
    await harness.press("cora", EN("meetings.action_when"))
    await harness.say("cora", "21/01/2027 16:00")
    mark = len(harness.channel.sent)
    changed = await harness.press("cora", EN("calendar.yes"))
    edits = [r for c, r in harness.channel.sent[mark:] if c.chat_id == "hub"]
    assert "Saved" in text_of(changed)
    assert len(edits) == 1 and edits[0].edit is not None and "21 January" in edits[0].text
    mark = len(harness.channel.sent)
    await scheduler.tick()
    sent = sent_since(harness, mark)
    assert sorted(sent) == ["dm-ana", "hub"], "rui and cora did not answer: only ana is told"
    news, calendar_file = sent["dm-ana"]
    assert "has changed" in news.text and "Thursday, 21 January 2027, 16:00" in news.text
    event = event_of(ics_of(calendar_file))
    assert event["SEQUENCE"] == 1
    assert event.decoded("DTSTART") == datetime(2027, 1, 21, 16, tzinfo=UTC)
    # Then it is cancelled.
    await harness.press("cora", EN("meetings.action_cancel"))
    await harness.press("cora", EN("meetings.cancel_yes"))
    mark = len(harness.channel.sent)
    await scheduler.tick()
    sent = sent_since(harness, mark)
    news, calendar_file = sent["dm-ana"]
    assert "cancelled" in news.text and not news.buttons
    cancelled = ics_of(calendar_file)
    assert cancelled["METHOD"] == "CANCEL" and event_of(cancelled)["SEQUENCE"] == 2
    late = text_of(await harness.send("rui", button="/rsvp 1 coming"))
    assert "cancelada" in late.lower() or "cancel" in late.lower()
    # The reminders planned for either time are never sent.
    clock.now = datetime(2027, 1, 21, 15, tzinfo=UTC)
    mark = len(harness.channel.sent)
    await scheduler.tick()
    assert sent_since(harness, mark) == {}
    assert all(c.kind == ChatKind.PRIVATE or c.chat_id == "hub" for c, _ in harness.channel.sent)


async def test_notes_after_the_meeting_land_in_the_schools_meeting_notes(
    harness: Harness,
) -> None:
    clock, scheduler = await announced(harness)
    await harness.send("ana", button="/rsvp 1 coming")
    await harness.send("rui", button="/rsvp 1 maybe")
    # The meeting ends at 17:00 UTC (two hours); the notes prompt goes to cora then.
    clock.now = datetime(2027, 1, 20, 17, tzinfo=UTC)
    mark = len(harness.channel.sent)
    await scheduler.tick()
    sent = sent_since(harness, mark)
    assert list(sent) == ["dm-cora"]
    (prompt,) = sent["dm-cora"]
    assert [b.data for b in prompt.buttons] == ["/notes 1"]
    attendance = (await harness.send("cora", button="/notes 1"))[-1]
    assert "1 of 3 marked present" in attendance.text, "ana said coming"
    await harness.press("cora", "✗ Rui")  # rui said maybe and came
    await harness.press("cora", EN("meetings.attendance_done"))
    question = text_of(await harness.press("cora", "Hillview Primary"))
    assert "Meeting notes for Hillview Primary" in question
    await harness.say("cora", "Hillview showed its reading-corner photos; the cluster asked why.")
    await harness.press("cora", EN("entry.enough"))
    await harness.press("cora", EN("entry.skip"))
    await harness.press("cora", EN("entry.submit"))
    back = text_of(await harness.press("cora", EN("visibility.cluster")))
    assert "Which school's discussion" in back
    done = text_of(await harness.press("cora", EN("meetings.notes_finish")))
    assert "1" in done
    async with harness.app.db.session() as session:
        entry = (await session.exec(select(DiaryEntry))).one()
        answers = (await session.exec(select(MeetingAnswer))).all()
        meeting = (await session.exec(select(Meeting))).one()
    assert (entry.section, entry.meeting_id, entry.status) == ("meeting_notes", 1, "submitted")
    assert "reading-corner" in " ".join(entry.activity.values())
    assert sorted(a.attended for a in answers) == [False, True, True]
    assert meeting.held_at is not None
    # Two days on, the second prompt is not sent: the notes are recorded.
    clock.now += timedelta(days=2, minutes=1)
    mark = len(harness.channel.sent)
    await scheduler.tick()
    assert sent_since(harness, mark) == {}


async def test_notes_prompt_repeats_once_when_nothing_was_recorded(harness: Harness) -> None:
    clock, scheduler = await announced(harness)
    prompts = []
    for moment in (datetime(2027, 1, 20, 17, tzinfo=UTC), datetime(2027, 1, 22, 17, tzinfo=UTC)):
        for step in (timedelta(0), timedelta(days=1), timedelta(days=2)):
            clock.now = moment + step
            mark = len(harness.channel.sent)
            await scheduler.tick()
            prompts += [r.text for r in sent_since(harness, mark).get("dm-cora", [])]
    assert len(prompts) == 2 and "not recorded yet" in prompts[1]


async def test_another_clusters_coordinator_cannot_touch_the_meeting(harness: Harness) -> None:
    await announced(harness)
    async with harness.app.db.session() as session:
        other = await create_cluster(
            session, name="Elsewhere", language="en", timezone="Europe/Rome"
        )
        invite = await create_invite(
            session, cluster_id=other.id, role=RoleName.CLUSTER_COORDINATOR, school_id=None
        )
    await member(harness, "olga", invite.code)
    assert "not one you can change" in text_of(await harness.send("olga", button="/notes 1"))
    assert "not invited" in text_of(await harness.send("olga", button="/rsvp 1 coming"))
    assert "No meetings yet" in text_of(await harness.say("olga", "/meetings"))


async def test_announcing_wakes_the_scheduler_at_once(harness: Harness) -> None:
    """The announcement does not wait for the next interval (an hour here) to go out."""
    clock = Clock(NOW)
    await cluster_with_hub(harness, clock)
    harness.app.dispatcher.clock = utcnow  # APScheduler runs on the real clock
    scheduler = Scheduler(
        db=harness.app.db,
        channels=harness.app.dispatcher.channels,
        consent_version=DEFAULT_CONSENT_VERSION,
        default_language="en",
        interval_seconds=3600,
    )
    harness.app.dispatcher.wake = scheduler.wake_soon
    posted = asyncio.Event()
    send = harness.channel.send

    async def watched(chat: ChatRef, reply: Reply) -> list[str]:
        if chat.chat_id == "hub" and reply.filename:
            posted.set()
        return await send(chat, reply)

    harness.channel.send = watched  # type: ignore[method-assign]
    scheduler.start()
    try:
        await schedule(harness)
        await asyncio.wait_for(posted.wait(), timeout=60)
    finally:
        await scheduler.stop()


async def test_a_new_meeting_after_an_unfinished_change_is_a_new_meeting(
    harness: Harness,
) -> None:
    """Leaving /meetings open after a change, then /meeting, must not move the old meeting."""
    await announced(harness)
    await harness.say("cora", "/meetings")
    await harness.press("cora", "Wednesday, 20 January 2027, 15:00")
    await harness.press("cora", EN("meetings.action_place"))  # and leaves it there
    question = text_of(await harness.say("cora", "/meeting"))
    assert "When is the meeting?" in question
    await schedule(harness, "10/03/2027 15:00")
    async with harness.app.db.session() as session:
        meetings = (await session.exec(select(Meeting).order_by(Meeting.id))).all()
    assert [m.scheduled_at.month for m in meetings] == [1, 3]
    assert [m.sequence for m in meetings] == [0, 0]


async def test_keep_it_changes_nothing_and_a_change_before_the_announcement_still_announces(
    harness: Harness,
) -> None:
    clock = Clock(NOW)
    scheduler = await cluster_with_hub(harness, clock)
    await schedule(harness)
    # Before the scheduler sends anything, cora edits the agenda, then keeps the place.
    await harness.say("cora", "/meetings")
    await harness.press("cora", "Wednesday, 20 January 2027, 15:00")
    shown = text_of(await harness.press("cora", EN("meetings.action_place")))
    assert "Now: Hillview Primary, library" in shown
    assert "Kept as it was" in text_of(await harness.press("cora", EN("meetings.keep")))
    await harness.press("cora", EN("meetings.action_agenda"))
    await harness.say("cora", "Only the focus of each school")
    mark = len(harness.channel.sent)
    await scheduler.tick()
    sent = sent_since(harness, mark)
    # Everyone invited still gets the announcement, as the meeting is now; the hub post has
    # its buttons and is recorded, so answers there are counted.
    assert sorted(sent) == ["dm-ana", "dm-cora", "dm-rui", "hub"]
    assert "Only the focus of each school" in sent["dm-ana"][0].text
    post = next(r for r in sent["hub"] if r.buttons)
    assert "Only the focus" in post.text
    mark = len(harness.channel.sent)
    await harness.send("ana", "hub", button="/rsvp 1 coming")
    assert any(r.edit for r in sent_since(harness, mark)["hub"])


async def test_notes_without_a_number_take_the_meeting_waiting_for_them(
    harness: Harness,
) -> None:
    clock, _ = await announced(harness)
    assert "No meeting of yours is waiting" in text_of(await harness.say("cora", "/notes"))
    clock.now = datetime(2027, 1, 20, 18, tzinfo=UTC)
    attendance = text_of(await harness.say("cora", "/notes"))
    assert "who was there?" in attendance
