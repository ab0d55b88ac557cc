"""Reminder delivery across real processes: two senders at once, a sender killed, and Telegram.

The senders run as separate OS processes (`tests/reminder_worker.py`), each with its own
`Database` and a channel that appends every chat id it sends to to its own file. They talk to
the test through their standard streams, so nothing here sleeps for a fixed time: every wait
is for a line from a worker or a call to the fake Bot API, under one deadline per test.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event
from sqlmodel import col, select

from bot.delivery import BATCH, PARALLEL
from bot.demo import create_demo
from bot.scheduler import LAST_PASS, Scheduler
from bot.settings import DEFAULT_CONSENT_VERSION, Settings
from storage.channel_values import get_channel_value, set_channel_value
from storage.db import Database
from storage.models import (
    Cluster,
    ConsentRecord,
    Identity,
    Person,
    Reminder,
    ReminderStatus,
    Role,
    RoleName,
    School,
    SchoolKind,
)
from storage.reminders import LEASE
from tests.builders import set_rhythm
from tests.fake_telegram import FakeTelegram, User
from tests.helpers import MemoryChannel
from tests.reminder_worker import PLATFORM
from tests.telegram_driver import labels, telegram_bot, texts

ROOT = Path(__file__).resolve().parent.parent
ZONE = "Europe/Lisbon"
# A Wednesday, 11:00 in the cluster's zone: inside its working hours (Mon-Fri 09:00-18:00).
NOW = datetime(2026, 10, 14, 11, tzinfo=ZoneInfo(ZONE)).astimezone(UTC)
# The longest a test may take when something hangs (a shared CI machine is slow, not stuck).
DEADLINE = 45

only_postgresql = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
only_sqlite = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@dataclass
class Clock:
    """The time a scheduler in this process sees; tests set it."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


async def _due_reminders(db: Database, count: int) -> dict[int, str]:
    """`count` consenting contributors of one school, each with one due input reminder.

    Built in bulk straight from the models. The cluster was created at `NOW`, so planning at
    `NOW` adds nothing of its own (no input point yet, no school idle). Returns the private
    chat id of each reminder's recipient, by reminder id.
    """
    assert NOW.astimezone(ZoneInfo(ZONE)).isoweekday() == 3
    today = NOW.astimezone(ZoneInfo(ZONE)).date()
    async with db.session() as session:
        cluster = Cluster(name="Worker Cluster", timezone=ZONE, created_at=NOW)
        session.add(cluster)
        await session.flush()
        assert cluster.id is not None
        school = School(
            cluster_id=cluster.id, name="Hillview Primary", kind=SchoolKind.MENTEE, created_at=NOW
        )
        session.add(school)
        people = [Person(display_name=f"Teacher {n}", language="en") for n in range(count)]
        session.add_all(people)
        await session.flush()
        assert school.id is not None
        chats = {person.id: f"chat-{n}" for n, person in enumerate(people)}
        for person_id, chat in chats.items():
            assert person_id is not None
            session.add_all(
                [
                    Identity(
                        person_id=person_id,
                        platform=PLATFORM,
                        external_id=chat,
                        private_chat_id=chat,
                    ),
                    Role(
                        person_id=person_id,
                        role=RoleName.CONTRIBUTOR,
                        cluster_id=cluster.id,
                        school_id=school.id,
                    ),
                    ConsentRecord(
                        person_id=person_id, version=DEFAULT_CONSENT_VERSION, granted=True
                    ),
                ]
            )
        topic = f"input:{school.id}:{today.isoformat()}"
        reminders = [
            Reminder(
                key=f"{topic}:{person_id}",
                topic=topic,
                kind="input",
                cluster_id=cluster.id,
                school_id=school.id,
                person_id=person_id,
                due_at=NOW - timedelta(minutes=n % 90),
                expires_at=NOW + timedelta(days=30),
                payload={
                    "point": today.isoformat(),
                    "closes": (today + timedelta(days=29)).isoformat(),
                },
            )
            for n, person_id in enumerate(chats)
        ]
        session.add_all(reminders)
        await session.flush()
        return {r.id: chats[r.person_id] for r in reminders}  # type: ignore[misc,index]


async def _rows(db: Database) -> list[Reminder]:
    async with db.session() as session:
        return list((await session.exec(select(Reminder).order_by(col(Reminder.id)))).all())


class Worker:
    """One `tests/reminder_worker.py` process, spoken to a line at a time."""

    def __init__(self, process: asyncio.subprocess.Process, record: Path, errors: Path) -> None:
        self.process = process
        self.record = record
        self.errors = errors
        self.id = ""

    async def expect(self, word: str) -> str:
        """Wait for the worker's next line, which must start with `word`; returns the rest."""
        assert self.process.stdout is not None
        line = (await self.process.stdout.readline()).decode().strip()
        if line.split(" ", 1)[0] != word:
            if not line:  # it ended: let it finish writing its stderr
                await self.process.wait()
            raise AssertionError(
                f"worker said {line!r} instead of {word!r}; its stderr:\n"
                + self.errors.read_text(errors="replace")[-4000:]
            )
        return line.partition(" ")[2]

    async def tell(self, word: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(word.encode() + b"\n")
        await self.process.stdin.drain()

    def delivered(self) -> list[str]:
        """The chat ids this worker sent to, in order (repeats included)."""
        return self.record.read_text().split()


@asynccontextmanager
async def worker(url: str, folder: Path, name: str, *flags: str) -> AsyncIterator[Worker]:
    """A worker process, ready (connected) when the block starts, gone when it ends."""
    record, errors = folder / f"{name}.sent", folder / f"{name}.err"
    record.touch()
    with errors.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.reminder_worker",
            url,
            NOW.isoformat(),
            str(record),
            *flags,
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
        )
    running = Worker(process, record, errors)
    try:
        running.id = await running.expect("ready")
        yield running
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


@only_postgresql
async def test_two_processes_deliver_each_of_1000_reminders_exactly_once(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    expected = await _due_reminders(db, 1000)
    async with (
        asyncio.timeout(DEADLINE),
        worker(database_url, tmp_path, "a", "--gate") as a,
        worker(database_url, tmp_path, "b", "--gate") as b,
    ):
        workers = (a, b)
        for each in workers:
            await each.tell("start")
        # Both hold claimed rows and wait in their first send: the deliveries overlap.
        for each in workers:
            await each.expect("sending")
        for each in workers:
            await each.tell("go")
        outcomes = [Counter(json.loads(await each.expect("done"))) for each in workers]
        assert [await each.process.wait() for each in workers] == [0, 0]

    sent_a, sent_b = a.delivered(), b.delivered()
    assert sent_a and sent_b, "each process delivered a share"
    assert len(set(sent_a)) == len(sent_a) and len(set(sent_b)) == len(sent_b)
    assert not set(sent_a) & set(sent_b), "no recipient got it from both processes"
    assert sorted(sent_a + sent_b) == sorted(expected.values())
    assert [o[ReminderStatus.SENT] for o in outcomes] == [len(sent_a), len(sent_b)]
    assert sum(outcomes, Counter()) == Counter({ReminderStatus.SENT: 1000})
    rows = await _rows(db)
    assert {r.status for r in rows} == {ReminderStatus.SENT}
    assert {r.sent_at for r in rows} == {NOW}
    by_worker = {a.id: set(sent_a), b.id: set(sent_b)}
    assert {r.claimed_by for r in rows} == set(by_worker)
    for row in rows:
        assert expected[row.id] in by_worker[row.claimed_by], "the claimer is the sender"  # type: ignore[index]


@only_postgresql
async def test_two_schedulers_planning_for_the_first_time_together(
    database_url: str, db: Database
) -> None:
    """Two bot processes started together on a new database: neither tick may fail."""
    other = Database(database_url)
    inserting = asyncio.Event()

    def spot(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "INTO channel_state" in statement:
            inserting.set()

    event.listen(other.engine.sync_engine, "before_cursor_execute", spot)
    second = Scheduler(
        db=other,
        channels={},
        consent_version=DEFAULT_CONSENT_VERSION,
        default_language="en",
        interval_seconds=0,
        clock=lambda: NOW,
    )
    try:
        async with asyncio.timeout(DEADLINE):
            # The first process's planning pass has saved its mark, not committed yet...
            async with db.session() as session:
                await set_channel_value(
                    session, platform=LAST_PASS[0], key=LAST_PASS[1], value=NOW.isoformat()
                )
                await session.flush()
                # ...when the second one, which found no mark, goes to save its own.
                planning = asyncio.create_task(second.tick())
                spotted = asyncio.create_task(inserting.wait())
                await asyncio.wait({planning, spotted}, return_when=asyncio.FIRST_COMPLETED)
                spotted.cancel()
            await planning
    finally:
        await other.close()
    async with db.session() as session:
        saved = await get_channel_value(session, platform=LAST_PASS[0], key=LAST_PASS[1])
    assert saved == NOW.isoformat()


async def test_a_process_killed_after_claiming_delivers_after_restart(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    count = PARALLEL + 24  # sends in flight when killed, and claimed rows waiting their turn
    assert count <= BATCH, "the dying process claims them all at once"
    expected = await _due_reminders(db, count)
    async with asyncio.timeout(DEADLINE):
        async with worker(database_url, tmp_path, "dead", "--hold", str(PARALLEL)) as dead:
            await dead.tell("start")
            await dead.expect("claimed")  # PARALLEL sends blocked, every claim committed
            rows = await _rows(db)
            assert {(r.status, r.claimed_by) for r in rows} == {(ReminderStatus.CLAIMED, dead.id)}
            assert {r.lease_until for r in rows} == {NOW + LEASE}
            os.kill(dead.process.pid, signal.SIGKILL)
            assert await dead.process.wait() == -signal.SIGKILL
        assert dead.delivered() == []

        channel = MemoryChannel(platform=PLATFORM)
        clock = Clock(NOW + LEASE - timedelta(seconds=1))
        restarted = Scheduler(
            db=db,
            channels={PLATFORM: channel},
            consent_version=DEFAULT_CONSENT_VERSION,
            default_language="en",
            interval_seconds=0,
            clock=clock,
        )
        assert not (await restarted.tick()).outcomes, "the dead process's lease still holds"
        assert channel.sent == []
        clock.now = NOW + LEASE + timedelta(seconds=1)
        done = await restarted.tick()
        clock.now += timedelta(minutes=10)
        assert not (await restarted.tick()).outcomes, "nothing is left to send"

    assert done.outcomes == Counter({ReminderStatus.SENT: count})
    assert sorted(chat.chat_id for chat, _ in channel.sent) == sorted(expected.values())
    assert all(reply.buttons and reply.buttons[0].data == "/add" for _, reply in channel.sent)
    rows = await _rows(db)
    assert {(r.status, r.claimed_by) for r in rows} == {
        (ReminderStatus.SENT, restarted.delivery.worker)
    }
    assert {r.sent_at for r in rows} == {NOW + LEASE + timedelta(seconds=1)}


@only_sqlite
async def test_the_reminder_button_starts_add_on_telegram(settings: Settings) -> None:
    ana = User(1001, "Ana")
    point = date(2026, 10, 16)  # the first input point of the term below, a Friday
    async with (
        asyncio.timeout(DEADLINE),
        FakeTelegram() as fake,
        telegram_bot(settings, fake) as bot,
    ):
        async with bot.app.db.session() as session:
            demo = await create_demo(session, language="en", timezone=ZONE)
        await bot.chat.say(ana, f"/start {demo.invites['contributor']}")
        await bot.chat.press(ana, "I agree")
        await set_rhythm(bot.app.db, nudge_days=365)  # only the input reminder is due
        clock = Clock(datetime(2026, 10, 16, 10, tzinfo=UTC))  # 11:00 in Lisbon
        scheduler = Scheduler(
            db=bot.app.db,
            channels={bot.channel.platform: bot.channel},
            consent_version=DEFAULT_CONSENT_VERSION,
            default_language="en",
            interval_seconds=0,
            clock=clock,
        )
        before = len(fake.sent_to(ana.id))
        tick = await scheduler.tick()
        assert tick.outcomes == Counter({ReminderStatus.SENT: 1})
        (reminder,) = fake.sent_to(ana.id)[before:]
        assert "Time to add to the diary of Hillview Primary" in reminder["text"]
        assert labels(reminder) == ["Add to the diary"]
        async with bot.app.db.session() as session:
            (row,) = (await session.exec(select(Reminder))).all()
        assert (row.kind, row.status, row.payload["point"]) == (
            "input",
            ReminderStatus.SENT,
            point.isoformat(),
        )

        answered = len(fake.answered)
        said = await bot.chat.press(ana, "Add to the diary")  # a callback_query with its data
        assert "Which part of the diary would you like to add to?" in texts(said)
        assert {"The issue", "Action taken", "Impact", "Next steps"} <= set(labels(said[-1]))
        await fake.wait_until(lambda: len(fake.answered) == answered + 1)
