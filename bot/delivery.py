"""Sends the reminder rows that are due, each exactly once, through the channels' outboxes.

For each claimed row the rules are applied again at the moment of sending, because much can
change between planning and sending: consent withdrawn, reminders paused or stopped, the person
left the school, a holiday added. What may not go now is moved to the next allowed moment;
what can never go is skipped, and what came too late (its input window closed while the bot
was down) is marked expired with a log line. The row records the outcome either way.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.channel import Channel, ChannelError
from bot.messages import Button, ChatKind, ChatRef, Reply
from bot.rhythm import Calendar, allowed, next_allowed
from handlers.dates import say_day
from prompts import Translator
from storage.calendar import calendar_of
from storage.db import Database
from storage.models import Cluster, HubChat, Person, Reminder, ReminderStatus, School
from storage.people import (
    COORDINATOR_ROLES,
    SCHOOL_ROLES,
    contacts,
    current_consent,
    holds_role,
)
from storage.reminders import claim_due, finish, postpone

log = logging.getLogger(__name__)

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
        limit = asyncio.Semaphore(PARALLEL)
        # A cluster and its calendar are read once per run, not once per message.
        self._clusters: dict[int, tuple[Cluster, Calendar]] = {}

        async def one(row: Reminder) -> None:
            async with limit:
                counts[await self._deliver(row, now)] += 1

        while True:
            async with self.db.session() as session:
                rows = await claim_due(session, worker=self.worker, now=now, limit=BATCH)
            if not rows:
                break
            await asyncio.gather(*(one(row) for row in rows))
        if counts[ReminderStatus.EXPIRED]:
            log.warning(
                "%d reminders expired: their input window closed while the bot was down",
                counts[ReminderStatus.EXPIRED],
            )
        return counts

    async def _deliver(self, row: Reminder, now: datetime) -> str:
        assert row.id is not None
        async with self.db.session() as session:
            decision = await self._decide(session, row, now)
            if decision.status == ReminderStatus.PLANNED:
                assert decision.later is not None
                await postpone(
                    session,
                    reminder_id=row.id,
                    worker=self.worker,
                    due_at=decision.later,
                    outcome=decision.outcome,
                )
                return "postponed"
            if decision.status != ReminderStatus.SENT:
                await finish(
                    session,
                    reminder_id=row.id,
                    worker=self.worker,
                    status=decision.status,
                    now=now,
                    outcome=decision.outcome,
                )
                return decision.status
        delivered = 0
        for chat, reply in decision.messages:
            channel = self.channels.get(chat.platform)
            if channel is None:
                continue
            try:
                await channel.send(chat, replace(reply, key=f"reminder:{row.key}"))
                delivered += 1
            except ChannelError as exc:
                log.warning("reminder %d not delivered to one chat: %s", row.id, exc)
        status = ReminderStatus.SENT if delivered else ReminderStatus.SKIPPED
        async with self.db.session() as session:
            outcome = "" if delivered else "not delivered"
            await finish(
                session,
                reminder_id=row.id,
                worker=self.worker,
                status=status,
                now=now,
                outcome=outcome,
            )
        return status

    async def _decide(self, session: AsyncSession, row: Reminder, now: datetime) -> Decision:
        cluster, calendar = await self._cluster(session, row.cluster_id)
        if row.expires_at is not None and now >= row.expires_at:
            return Decision(ReminderStatus.EXPIRED, "window closed before it could be sent")
        if row.person_id is None:
            return await self._hub_post(session, row, cluster, calendar, now)
        person = await session.get(Person, row.person_id)
        if person is None or person.deleted_at is not None:
            return Decision(ReminderStatus.SKIPPED, "person deleted")
        consent = await current_consent(session, person_id=person.id or 0)
        if consent is None or not consent.granted or consent.version != self.consent_version:
            return Decision(ReminderStatus.SKIPPED, "no current consent")
        if person.reminders_stopped:
            return Decision(ReminderStatus.SKIPPED, "reminders stopped")
        if not await self._still_holds(session, row, person.id or 0):
            return Decision(ReminderStatus.SKIPPED, "no longer in the school or cluster")
        paused = person.reminders_paused_until
        if paused is not None and paused > now:
            return self._later(row, calendar, paused, "paused")
        if not allowed(calendar, now):
            return self._later(row, calendar, now, "outside working hours")
        language = person.language or cluster.language or self.default_language
        reply = await self._text(session, row, Translator(language))
        chats = [
            ChatRef(c.platform, c.chat_id, ChatKind.PRIVATE)
            for c in await contacts(session, person_ids=[person.id or 0])
        ]
        if not chats:
            return Decision(ReminderStatus.SKIPPED, "no private chat")
        return Decision(ReminderStatus.SENT, messages=tuple((c, reply) for c in chats))

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

    async def _still_holds(self, session: AsyncSession, row: Reminder, person_id: int) -> bool:
        if row.kind == "behind":
            roles, school = COORDINATOR_ROLES, None
        else:
            roles, school = SCHOOL_ROLES, row.school_id
        return await holds_role(
            session, person_id=person_id, cluster_id=row.cluster_id, roles=roles, school_id=school
        )

    async def _hub_post(
        self,
        session: AsyncSession,
        row: Reminder,
        cluster: Cluster,
        calendar: Calendar,
        now: datetime,
    ) -> Decision:
        hub = await session.get(HubChat, row.payload.get("hub", 0))
        if hub is None or hub.cluster_id != cluster.id:
            return Decision(ReminderStatus.SKIPPED, "hub chat unlinked")
        if not allowed(calendar, now):
            return self._later(row, calendar, now, "outside working hours")
        t = Translator(cluster.language or self.default_language)
        reply = await self._text(session, row, t)
        chat = ChatRef(hub.platform, hub.chat_id, ChatKind.GROUP, title=hub.title)
        return Decision(ReminderStatus.SENT, messages=((chat, reply),))

    async def _text(self, session: AsyncSession, row: Reminder, t: Translator) -> Reply:
        """The message of a row, in the reader's language."""
        payload = row.payload
        school = ""
        if row.school_id is not None:
            found = await session.get(School, row.school_id)
            school = found.name if found else ""
        add = (Button(t("reminders.add_button"), "/add"),)
        if row.kind == "input":
            closes = say_day(date.fromisoformat(payload["closes"]), t.language)
            return Reply(t("reminders.input", school=school, closes=closes), buttons=add)
        if row.kind == "input_hub":
            closes = say_day(date.fromisoformat(payload["closes"]), t.language)
            schools = ", ".join(payload.get("schools", []))
            return Reply(t("reminders.input_hub", schools=schools, closes=closes))
        if row.kind == "nudge":
            return Reply(t("reminders.nudge", school=school, days=payload["days"]), buttons=add)
        lines = [
            t("reminders.behind_line", school=s["school"], days=s["days"])
            for s in payload["schools"]
        ]
        return Reply(t("reminders.behind", schools="\n".join(lines)))
