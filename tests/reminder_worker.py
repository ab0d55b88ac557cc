"""A bot process that only sends reminders, for tests that need a real second OS process.

Run as `python -m tests.reminder_worker URL NOW RECORD [--gate | --hold N]` from the project
root. It opens its own `Database`, builds a `Scheduler` whose clock is fixed at `NOW` (ISO 8601)
and whose only channel (platform `worker`) appends each chat id it sends to to `RECORD`, one a
line. It talks to the test through its standard streams, one word a line, so the test never
sleeps for a fixed time:

- it prints `ready WORKER` once connected, then waits for `start` on stdin and runs one tick;
- `--gate`: the first send prints `sending`, and every send waits for `go` on stdin (so a test
  can hold two processes in the middle of their deliveries at the same moment);
- `--hold N`: every send blocks for ever, and once N sends are blocked it prints `claimed`
  (their rows' claims are committed by then; the test kills the process);
- after the tick it prints `done` with the tick's outcomes as JSON, and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime
from pathlib import Path

from bot.messages import Attachment, ChatRef, Reply
from bot.scheduler import Scheduler
from bot.settings import DEFAULT_CONSENT_VERSION
from storage.db import Database

PLATFORM = "worker"


def say(word: str) -> None:
    """One line to the test."""
    sys.stdout.write(word + "\n")
    sys.stdout.flush()


async def heard() -> str:
    """The next line from the test (empty when it closed the pipe)."""
    return (await asyncio.to_thread(sys.stdin.readline)).strip()


class RecordingChannel:
    """A channel that appends each chat id it delivers to to a file, as it delivers it."""

    platform = PLATFORM

    def __init__(self, record: Path, *, gate: bool, hold: int) -> None:
        self.record = record.open("a", encoding="utf-8")
        self.gate = gate
        self.hold = hold
        self.opened = asyncio.Event()
        if not gate:
            self.opened.set()
        self.asked = False
        self.blocked = 0

    async def start(self, dispatch: object) -> None:
        return None

    async def wait_closed(self) -> None:
        return None

    async def stop(self) -> None:
        self.record.close()

    async def send(self, chat: ChatRef, reply: Reply) -> list[str]:
        if self.hold:
            self.blocked += 1
            if self.blocked == self.hold:
                say("claimed")
            await asyncio.Event().wait()  # until the test kills the process
        if self.gate and not self.asked:
            self.asked = True  # the first send asks; the others wait for the same answer
            say("sending")
            if await heard() != "go":
                raise RuntimeError("the test did not say go")
            self.opened.set()
        await self.opened.wait()
        self.record.write(chat.chat_id + "\n")
        self.record.flush()
        return [chat.chat_id]

    async def download(self, attachment: Attachment) -> bytes:
        raise NotImplementedError


async def main(args: argparse.Namespace) -> None:
    now = datetime.fromisoformat(args.now)
    db = Database(args.url)
    channel = RecordingChannel(Path(args.record), gate=args.gate, hold=args.hold)
    scheduler = Scheduler(
        db=db,
        channels={PLATFORM: channel},
        consent_version=DEFAULT_CONSENT_VERSION,
        default_language="en",
        interval_seconds=0,
        clock=lambda: now,
    )
    try:
        async with db.session() as session:  # connected before the start signal
            await session.connection()
        say(f"ready {scheduler.delivery.worker}")
        if await heard() != "start":
            raise SystemExit("the test did not say start")
        tick = await scheduler.tick()
        say("done " + json.dumps(dict(tick.outcomes)))
    finally:
        await channel.stop()
        await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("now")
    parser.add_argument("record")
    parser.add_argument("--gate", action="store_true")
    parser.add_argument("--hold", type=int, default=0)
    asyncio.run(main(parser.parse_args()))
