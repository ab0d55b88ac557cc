"""The bot's clock: plans reminder rows and sends the due ones, woken by APScheduler.

APScheduler only wakes the bot: every `reminder_check_seconds`, and once more at the moment
the earliest planned row falls due when that is sooner. What is due is read from the database
each time (`storage.reminders`), never from the scheduler's memory, so a restart, a second bot
process or a clock change loses nothing and sends nothing twice.

Time comes from the injected `clock`; tests call `tick()` with a clock they move by hand.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from bot.channel import Channel
from bot.delivery import Delivery
from bot.planner import plan_all
from storage.channel_values import get_channel_value, set_channel_value
from storage.db import Database
from storage.reminders import next_due
from storage.retention import due_for_retention
from storage.types import utcnow

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    from sqlmodel.ext.asyncio.session import AsyncSession

log = logging.getLogger(__name__)

# Planning looks at every cluster; sending only at due rows, so it runs at every wake-up.
PLAN_EVERY = timedelta(minutes=10)
LAST_PASS = ("scheduler", "planned_at")
# How long stopping waits for a wake-up that is still sending.
STOP_WAIT = timedelta(seconds=30)


@dataclass
class Tick:
    """What one wake-up did."""

    planned: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)


class Scheduler:
    """Plans and sends reminders for one bot process."""

    def __init__(
        self,
        *,
        db: Database,
        channels: Mapping[str, Channel],
        consent_version: str,
        default_language: str,
        interval_seconds: int = 60,
        clock: Callable[[], datetime] = utcnow,
        retention_months: int = 12,
    ) -> None:
        self.db = db
        self.clock = clock
        self.consent_version = consent_version
        self.retention_months = retention_months
        # The day each ended cluster was last mentioned in the log: once a day is enough.
        self._retention_noted: dict[int, date] = {}
        self.interval = interval_seconds
        # At most 57 characters: `claimed_by` holds 64, and host names may be longer.
        worker = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.delivery = Delivery(
            db=db,
            channels=channels,
            consent_version=consent_version,
            worker=worker,
            default_language=default_language,
        )
        self._planned_at: datetime | None = None
        self._apscheduler: AsyncIOScheduler | None = None
        # The interval's wake-up and an extra one for a row due soon may overlap.
        self._running: set[asyncio.Task[None]] = set()

    async def tick(self) -> Tick:
        """Plan (when due) and send everything due now."""
        now = self.clock()
        done = Tick()
        if self._planned_at is None or now - self._planned_at >= PLAN_EVERY:
            done.planned = await self.plan(now)
        done.outcomes = await self.delivery.run(now)
        if done.planned or done.outcomes:
            log.info("reminders: %d planned, sent %s", done.planned, dict(done.outcomes))
        await self._wake_for_next()
        return done

    async def plan(self, now: datetime) -> int:
        """One planning pass over every cluster; returns how many rows were new."""
        async with self.db.session() as session:
            text = await get_channel_value(session, platform=LAST_PASS[0], key=LAST_PASS[1])
            last = datetime.fromisoformat(text) if text else None
            planned = await plan_all(
                session, now=now, consent_version=self.consent_version, last_pass=last
            )
            await set_channel_value(
                session, platform=LAST_PASS[0], key=LAST_PASS[1], value=now.isoformat()
            )
            await self._note_ended_clusters(session, now)
        self._planned_at = now
        return planned.rows

    async def _note_ended_clusters(self, session: AsyncSession, now: datetime) -> None:
        """Tell the operator (the log, once a day) about clusters past their end date."""
        today = now.date()
        due = await due_for_retention(session, today=today, months=self.retention_months)
        for cluster, day in due:
            assert cluster.id is not None
            if self._retention_noted.get(cluster.id) == today:
                continue
            self._retention_noted[cluster.id] = today
            if day <= today:
                log.warning(
                    "cluster %s (%s) ended on %s and its data was due for retention on %s: "
                    "run `diarybot retention --cluster %s --dry-run`, then --apply",
                    cluster.id,
                    cluster.name,
                    cluster.ends_on,
                    day,
                    cluster.id,
                )
            else:
                log.info(
                    "cluster %s (%s) ended on %s; its data is due for retention on %s",
                    cluster.id,
                    cluster.name,
                    cluster.ends_on,
                    day,
                )

    def start(self) -> None:
        """Wake up now and every interval (nothing happens when the interval is 0)."""
        if self.interval <= 0:
            return
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        self._apscheduler = AsyncIOScheduler(timezone="UTC")
        self._apscheduler.add_job(
            self._safe_tick,
            "interval",
            seconds=self.interval,
            id="tick",
            next_run_time=self.clock(),
            max_instances=1,
            coalesce=True,
        )
        self._apscheduler.start()

    async def stop(self) -> None:
        """Stop waking up; a wake-up in progress finishes first (its rows are marked by then).

        One still sending after `STOP_WAIT` (a chat paused by flood limits, a platform down) is
        cancelled: its claimed rows' leases run out and the next process sends them.
        """
        if self._apscheduler is not None:
            # Paused, not shut down yet: APScheduler's shutdown cancels the running wake-up.
            self._apscheduler.pause()
        if self._running:
            _, late = await asyncio.wait(set(self._running), timeout=STOP_WAIT.total_seconds())
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)
        if self._apscheduler is not None:
            self._apscheduler.shutdown(wait=False)
            self._apscheduler = None

    async def _safe_tick(self) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)  # type: ignore[arg-type]
        try:
            await self.tick()
        except asyncio.CancelledError:
            # The event loop is closing under us: a claimed row's lease runs out and it is sent
            # by the next process; nothing else to do.
            log.info("reminder scheduler stopped in the middle of a wake-up")
        except Exception:
            # The rows stay as they were; the next wake-up tries again.
            log.exception("the reminder scheduler failed; trying again at the next wake-up")
        finally:
            self._running.discard(task)  # type: ignore[arg-type]

    def wake_soon(self) -> None:
        """Wake up now, besides the interval (a handler planned something due at once)."""
        if self._apscheduler is None:
            return
        self._apscheduler.add_job(
            self._safe_tick,
            "date",
            run_date=self.clock(),
            id="now",
            replace_existing=True,
            max_instances=1,
        )

    async def _wake_for_next(self) -> None:
        """Ask for one extra wake-up when the next row falls due before the next interval."""
        if self._apscheduler is None:
            return
        async with self.db.session() as session:
            due = await next_due(session)
        if due is None or due - self.clock() >= timedelta(seconds=self.interval):
            return
        self._apscheduler.add_job(
            self._safe_tick,
            "date",
            run_date=max(due, self.clock()),
            id="soon",
            replace_existing=True,
            max_instances=1,
        )
