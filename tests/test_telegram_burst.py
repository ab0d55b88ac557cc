"""A burst of updates through long polling: each fetched and built once, few getUpdates calls.

While updates are in flight every getUpdates answers at once with them and all after them, so a
poller that asked after every finished update would fetch (and decode) the same updates many
times over. These tests count: how often each update is built into PTB's `Update`, and how many
getUpdates calls a burst takes. Counts only, never timings (the machine may be busy).
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from telegram import Update

from bot.app import build_app
from bot.channels.telegram import TelegramChannel
from bot.channels.telegram_outbox import Limits
from bot.channels.telegram_polling import LIMIT, Ledger
from bot.messages import Incoming
from bot.settings import Settings, load_settings
from tests.fake_telegram import FakeTelegram, User

UNPACED = Limits(per_second=1_000_000, backoff=0.02, attempts=4)
pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after`:DeprecationWarning")


@pytest.fixture
def settings(tmp_path) -> Settings:
    return load_settings(data_dir=tmp_path / "data")


def test_the_ledger_counts_what_the_next_answer_sends_again() -> None:
    ledger = Ledger()
    assert (ledger.ahead, ledger.in_flight) == (0, 0)
    for n in range(10, 20):
        ledger.begin(n)
    assert (ledger.ahead, ledger.in_flight) == (10, 10)
    for n in range(11, 20):  # all but the oldest handled: none of them confirmable yet
        ledger.finish(n)
    assert (ledger.ahead, ledger.in_flight) == (10, 1)
    ledger.finish(10)
    assert (ledger.offset, ledger.ahead, ledger.in_flight) == (20, 0, 0)


async def test_a_burst_of_500_is_built_once_each_with_few_get_updates(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: Counter[int] = Counter()
    build = Update.de_json

    def counting(cls: type[Update], data: dict, bot: object = None) -> Update:
        built[data["update_id"]] += 1
        return build(data, bot)

    monkeypatch.setattr(Update, "de_json", classmethod(counting))
    users = [User(3000 + n, f"User {n}") for n in range(20)]
    handled: list[tuple[str, str]] = []
    async with FakeTelegram() as fake:
        # The burst waits at Telegram before the bot starts, as after an outage.
        for round_ in range(25):
            for user in users:
                await fake.message(user, f"/r{round_}")
        first, last = fake.pending[0], fake.last_update_id
        channel = TelegramChannel(fake.configure(settings), limits=UNPACED, poll_timeout=2)
        app = await build_app(settings, {channel.platform: channel})

        async def dispatch(msg: Incoming) -> None:
            handled.append((msg.chat.chat_id, msg.text))
            await app.dispatcher(msg)

        try:
            await channel.start(dispatch)
            await fake.wait_until(lambda: len(fake.sent) == 500, within=300)
            # Everything handled is confirmed: Telegram keeps nothing to send again.
            await fake.wait_until(lambda: not fake.pending, within=60)
            await channel.stop()
        finally:
            await app.db.close()
    polls = [params for method, params in fake.calls if method == "getUpdates"]
    print(f"500 updates: {len(polls)} getUpdates, {sum(built.values())} built")
    assert last - first + 1 == 500
    assert built == Counter(range(first, last + 1))  # each update built exactly once
    assert len(handled) == 500
    for user in users:  # each chat in order
        said = [text for chat, text in handled if chat == str(user.id)]
        assert said == [f"/r{n}" for n in range(25)]
    # Each answer holds at most 100 updates, so at least 5 calls; asking only when an answer
    # can bring new work keeps it near that. (Asking after every finished update took
    # hundreds.) The bound leaves room for a slow machine's repolls every half second.
    assert 500 // LIMIT <= len(polls) <= 100


async def test_a_slow_update_does_not_make_the_poller_spin(settings: Settings) -> None:
    slow = asyncio.Event()
    async with FakeTelegram() as fake:
        channel = TelegramChannel(fake.configure(settings), limits=UNPACED, poll_timeout=2)
        app = await build_app(settings, {channel.platform: channel})

        async def dispatch(msg: Incoming) -> None:
            if msg.text == "/slow":
                await slow.wait()
            await app.dispatcher(msg)

        try:
            await channel.start(dispatch)
            await fake.message(User(4000, "Ana"), "/slow")
            await fake.wait_until(lambda: bool(fake.pending) and channel._poller.ledger.busy)
            calls = len(fake.calls)
            # While /slow is in flight, the others are fetched and answered all the same.
            for n in range(5):
                await fake.message(User(4001 + n, f"User {n}"), "/help")
            await fake.wait_until(lambda: len(fake.sent) == 5, within=60)
            # And afterwards, with nothing new, the poller leaves Telegram alone: it asks
            # less and less often (5 ms, 10 ms, ... up to `repoll`, 0.5 s), never in a busy
            # loop. The bound allows for a sleep that a busy machine makes longer.
            loop = asyncio.get_running_loop()
            before, start = [m for m, _ in fake.calls[calls:]].count("getUpdates"), loop.time()
            await asyncio.sleep(1.0)
            after, waited = [m for m, _ in fake.calls[calls:]].count("getUpdates"), loop.time()
            assert after - before <= 8 + (waited - start) / 0.5
            slow.set()
            await fake.wait_until(lambda: len(fake.sent) == 6, within=60)
            await channel.stop()
        finally:
            await app.db.close()
