"""How the Telegram channel's update handling compares with PTB's `Application`, over real HTTP.

Run: .venv/bin/python -m benchmarks.telegram_updates [--people N] [--messages M] [--delay S]

Every person sends M messages at once (a burst, as after a lost connection) to the fake Bot API
server; each message is an unknown command, so it costs one database round trip and one reply.
Three ways of consuming the updates are timed until every reply has arrived:

- ours: `TelegramChannel` starts one task per update in arrival order; the dispatcher's FIFO
  lock per chat keeps each chat in order while chats proceed side by side;
- ptb-concurrent: PTB's `Application` with `concurrent_updates(True)` and a `TypeHandler`;
- ptb-sequential: PTB's `Application` with its default, one update at a time.

All three send through the same `TelegramChannel.send` (the outbox, with the flood limit
lifted: at Telegram's 30 messages/s every variant would just measure the pacing), so only the
update handling differs. Prints replies per second, the ratio to ours, and replies that
arrived out of order within their chat. Numbers only; nothing is asserted (machines are noisy).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, TypeHandler

from bot.app import build_app
from bot.channels.telegram import TelegramChannel
from bot.channels.telegram_convert import to_incoming
from bot.channels.telegram_outbox import Limits
from bot.settings import Settings, load_settings
from tests.fake_telegram import FakeTelegram, User
from tests.telegram_driver import telegram_bot

UNLIMITED = Limits(per_second=1_000_000)


async def burst(fake: FakeTelegram, people: int, messages: int) -> float:
    """Inject everything, then wait for every reply; returns the seconds it took."""
    start = time.perf_counter()
    users = [User(5000 + i, f"User{i}") for i in range(people)]
    for n in range(messages):
        for user in users:
            await fake.message(user, f"/ping{n}")
    await fake.wait_until(lambda: len(fake.sent) >= people * messages, within=600)
    return time.perf_counter() - start


def out_of_order(fake: FakeTelegram) -> int:
    """Replies that came before an earlier message's reply in the same chat."""
    last: dict[int, int] = {}
    wrong = 0
    for message in fake.sent:
        n = int(message["text"].split("/ping")[1].split(".")[0])
        chat = message["chat"]["id"]
        wrong += n < last.get(chat, -1)
        last[chat] = max(n, last.get(chat, -1))
    return wrong


async def ours(settings: Settings, delay: float, people: int, messages: int) -> tuple[float, int]:
    async with (
        FakeTelegram(delay=delay) as fake,
        telegram_bot(settings, fake, limits=UNLIMITED, poll_timeout=1),
    ):
        took = await burst(fake, people, messages)
        return took, out_of_order(fake)


async def ptb(
    settings: Settings, delay: float, people: int, messages: int, *, concurrent: bool
) -> tuple[float, int]:
    async with FakeTelegram(delay=delay) as fake:
        configured = fake.configure(settings)
        sender = TelegramChannel(configured, limits=UNLIMITED)
        app = await build_app(settings, {sender.platform: sender})
        await sender.bot.initialize()
        application = (
            ApplicationBuilder()
            .token(fake.token)
            .base_url(configured.telegram_api_url)
            .concurrent_updates(concurrent)
            .build()
        )

        async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            msg = to_incoming(update, username=fake.username, buttons=sender.buttons)
            if msg is not None:
                await app.dispatcher(msg)

        application.add_handler(TypeHandler(Update, handle))
        try:
            async with application:
                await application.start()
                assert application.updater is not None
                await application.updater.start_polling(timeout=1)
                took = await burst(fake, people, messages)
                await application.updater.stop()
                await application.stop()
        finally:
            await sender.bot.shutdown()
            await app.db.close()
        return took, out_of_order(fake)


async def main(people: int, messages: int, delays: list[float]) -> None:
    total = people * messages
    print(f"{people} chats x {messages} messages = {total} replies per run (SQLite)")
    with tempfile.TemporaryDirectory() as tmp:
        # A first run warms up imports, SQLite and the event loop; its numbers are dropped.
        await ours(load_settings(data_dir=Path(tmp) / "warm-up"), 0.0, people, messages)
        for delay in delays:
            results = {}
            for name in ("ours", "ptb-concurrent", "ptb-sequential"):
                data = Path(tmp) / f"{name}-{delay}"
                settings = load_settings(data_dir=data)
                if name == "ours":
                    results[name] = await ours(settings, delay, people, messages)
                else:
                    concurrent = name == "ptb-concurrent"
                    results[name] = await ptb(
                        settings, delay, people, messages, concurrent=concurrent
                    )
            base = total / results["ours"][0]
            for name, (took, wrong) in results.items():
                rate = total / took
                print(
                    f"delay {delay * 1000:4.0f} ms  {name:15} {rate:7.1f} replies/s  "
                    f"ratio to ours {rate / base:5.2f}  out of order {wrong}"
                )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--delay", type=float, action="append", help="seconds per API call")
    args = parser.parse_args()
    asyncio.run(main(args.people, args.messages, args.delay or [0.0, 0.02]))
