"""The bot process of `benchmarks/reminder_fanout.py`: `diarybot run`'s wiring, on a fixed clock.

Run: .venv/bin/python -m benchmarks.reminder_fanout_bot MOMENT [MOMENT ...]
(MOMENT: an ISO 8601 time with its offset; the settings come from the `DIARYBOT_*` environment
as for `diarybot run`, with `DIARYBOT_REMINDER_CHECK_SECONDS=0`.)

It assembles the bot as `diarybot run` does (`bot.app.build_app`, then the channels the
settings ask for through `bot.app.configured_channels`, so `DIARYBOT_TEST_TELEGRAM_PER_SECOND`
sets the outbox's pace exactly as for the other benchmarks) and starts them, but replaces the
APScheduler wake-ups, which follow the real clock, with a `Scheduler` whose clock is set to
each MOMENT in turn: at each one it plans once and ticks until a tick sends nothing. A moment
later than the first stands for the time passing after a restart (a dead process's claims are
taken again only once their lease has run out). One JSON line per moment goes to stdout, and
a last one with the process's CPU time; then the channel is stopped as on SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime

from bot.app import build_app, configured_channels
from bot.scheduler import Scheduler
from bot.settings import load_settings


class FixedClock:
    """The time the scheduler sees: `now`, set by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _report(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


async def run(moments: list[datetime]) -> None:
    """Start the bot, send what is due at each moment, stop it."""
    started = time.perf_counter()
    settings = load_settings()
    app = await build_app(settings)
    try:
        for channel in configured_channels(settings, app.db):
            app.add_channel(channel)
        for channel in app.channels.values():
            await channel.start(app.dispatcher)
        clock = FixedClock(moments[0])
        scheduler = Scheduler(
            db=app.db,
            channels=app.dispatcher.channels,
            consent_version=app.scheduler.consent_version,
            default_language=settings.default_language,
            interval_seconds=0,
            clock=clock,
        )
        _report(ready_s=time.perf_counter() - started)
        for moment in moments:
            clock.now = moment
            began = time.perf_counter()
            planned = await scheduler.plan(moment)
            planning = time.perf_counter() - began
            outcomes: Counter[str] = Counter()
            ticks = 0
            while True:
                ticks += 1
                done = await scheduler.tick()
                if not done.outcomes:
                    break
                outcomes.update(done.outcomes)
            _report(
                at=moment.isoformat(),
                planned=planned,
                plan_s=planning,
                send_s=time.perf_counter() - began - planning,
                ticks=ticks,
                outcomes=dict(outcomes),
            )
    finally:
        for channel in app.channels.values():
            await channel.stop()
        await app.db.close()
    _report(cpu_s=time.process_time(), wall_s=time.perf_counter() - started)


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when installed, as `diarybot` uses."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def main(argv: list[str]) -> None:
    """Parse the moments and run."""
    moments = [datetime.fromisoformat(text) for text in argv]
    if not moments or any(m.tzinfo is None for m in moments):
        raise SystemExit("usage: reminder_fanout_bot MOMENT [MOMENT ...] (ISO, with offset)")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(run(moments))


if __name__ == "__main__":
    main(sys.argv[1:])
