"""Sends the reminder rows that are due, each exactly once, through the channels' outboxes.

For each claimed row the rules are applied again at the moment of sending, because much can
change between planning and sending: consent withdrawn, reminders paused or stopped, the person
left the school, a holiday added. What may not go now is moved to the next allowed moment;
what can never go is skipped, and what came too late (its input window closed while the bot
was down) is marked expired with a log line. The row records the outcome either way.

Rows are handled a claimed batch at a time: what the rules need about the recipients is read
for the whole batch at once (`storage.recipients`), the rows that will not be sent are settled
in the same transaction, and the sent ones are marked in groups as their sends complete, so a
big fan-out costs a few statements per batch rather than a dozen per message.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot import digest_plan
from bot import meeting_delivery as meetings
from bot.channel import Channel, ChannelError
from bot.messages import Button, ChatKind, ChatRef, Reply
from bot.rhythm import Calendar, allowed, next_allowed
from handlers.dates import say_day
from prompts import Translator
from storage.calendar import calendar_of
from storage.db import Database
from storage.meetings import record_post
from storage.models import Cluster, HubChat, Reminder, ReminderStatus
from storage.people import COORDINATOR_ROLES, SCHOOL_ROLES
from storage.recipients import Recipients, recipients_of
from storage.reminders import claim_due, finish_many, postpone

log = logging.getLogger(__name__)

# Kinds that go whatever the working hours: news of a meeting, a reminder an hour before it,
# and the digest at the moment its coordinators chose.
ANY_HOUR = meetings.ANY_HOUR | {"digest"}
BATCH = 100
# Sends in flight at once: enough to keep the outboxes' pace, few enough to stay polite.
PARALLEL = 16


@dataclass(frozen=True)
class Decision:
    """What to do with one claimed row now."""

    status: ReminderStatus  # SENT means "send these", PLANNED means "postpone to `later`"
    outcome: str = ""
    later: datetime | None = None
    messages: tuple[tuple[ChatRef, Reply], ...] = ()
    # Messages made at send time, after the batch's transaction (a chart is slow to draw).
    more: Callable[[], Awaitable[tuple[tuple[ChatRef, Reply], ...]]] | None = None
    # Told the platform ids posted for each message (empty where one failed) once the row is
    # sent; what it does must not decide whether the row counts as sent.
    after: Callable[[list[list[str]]], Awaitable[None]] | None = None


class _Marks:
    """Marks sent rows in groups: whoever finds rows waiting writes them all in one UPDATE.

    A caller returns only once its own row is written, so the window for a duplicate after a
    crash stays one row's send wide.
    """

    def __init__(self, db: Database, worker: str, now: datetime) -> None:
        self.db, self.worker, self.now = db, worker, now
        self._waiting: list[tuple[int, ReminderStatus, str]] = []
        self._writing = asyncio.Lock()

    async def mark(self, row_id: int, status: ReminderStatus, outcome: str) -> None:
        self._waiting.append((row_id, status, outcome))
        async with self._writing:
            if not self._waiting:
                return  # written by the caller before us
            group, self._waiting = self._waiting, []
            async with self.db.session() as session:
                await _settle(session, group, worker=self.worker, now=self.now)


async def _settle(
    session: AsyncSession,
    outcomes: list[tuple[int, ReminderStatus, str]],
    *,
    worker: str,
    now: datetime,
) -> None:
    """Write final outcomes, one UPDATE per distinct (status, outcome)."""
    grouped: dict[tuple[ReminderStatus, str], list[int]] = defaultdict(list)
    for row_id, status, outcome in outcomes:
        grouped[(status, outcome)].append(row_id)
    for (status, outcome), ids in grouped.items():
        await finish_many(
            session, reminder_ids=ids, worker=worker, status=status, now=now, outcome=outcome
        )


class Delivery:
    """Claims due rows and sends them; one instance per bot process."""

    def __init__(
        self,
        *,
        db: Database,
        channels: Mapping[str, Channel],
        consent_version: str,
        worker: str,
        default_language: str,
    ) -> None:
        self.db = db
        self.channels = channels
        self.consent_version = consent_version
        self.worker = worker
        self.default_language = default_language
        self._clusters: dict[int, tuple[Cluster, Calendar]] = {}

    async def run(self, now: datetime) -> Counter[str]:
        """Send everything due at `now`; returns how many rows ended in each status."""
        counts: Counter[str] = Counter()
        # A cluster and its calendar are read once per run, not once per message.
        self._clusters = {}
        marks = _Marks(self.db, self.worker, now)
        limit = asyncio.Semaphore(PARALLEL)

        async def send(row: Reminder, decision: Decision) -> None:
            # The slot is held until the row is marked: at most PARALLEL rows are ever sent and
            # not yet marked, which bounds the duplicates a crash can cause.
            async with limit:
                status = await self._send(row, decision)
                await marks.mark(row.id or 0, status, "" if status == "sent" else "not delivered")
            counts[status] += 1

        while True:
            async with self.db.session() as session:
                rows = await claim_due(session, worker=self.worker, now=now, limit=BATCH)
            if not rows:
                break
            async with self.db.session() as session:
                decided = await self._decide_batch(session, rows, now)
                for status in await self._settle_unsent(session, decided, now):
                    counts[status] += 1
            sending = [(row, d) for row, d in decided if d.status == ReminderStatus.SENT]
            await asyncio.gather(*(send(row, d) for row, d in sending))
        if counts[ReminderStatus.EXPIRED]:
            log.warning(
                "%d reminders expired: their input window closed while the bot was down",
                counts[ReminderStatus.EXPIRED],
            )
        return counts

    async def _decide_batch(
        self, session: AsyncSession, rows: list[Reminder], now: datetime
    ) -> list[tuple[Reminder, Decision]]:
        known = await recipients_of(session, rows)
        decided = []
        for row in rows:
            cluster, calendar = await self._cluster(session, row.cluster_id)
            decision = self._decide(row, cluster, calendar, known, now)
            if row.kind == "digest" and decision.status == ReminderStatus.SENT:
                # Written only now that it may go: it covers everything up to this moment.
                decision = await self._digest(session, row, cluster, known, now)
            decided.append((row, decision))
        return decided

    async def _digest(
        self,
        session: AsyncSession,
        row: Reminder,
        cluster: Cluster,
        known: Recipients,
        now: datetime,
    ) -> Decision:
        hub = known.hubs[int(row.payload["hub"])]
        chat = hub_chat(hub)
        if not digest_plan.weekly(cluster):
            return Decision(ReminderStatus.SKIPPED, "the weekly digest was turned off")
        replies, drawn = await digest_plan.write(
            session, cluster, chat, language=self.default_language, now=now
        )
        if not replies:
            return Decision(ReminderStatus.SKIPPED, "nothing new to report")

        async def after(_: list[list[str]]) -> None:
            await digest_plan.remember(self.db, cluster, chat, now)

        sent = tuple((chat, reply) for reply in replies)
        return Decision(ReminderStatus.SENT, messages=sent, more=drawn, after=after)

    async def _settle_unsent(
        self, session: AsyncSession, decided: list[tuple[Reminder, Decision]], now: datetime
    ) -> list[str]:
        """Postpone, skip or expire the rows that will not be sent now (in this transaction)."""
        final: list[tuple[int, ReminderStatus, str]] = []
        statuses = []
        for row, decision in decided:
            assert row.id is not None
            if decision.status == ReminderStatus.PLANNED:
                assert decision.later is not None
                await postpone(
                    session,
                    reminder_id=row.id,
                    worker=self.worker,
                    due_at=decision.later,
                    outcome=decision.outcome,
                )
                statuses.append("postponed")
            elif decision.status != ReminderStatus.SENT:
                final.append((row.id, decision.status, decision.outcome))
                statuses.append(decision.status)
        await _settle(session, final, worker=self.worker, now=now)
        return statuses

    async def _send(self, row: Reminder, decision: Decision) -> ReminderStatus:
        # The ids posted for each message, in order; empty for a message that did not go.
        posted: list[list[str]] = []
        messages = decision.messages
        if decision.more is not None:
            try:
                messages += await decision.more()
            except Exception:  # the rest of the row still goes
                log.exception("reminder %d: a message made at send time failed", row.id)
        for n, (chat, reply) in enumerate(messages):
            channel = self.channels.get(chat.platform)
            ids: list[str] = []
            # Each message of a row has a key of its own, so no re-send is taken for another.
            key = f"reminder:{row.key}" + (f":{n}" if n else "")
            # Nobody asked for it there: a group hears it as a bot's notice (Matrix m.notice).
            notice = reply.notice or chat.kind == ChatKind.GROUP
            try:
                if channel is not None:
                    ids = await channel.send(chat, replace(reply, key=key, notice=notice))
            except ChannelError as exc:
                log.warning("reminder %d not delivered to one chat: %s", row.id, exc)
            posted.append(ids)
        if any(posted) and decision.after is not None:
            try:
                await decision.after(posted)
            except Exception:  # what was sent stays sent: the row must still be marked
                log.exception("reminder %d: the step after sending failed", row.id)
        return ReminderStatus.SENT if any(posted) else ReminderStatus.SKIPPED

    def _decide(
        self,
        row: Reminder,
        cluster: Cluster,
        calendar: Calendar,
        known: Recipients,
        now: datetime,
    ) -> Decision:
        if row.expires_at is not None and now >= row.expires_at:
            return Decision(ReminderStatus.EXPIRED, "window closed before it could be sent")
        meeting = known.meetings.get(row.meeting_id or 0)
        if meetings.is_meeting(row):
            why = meetings.no_longer(row, meeting)
            if why is not None:
                return Decision(ReminderStatus.SKIPPED, why)
        if row.person_id is None:
            return self._hub_post(row, cluster, calendar, known, now)
        person = known.people.get(row.person_id)
        if person is None or person.deleted_at is not None:
            return Decision(ReminderStatus.SKIPPED, "person deleted")
        consent = known.consents.get(row.person_id)
        if consent is None or not consent.grants(self.consent_version):
            return Decision(ReminderStatus.SKIPPED, "no current consent")
        if person.reminders_stopped and row.kind not in meetings.UNPAUSED:
            return Decision(ReminderStatus.SKIPPED, "reminders stopped")
        if meeting is not None:
            why = meetings.not_for(row, meeting, known)
            if why is not None:
                return Decision(ReminderStatus.SKIPPED, why)
        else:
            coordinating = row.kind == "behind"
            roles = COORDINATOR_ROLES if coordinating else SCHOOL_ROLES
            school = None if coordinating else row.school_id
            if not known.holds(row.person_id, row.cluster_id, roles, school):
                return Decision(ReminderStatus.SKIPPED, "no longer in the school or cluster")
        paused = person.reminders_paused_until
        if paused is not None and paused > now and row.kind not in meetings.UNPAUSED:
            return self._later(row, calendar, paused, "paused")
        if not allowed(calendar, now) and row.kind not in ANY_HOUR:
            return self._later(row, calendar, now, "outside working hours")
        t = Translator(person.language or cluster.language or self.default_language)
        chats = [
            ChatRef(c.platform, c.chat_id, ChatKind.PRIVATE)
            for c in known.chats.get(row.person_id, [])
        ]
        if not chats:
            return Decision(ReminderStatus.SKIPPED, "no private chat")
        sent = tuple(
            (chat, reply) for chat in chats for reply in self._texts(row, t, cluster, known, chat)
        )
        return Decision(ReminderStatus.SENT, messages=sent)

    async def _cluster(self, session: AsyncSession, cluster_id: int) -> tuple[Cluster, Calendar]:
        if cluster_id not in self._clusters:
            cluster = await session.get(Cluster, cluster_id)
            assert cluster is not None  # a reminder's cluster is a foreign key
            self._clusters[cluster_id] = (cluster, await calendar_of(session, cluster))
        return self._clusters[cluster_id]

    def _later(self, row: Reminder, calendar: Calendar, moment: datetime, why: str) -> Decision:
        later = next_allowed(calendar, moment)
        if row.expires_at is not None and later >= row.expires_at:
            return Decision(ReminderStatus.SKIPPED, f"{why} until its window closed")
        return Decision(ReminderStatus.PLANNED, why, later=later)

    def _hub_post(
        self,
        row: Reminder,
        cluster: Cluster,
        calendar: Calendar,
        known: Recipients,
        now: datetime,
    ) -> Decision:
        hub = known.hubs.get(int(row.payload.get("hub", 0)))
        if hub is None or hub.cluster_id != cluster.id:
            return Decision(ReminderStatus.SKIPPED, "hub chat unlinked")
        if not allowed(calendar, now) and row.kind not in ANY_HOUR:
            return self._later(row, calendar, now, "outside working hours")
        if row.kind == "digest":
            return Decision(ReminderStatus.SENT)  # written by `_digest`
        t = Translator(cluster.language or self.default_language)
        chat = hub_chat(hub)
        sent = tuple((chat, reply) for reply in self._texts(row, t, cluster, known, chat))
        after = None
        if row.kind == "meeting_hub" and row.payload.get("event") == "announced":
            meeting_id, hub_id = row.meeting_id or 0, hub.id or 0

            async def after(posted: list[list[str]]) -> None:
                # The first message is the post whose tally is edited as people answer.
                if not posted[0]:
                    return
                async with self.db.session() as session:
                    await record_post(
                        session,
                        meeting_id=meeting_id,
                        hub_id=hub_id,
                        platform=chat.platform,
                        chat_id=chat.chat_id,
                        message_id=posted[0][0],
                    )

        return Decision(ReminderStatus.SENT, messages=sent, after=after)

    def _texts(
        self, row: Reminder, t: Translator, cluster: Cluster, known: Recipients, chat: ChatRef
    ) -> tuple[Reply, ...]:
        """The messages of a row, in the reader's language."""
        meeting = known.meetings.get(row.meeting_id or 0)
        if meeting is not None:
            return meetings.messages(row, t, cluster, meeting, known, platform=chat.platform)
        payload = row.payload
        found = known.schools.get(row.school_id) if row.school_id is not None else None
        school = found.name if found else ""
        add = (Button(t("reminders.add_button"), "/add"),)
        if row.kind == "input":
            closes = say_day(date.fromisoformat(payload["closes"]), t.language)
            return (Reply(t("reminders.input", school=school, closes=closes), buttons=add),)
        if row.kind == "input_hub":
            closes = say_day(date.fromisoformat(payload["closes"]), t.language)
            schools = ", ".join(payload.get("schools", []))
            return (Reply(t("reminders.input_hub", schools=schools, closes=closes)),)
        if row.kind == "nudge":
            text = t.plural("reminders.nudge", payload["days"], school=school, days=payload["days"])
            return (Reply(text, buttons=add),)
        lines = [
            t.plural("reminders.behind_line", s["days"], school=s["school"], days=s["days"])
            for s in payload["schools"]
        ]
        return (Reply(t("reminders.behind", schools="\n".join(lines))),)


def hub_chat(hub: HubChat) -> ChatRef:
    """Where posts to a hub go: its group chat, in the forum topic or thread it was linked in."""
    return ChatRef(hub.platform, hub.chat_id, ChatKind.GROUP, hub.title, hub.thread_id)
