"""The termly rhythm end to end: calendar → planned rows → messages, on a clock moved by hand.

The bot runs behind the in-memory channel on SQLite and PostgreSQL; a `Scheduler` is built
with a clock the test sets, and each `tick()` plans and sends what is due at that moment, so
nothing here waits in real time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from bot.messages import ChatKind
from bot.scheduler import Scheduler
from bot.settings import DEFAULT_CONSENT_VERSION
from prompts import Translator
from storage.calendar import add_holiday, add_term
from storage.models import DiaryEntry, EntryStatus, Reminder, ReminderStatus, School
from storage.reminders import LEASE, claim_due
from tests.builders import RHYTHM_START, demo_codes, member, person_id, set_rhythm
from tests.helpers import Harness, text_of

# The demo cluster's first mentee school, where the contributor and lead invites lead.
SCHOOL = "Hillview Primary"
# The autumn term of `set_rhythm`, 96 days: input points after 32 and 64 days.
POINTS = (date(2026, 10, 16), date(2026, 11, 17))  # a Friday before the DST change, a Tuesday after


@dataclass
class Clock:
    """The time the scheduler sees; tests set it."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


async def _cluster(
    bot: Harness, *, timezone: str = "Europe/Lisbon", term: bool = True, nudge_days: int = 365
) -> int:
    """The demo cluster with ana (contributor), rui (lead, Portuguese) and cora (coordinator).

    Nudges wait `nudge_days` (a year by default, so only the tests about them see any).
    """
    codes = await demo_codes(bot)
    await member(bot, "ana", codes["contributor"])
    await member(bot, "rui", codes["school_lead"], "Português")
    await member(bot, "cora", codes["coordinator"])
    return await set_rhythm(bot.app.db, timezone=timezone, nudge_days=nudge_days, term=term)


def _scheduler(bot: Harness, clock: Clock) -> Scheduler:
    return Scheduler(
        db=bot.app.db,
        channels=bot.app.dispatcher.channels,
        consent_version=DEFAULT_CONSENT_VERSION,
        default_language="en",
        interval_seconds=0,
        clock=clock,
    )


def _sent_since(bot: Harness, mark: int) -> dict[str, list[str]]:
    """Texts sent since `mark`, by chat id."""
    out: dict[str, list[str]] = {}
    for chat, reply in bot.channel.sent[mark:]:
        out.setdefault(chat.chat_id, []).append(reply.text)
    return out


@pytest.mark.parametrize(
    ("timezone", "first_utc_hour", "second_utc_hour"),
    [("Europe/Lisbon", 8, 9), ("America/New_York", 13, 14)],
)
async def test_input_points_reach_each_school_member_once_at_nine_local(
    harness: Harness, timezone: str, first_utc_hour: int, second_utc_hour: int
) -> None:
    """09:00 local on both sides of the daylight-saving change, which moves the UTC hour."""
    await _cluster(harness, timezone=timezone)
    clock = Clock(datetime.combine(POINTS[0], datetime.min.time(), UTC))
    scheduler = _scheduler(harness, clock)
    for second_point, hour in ((False, first_utc_hour), (True, second_utc_hour)):
        day = POINTS[1] if second_point else POINTS[0]
        clock.now = datetime(day.year, day.month, day.day, hour - 1, 59, tzinfo=UTC)
        mark = len(harness.channel.sent)
        await scheduler.tick()
        assert _sent_since(harness, mark) == {}, "nothing before 09:00 local"
        clock.now += timedelta(minutes=1)
        await scheduler.tick()
        sent = _sent_since(harness, mark)
        assert sorted(sent) == ["dm-ana", "dm-rui"], "the school's people, not the coordinator"
        assert "Hillview Primary" in sent["dm-ana"][0]
        assert "Hillview Primary" in sent["dm-rui"][0]
        assert "diário" in sent["dm-rui"][0], "rui reads Portuguese"
        (reply,) = [r for c, r in harness.channel.sent[mark:] if c.chat_id == "dm-ana"]
        assert [b.data for b in reply.buttons] == ["/add"]
        mark = len(harness.channel.sent)
        clock.now += timedelta(hours=3)
        await scheduler.tick()
        assert _sent_since(harness, mark) == {}, "each reminder exactly once"


async def test_reminder_button_starts_add(harness: Harness) -> None:
    await _cluster(harness)
    clock = Clock(datetime(2026, 10, 16, 8, tzinfo=UTC))
    mark = len(harness.channel.sent)
    await _scheduler(harness, clock).tick()
    (reply,) = [r for c, r in harness.channel.sent[mark:] if c.chat_id == "dm-ana"]
    answer = await harness.send("ana", button=reply.buttons[0].data)
    (question,) = answer[-1:]
    assert [b.data.split(":")[-1] for b in question.buttons][:2] == ["issue", "action"]


async def test_weekend_and_holiday_postpone_to_the_next_working_morning(
    harness: Harness,
) -> None:
    cluster_id = await _cluster(harness, term=False)
    async with harness.app.db.session() as session:
        # A term whose first point falls on Saturday 17 Oct 2026 (39 days: +13).
        await add_term(
            session,
            cluster_id=cluster_id,
            name="T",
            first=date(2026, 10, 4),
            last=date(2026, 11, 11),
        )
        await add_holiday(
            session,
            cluster_id=cluster_id,
            name="Bridge",
            first=date(2026, 10, 19),
            last=date(2026, 10, 19),
        )
    clock = Clock(datetime(2026, 10, 17, 10, tzinfo=UTC))
    scheduler = _scheduler(harness, clock)
    mark = len(harness.channel.sent)
    for moment in (
        datetime(2026, 10, 17, 10, tzinfo=UTC),  # Saturday
        datetime(2026, 10, 19, 10, tzinfo=UTC),  # Monday, a holiday
        datetime(2026, 10, 20, 7, 59, tzinfo=UTC),  # Tuesday 08:59 Lisbon
    ):
        clock.now = moment
        await scheduler.tick()
        assert _sent_since(harness, mark) == {}, moment
    clock.now = datetime(2026, 10, 20, 8, tzinfo=UTC)
    await scheduler.tick()
    assert sorted(_sent_since(harness, mark)) == ["dm-ana", "dm-rui"]


async def test_paused_stopped_and_withdrawn_people_get_nothing(harness: Harness) -> None:
    await _cluster(harness)
    clock = Clock(datetime(2026, 10, 10, 10, tzinfo=UTC))
    await harness.say("ana", "/reminders")
    await harness.press("ana", "Pause for 4 wk")
    await harness.say("rui", "/privacy")
    pt = Translator("pt")  # rui reads Portuguese
    await harness.press("rui", pt("privacy.withdraw"))
    await harness.press("rui", pt("privacy.withdraw_keep"))
    scheduler = _scheduler(harness, clock)
    clock.now = datetime(2026, 10, 16, 8, tzinfo=UTC)
    mark = len(harness.channel.sent)
    await scheduler.tick()
    assert _sent_since(harness, mark) == {}
    async with harness.app.db.session() as session:
        rows = (await session.exec(select(Reminder).where(Reminder.kind == "input"))).all()
    outcomes = {r.person_id: (r.status, r.outcome) for r in rows}
    assert ReminderStatus.SENT not in {status for status, _ in outcomes.values()}


async def test_idle_school_nudged_weekly_coordinator_summarised_hub_untouched(
    harness: Harness,
) -> None:
    await _cluster(harness, term=False, nudge_days=42)
    clock = Clock(RHYTHM_START + timedelta(days=43, hours=-2))  # a Monday morning, 10:00 Lisbon
    while clock.now.weekday() != 0:
        clock.now += timedelta(days=1)
    clock.now = clock.now.replace(hour=10)
    scheduler = _scheduler(harness, clock)
    mark = len(harness.channel.sent)
    await scheduler.tick()
    sent = _sent_since(harness, mark)
    assert sorted(sent) == ["dm-ana", "dm-cora", "dm-rui"]
    assert "Hillview Primary" in sent["dm-cora"][0]
    assert all(c.kind == ChatKind.PRIVATE for c, _ in harness.channel.sent[mark:])
    for later in (timedelta(days=1), timedelta(days=3)):
        mark = len(harness.channel.sent)
        scheduler._planned_at = None  # plan again at once
        clock.now += later
        await scheduler.tick()
        assert _sent_since(harness, mark) == {}, "at most one nudge a week"
    mark = len(harness.channel.sent)
    scheduler._planned_at = None
    clock.now += timedelta(days=4)  # the next Monday
    await scheduler.tick()
    assert sorted(_sent_since(harness, mark)) == ["dm-ana", "dm-cora", "dm-rui"]


async def test_recent_contributor_is_not_nudged(harness: Harness) -> None:
    await _cluster(harness, term=False, nudge_days=42)
    now = datetime(2026, 9, 14, 10, tzinfo=UTC)  # a Monday, 44 days after the start
    ana, rui = await person_id(harness, "ana"), await person_id(harness, "rui")
    async with harness.app.db.session() as session:
        assert (await session.exec(select(Reminder))).all() == []  # nothing planned yet
        school = (await session.exec(select(School).where(School.name == SCHOOL))).one()
        # ana submitted for another school's diary lately (she may belong to two).
        other = (await session.exec(select(School).where(School.name != SCHOOL))).first()
        assert other is not None and school.id is not None
        session.add(
            DiaryEntry(
                school_id=other.id,
                section="issue",
                author_id=ana,
                status=EntryStatus.SUBMITTED,
                submitted_at=now - timedelta(days=2),
            )
        )
    await _scheduler(harness, Clock(now)).tick()
    async with harness.app.db.session() as session:
        nudged = (await session.exec(select(Reminder).where(Reminder.kind == "nudge"))).all()
    assert [r.person_id for r in nudged] == [rui]


async def test_restart_between_planning_and_firing_sends_once(harness: Harness) -> None:
    await _cluster(harness)
    clock = Clock(datetime(2026, 10, 16, 7, tzinfo=UTC))
    await _scheduler(harness, clock).tick()  # planned, not due yet
    clock.now = datetime(2026, 10, 16, 8, 30, tzinfo=UTC)
    mark = len(harness.channel.sent)
    await _scheduler(harness, clock).tick()  # a new process
    await _scheduler(harness, clock).tick()
    assert sorted(_sent_since(harness, mark)) == ["dm-ana", "dm-rui"]
    assert all(len(texts) == 1 for texts in _sent_since(harness, mark).values())


async def test_claim_of_a_dead_process_is_taken_again_after_its_lease(harness: Harness) -> None:
    await _cluster(harness)
    clock = Clock(datetime(2026, 10, 16, 7, tzinfo=UTC))
    scheduler = _scheduler(harness, clock)
    await scheduler.tick()
    clock.now = datetime(2026, 10, 16, 8, 30, tzinfo=UTC)
    async with harness.app.db.session() as session:
        claimed = await claim_due(session, worker="dead", now=clock.now, limit=100)
    assert len(claimed) == 2  # claimed by a process that then died before sending
    mark = len(harness.channel.sent)
    clock.now += LEASE - timedelta(minutes=1)
    await scheduler.tick()
    assert _sent_since(harness, mark) == {}, "the lease still holds"
    clock.now += timedelta(minutes=2)
    await scheduler.tick()
    assert sorted(_sent_since(harness, mark)) == ["dm-ana", "dm-rui"]


async def test_window_missed_while_down_is_expired_not_sent(harness: Harness) -> None:
    await _cluster(harness)
    clock = Clock(datetime(2026, 10, 1, 10, tzinfo=UTC))
    await _scheduler(harness, clock).tick()  # the bot ran before the first point
    clock.now = datetime(2026, 11, 18, 10, tzinfo=UTC)  # back after the first window closed
    mark = len(harness.channel.sent)
    await _scheduler(harness, clock).tick()
    async with harness.app.db.session() as session:
        rows = (await session.exec(select(Reminder).where(Reminder.kind == "input"))).all()
    by_point = {(r.payload["point"], r.status) for r in rows}
    assert by_point == {
        (POINTS[1].isoformat(), ReminderStatus.SENT),
    } or by_point == {
        (POINTS[0].isoformat(), ReminderStatus.EXPIRED),
        (POINTS[1].isoformat(), ReminderStatus.SENT),
    }
    assert sorted(_sent_since(harness, mark)) == ["dm-ana", "dm-rui"]


async def test_someone_who_blocked_the_bot_is_skipped_and_shown_to_coordinators(
    harness: Harness,
) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    await member(harness, "rui", codes["school_lead"])
    await member(harness, "cora", codes["coordinator"], "Português")
    await set_rhythm(harness.app.db, timezone="Europe/Lisbon", nudge_days=365, term=True)
    assert await harness.send("ana", removed=True) == []  # ana blocked the bot
    clock = Clock(datetime(2026, 10, 16, 8, tzinfo=UTC))
    mark = len(harness.channel.sent)
    await _scheduler(harness, clock).tick()
    assert sorted(_sent_since(harness, mark)) == ["dm-rui"]
    async with harness.app.db.session() as session:
        skipped = (
            await session.exec(
                select(Reminder).where(Reminder.person_id == await person_id(harness, "ana"))
            )
        ).one()
    assert (skipped.status, skipped.outcome) == (ReminderStatus.SKIPPED, "no private chat")

    overview = text_of(await harness.say("cora", "/reminders"))
    assert "Sem contacto: bloquearam-me" in overview
    assert "• Ana, desde" in overview
