"""Wiring: builds the whole bot from settings in one place, and runs it.

Nothing is created at import time. All channels share one event loop and one dispatcher, so a
reply can go to any platform (a Telegram teacher's action can post to a Matrix hub room).

`DIARYBOT_TEST_TELEGRAM_PER_SECOND` (a benchmark knob, not a setting: `DIARYBOT_TEST_*`
variables belong to the test suite and benchmarks) raises the Telegram outbox's overall pace
from Telegram's 30 messages a second, so `benchmarks/telegram_echo.py` measures the bot and
not the flood limit. A deployment never sets it: Telegram would answer 429s.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.channel import Channel
from bot.dispatcher import Dispatcher
from bot.scheduler import Scheduler
from bot.settings import Settings
from handlers.router import build_table
from storage.db import Database
from storage.media import MediaStore

log = logging.getLogger(__name__)

PACE_VARIABLE = "DIARYBOT_TEST_TELEGRAM_PER_SECOND"


@dataclass
class App:
    """The assembled bot: storage, media, the dispatcher, its channels and the scheduler."""

    settings: Settings
    db: Database
    media: MediaStore
    dispatcher: Dispatcher
    scheduler: Scheduler
    channels: dict[str, Channel] = field(default_factory=dict)

    def add_channel(self, channel: Channel) -> None:
        """Register a channel so replies to its platform can be delivered."""
        self.channels[channel.platform] = channel
        self.dispatcher.channels[channel.platform] = channel

    async def run(self) -> None:
        """Start every channel and run until one of them closes (or the task is cancelled)."""
        try:
            # Inside the try: a channel that fails to start still closes the others and the DB.
            for channel in self.channels.values():
                await channel.start(self.dispatcher)
            self.scheduler.start()
            waiters = [asyncio.create_task(c.wait_closed()) for c in self.channels.values()]
            done, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            for task in done:
                task.result()
        finally:
            await self.scheduler.stop()
            for channel in self.channels.values():
                await channel.stop()
            await self.db.close()


async def build_app(settings: Settings, channels: Mapping[str, Channel] | None = None) -> App:
    """Open the database (upgrading its schema) and assemble the app around it."""
    db = Database(settings.resolved_database_url, concurrency=settings.max_concurrent_messages)
    try:
        await db.upgrade()
    except BaseException:
        await db.close()
        raise
    media = MediaStore(settings.resolved_media_dir)
    table = build_table()
    dispatcher = Dispatcher(db=db, settings=settings, media=media, table=table, channels={})
    scheduler = Scheduler(
        db=db,
        channels=dispatcher.channels,  # the same dict: channels added later are seen
        consent_version=settings.consent_version,
        default_language=settings.default_language,
        interval_seconds=settings.reminder_check_seconds,
        retention_months=settings.retention_months,
    )
    dispatcher.wake = scheduler.wake_soon
    app = App(settings=settings, db=db, media=media, dispatcher=dispatcher, scheduler=scheduler)
    for channel in (channels or {}).values():
        app.add_channel(channel)
    return app


def configured_channels(settings: Settings, db: Database) -> list[Channel]:
    """The platform channels the settings ask for (Telegram, Matrix); empty when none are set."""
    found: list[Channel] = []
    if settings.telegram_token is not None:
        from bot.channels.telegram import TelegramChannel
        from bot.channels.telegram_outbox import Limits

        pace = os.environ.get(PACE_VARIABLE, "").strip()
        limits = Limits(per_second=int(pace)) if pace.isdigit() and int(pace) > 0 else None
        found.append(TelegramChannel(settings, limits=limits))
    if settings.matrix_homeserver:
        from bot.channels.matrix import MatrixChannel

        found.append(MatrixChannel(settings, db))
    return found
