"""Receiving by long polling: at least once across a crash, once across a graceful stop.

Each test runs the channel against the fake Bot API server, whose getUpdates forgets an update
only when asked with a higher offset, as Telegram does. A "crash" cancels the channel's tasks
without its graceful path (no finishing, no confirming), then a new channel on the same server
and database takes over. These are about the transport, so they run on SQLite only.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from telegram import Update

from bot import cli
from bot.app import App, build_app
from bot.channel import ChannelError
from bot.channels.telegram import TelegramChannel
from bot.channels.telegram_outbox import Limits
from bot.channels.telegram_polling import CONFLICT, WEBHOOK_CONFLICT, Ledger
from bot.messages import Incoming
from bot.settings import Settings, load_settings
from tests.fake_telegram import FakeTelegram, User
from tests.telegram_driver import telegram_bot, texts

QUICK = Limits(backoff=0.02, attempts=4)
ANA, BEA = User(1001, "Ana"), User(1002, "Bea")
UNKNOWN = "I don't know the command {}."
pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after`:DeprecationWarning")


@pytest.fixture
def settings(tmp_path) -> Settings:
    return load_settings(data_dir=tmp_path / "data")


class Gate:
    """A dispatch callback that records each message and holds those named in `held`."""

    def __init__(self, app: App, held: dict[str, asyncio.Event] | None = None) -> None:
        self.app = app
        self.held = held or {}
        self.seen: list[str] = []

    async def __call__(self, msg: Incoming) -> None:
        self.seen.append(msg.text)
        if msg.text in self.held:
            await self.held[msg.text].wait()
        await self.app.dispatcher(msg)


@asynccontextmanager
async def running(
    settings: Settings, fake: FakeTelegram, held: dict[str, asyncio.Event] | None = None
) -> AsyncIterator[tuple[TelegramChannel, Gate]]:
    """A channel and the app behind it, started with a `Gate`; the caller stops or crashes it."""
    channel = TelegramChannel(fake.configure(settings), limits=QUICK, poll_timeout=2, repoll=0.05)
    app = await build_app(settings, {channel.platform: channel})
    gate = Gate(app, held)
    try:
        await channel.start(gate)
        yield channel, gate
    finally:
        if channel._polling is not None and not channel._polling.done():
            await channel.stop()  # neither stopped nor crashed: a failed test
        await app.db.close()


async def crash(channel: TelegramChannel) -> None:
    """Stop the channel as a killed process would: nothing is finished or confirmed."""
    tasks = [channel._polling, *channel._tasks]
    for task in tasks:
        task.cancel()
    await asyncio.wait(tasks)
    await channel.bot.shutdown()  # only closes the HTTP connections, calls nothing


def offsets(fake: FakeTelegram) -> list[int]:
    return [int(p.get("offset") or 0) for method, p in fake.calls if method == "getUpdates"]


def replies(fake: FakeTelegram, user: User) -> list[str]:
    return [m["text"].split(" Send")[0] for m in fake.sent_to(user.id)]


def test_the_offset_waits_for_the_oldest_update_in_flight() -> None:
    ledger = Ledger(memory=4)
    assert ledger.offset is None
    assert [ledger.begin(n) for n in (5, 6, 7, 6)] == [True, True, True, False]
    assert ledger.offset == 5
    assert ledger.finish(6) is False  # 5 still in flight: nothing more may be forgotten
    assert (ledger.offset, ledger.busy) == (5, True)
    assert ledger.finish(5) is True
    assert ledger.offset == 7
    ledger.finish(7)
    assert (ledger.offset, ledger.busy) == (8, False)
    assert ledger.begin(7) is False  # handled, and fetched again: not handed over twice
    for n in (8, 9, 10):
        ledger.begin(n)
    assert ledger.begin(5) is True  # beyond the memory of 4: forgotten


async def test_an_update_unhandled_at_a_crash_is_handled_after_the_restart(
    settings: Settings,
) -> None:
    async with FakeTelegram() as fake:
        async with running(settings, fake, {"/stuck": asyncio.Event()}) as (channel, gate):
            await fake.message(ANA, "/one")
            await fake.wait_until(lambda: len(fake.sent) == 1)
            await fake.message(BEA, "/stuck")
            stuck = fake.last_update_id
            await fake.message(ANA, "/two")
            await fake.wait_until(lambda: len(fake.sent) == 2)
            # Telegram keeps offering /stuck and /two (not confirmed), but each ran once.
            await fake.wait_until(lambda: offsets(fake).count(stuck) >= 3)
            assert gate.seen == ["/one", "/stuck", "/two"]
            # While /stuck is in flight every getUpdates answers at once; with nothing new the
            # channel asks less and less often, at most every `repoll` (0.05 s), instead of
            # spinning (the bound allows for a sleep that a busy machine makes longer).
            loop = asyncio.get_running_loop()
            before, start = len(offsets(fake)), loop.time()
            await asyncio.sleep(0.5)
            assert len(offsets(fake)) - before <= 5 + (loop.time() - start) / 0.05
            await crash(channel)

        async with running(settings, fake) as (channel, gate):
            await fake.wait_until(lambda: len(fake.sent_to(BEA.id)) == 1)
            await fake.wait_until(lambda: len(fake.sent_to(ANA.id)) == 3)
            await channel.stop()
        # /stuck is answered by the new instance; /two, handled but not yet confirmable behind
        # /stuck, is handled again (at least once); /one, confirmed, is not.
        assert gate.seen == ["/stuck", "/two"]
        assert replies(fake, BEA) == [UNKNOWN.format("/stuck")]
        assert replies(fake, ANA) == [UNKNOWN.format(c) for c in ("/one", "/two", "/two")]


async def test_a_graceful_stop_finishes_and_confirms_so_nothing_runs_twice(
    settings: Settings,
) -> None:
    slow = asyncio.Event()
    async with FakeTelegram() as fake:
        async with running(settings, fake, {"/slow": slow}) as (channel, gate):
            await fake.message(ANA, "/one")
            await fake.message(BEA, "/two")
            await fake.wait_until(lambda: len(fake.sent) == 2)
            await fake.message(ANA, "/slow")
            last = fake.last_update_id
            await fake.wait_until(lambda: "/slow" in gate.seen)
            stopping = asyncio.create_task(channel.stop())
            await asyncio.sleep(0.1)
            assert not stopping.done()  # waits for the update in flight
            slow.set()
            await stopping
        assert replies(fake, ANA)[-1] == UNKNOWN.format("/slow")
        method, params = fake.calls[-1]
        assert (method, int(params["offset"]), int(params["timeout"])) == (
            "getUpdates",
            last + 1,
            0,
        )

        async with running(settings, fake) as (channel, gate):
            await fake.message(BEA, "/after")
            await fake.wait_until(lambda: len(fake.sent) == 4)
            await channel.stop()
        assert gate.seen == ["/after"]
        assert len(fake.sent) == 4


async def test_transient_failures_of_get_updates_are_retried(settings: Settings) -> None:
    async with FakeTelegram() as fake, telegram_bot(settings, fake, limits=QUICK) as bot:
        fake.fail("getUpdates", 502, times=2)
        fake.fail("getUpdates", 500, times=1)
        fake.fail("getUpdates", 429, times=1, retry_after=1)
        said = await bot.chat.say(ANA, "/help")
        assert "/start" in texts(said)
        closed = asyncio.create_task(bot.channel.wait_closed())
        await asyncio.sleep(0.1)
        assert not closed.done()
        closed.cancel()


async def test_a_token_revoked_while_running_closes_the_channel(settings: Settings) -> None:
    async with FakeTelegram() as fake, telegram_bot(settings, fake) as bot:
        await bot.chat.say(ANA, "/help")
        await fake.revoke()
        with pytest.raises(ChannelError, match="refused the bot token while running"):
            async with asyncio.timeout(30):
                await bot.channel.wait_closed()


async def test_run_exits_with_one_line_when_the_token_is_revoked(
    settings: Settings, tmp_path
) -> None:
    async with FakeTelegram() as fake:
        configured = fake.configure(settings)
        environment = {k: v for k, v in os.environ.items() if not k.startswith("DIARYBOT_")}
        for name in ("database_url", "data_dir", "telegram_api_url", "telegram_file_url"):
            environment[f"DIARYBOT_{name.upper()}"] = str(getattr(configured, name))
        environment["DIARYBOT_TELEGRAM_TOKEN"] = fake.token
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "run",
            env=environment,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            # Answered once the bot runs: it is polling when the token is revoked.
            await fake.message(ANA, "/help")
            await fake.wait_until(lambda: len(fake.sent) == 1, within=60)
            await fake.revoke()
            async with asyncio.timeout(30):
                _, err = await process.communicate()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert process.returncode == 2
    assert err.decode().splitlines() == [
        "diarybot: error: Telegram refused the bot token while running (revoked in @BotFather?); "
        "set DIARYBOT_TELEGRAM_TOKEN to the new one and start again"
    ]


# A photo as Bot API versions before 4.5 (2019) sent it, and as other libraries' test data still
# has it: without `file_unique_id`, which python-telegram-bot requires, so it cannot build it.
OLD_PHOTO = [
    {"file_id": "AgADBAADr6cxG-private-file", "file_size": 1290, "width": 90, "height": 67}
]
PRIVATE = "Notes on a pupil's family"
ELSEWHERE = "https://elsewhere.example/telegram"


async def test_an_unparseable_update_is_skipped_and_confirmed_without_logging_its_content(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with FakeTelegram() as fake:
        async with running(settings, fake) as (channel, gate):
            await fake.message(ANA, "/one")
            await fake.message(BEA, photo=OLD_PHOTO, caption=PRIVATE)
            bad = fake.last_update_id
            await fake.message(ANA, "/two")
            good = fake.last_update_id
            await fake.wait_until(lambda: len(fake.sent_to(ANA.id)) == 2, within=30)
            # Confirmed with the others: Telegram forgets it, so no restart meets it again.
            await fake.wait_until(lambda: not fake.pending and max(offsets(fake)) > good)
            assert gate.seen == ["/one", "/two"]
            assert replies(fake, ANA) == [UNKNOWN.format("/one"), UNKNOWN.format("/two")]
            assert fake.sent_to(BEA.id) == []
            # Still running: the next message is answered too.
            await fake.message(ANA, "/three")
            await fake.wait_until(lambda: len(fake.sent_to(ANA.id)) == 3, within=30)
            assert not channel._polling.done()
            await channel.stop()
        async with running(settings, fake) as (channel, gate):
            await fake.message(BEA, "/after")
            await fake.wait_until(lambda: len(fake.sent_to(BEA.id)) == 1, within=30)
            await channel.stop()
        assert gate.seen == ["/after"]
    skipped = [r for r in caplog.records if f"update {bad} " in r.getMessage()]
    assert len(skipped) == 1
    assert skipped[0].levelno == logging.ERROR
    assert "TypeError" in skipped[0].getMessage()
    assert "message" in skipped[0].getMessage()  # what kind of update it was
    # Nothing the person sent reaches the log (DEBUG is python-telegram-bot's wire trace).
    assert PRIVATE not in caplog.text
    assert "private-file" not in caplog.text


async def test_each_update_is_built_once_while_others_are_in_flight(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[int] = []
    build = Update.de_json

    def counting(cls: type[Update], data: dict, bot: object = None) -> Update:
        built.append(data["update_id"])
        return build(data, bot)

    monkeypatch.setattr(Update, "de_json", classmethod(counting))
    users = [User(2000 + n, f"User {n}") for n in range(10)]
    slow = asyncio.Event()
    async with FakeTelegram() as fake:
        async with running(settings, fake, {"/slow": slow}) as (channel, gate):
            await fake.message(ANA, "/slow")
            await fake.wait_until(lambda: "/slow" in gate.seen)
            for round_ in range(3):
                for user in users:
                    await fake.message(user, f"/r{round_}")
            await fake.message(ANA, "/after")
            await fake.wait_until(lambda: len(fake.sent) == 30, within=60)
            # Every answer while /slow is in flight brings /slow and all after it again.
            before = len(offsets(fake))
            await fake.wait_until(lambda: len(offsets(fake)) >= before + 5, within=30)
            slow.set()
            await fake.wait_until(lambda: len(fake.sent) == 32, within=30)
            await channel.stop()
        polls = len(offsets(fake))
    assert sorted(built) == list(range(1, fake.last_update_id + 1))
    print(f"{len(built)} updates built for {fake.last_update_id} updates, {polls} getUpdates")


async def test_a_second_instance_polling_the_same_token_stops_the_channel(
    settings: Settings,
) -> None:
    async with FakeTelegram() as fake:
        async with running(settings, fake) as (channel, _):
            await fake.message(ANA, "/one")
            await fake.wait_until(lambda: len(fake.sent) == 1, within=30)
            closed = asyncio.create_task(channel.wait_closed())
            async with asyncio.timeout(30):
                # The other process long-polls too; Telegram cuts off the older waiting call.
                while not closed.done():
                    await fake.request("getUpdates", timeout=0.5)
            with pytest.raises(ChannelError) as stopped:
                await closed
            calls = len(fake.calls)
            await channel.stop()
            # Stopping does not poll again (to confirm), which would cut the other one off.
            assert "getUpdates" not in [method for method, _ in fake.calls[calls:]]
    assert str(stopped.value) == CONFLICT
    assert "\n" not in str(stopped.value)


async def test_a_webhook_set_by_another_instance_stops_the_channel(settings: Settings) -> None:
    async with FakeTelegram() as fake:
        async with running(settings, fake) as (channel, _):
            await fake.message(ANA, "/one")
            await fake.wait_until(lambda: len(fake.sent) == 1, within=30)
            await fake.request("setWebhook", url=ELSEWHERE)
            with pytest.raises(ChannelError, match="webhook") as stopped:
                async with asyncio.timeout(30):
                    await channel.wait_closed()
            await channel.stop()
            # The other instance's webhook is left alone.
            assert fake.webhook == {
                "url": "https://elsewhere.example/telegram",
                "secret_token": None,
            }
    assert str(stopped.value) == WEBHOOK_CONFLICT


def _run_in_thread(
    fake: FakeTelegram, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> asyncio.Task[int]:
    """`diarybot run` against `fake`, in a thread: `main` runs its own event loop."""
    configured = fake.configure(settings)
    for name in ("database_url", "data_dir", "telegram_api_url", "telegram_file_url"):
        monkeypatch.setenv(f"DIARYBOT_{name.upper()}", str(getattr(configured, name)))
    monkeypatch.setenv("DIARYBOT_TELEGRAM_TOKEN", fake.token)
    return asyncio.create_task(asyncio.to_thread(cli.main, ["run"]))


async def test_run_freezes_what_start_up_built(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A full garbage collection walking every module and class of start-up stalled every
    # message in flight for about 90 ms (benchmarks/telegram_echo, max latency at 50/s).
    gc.unfreeze()
    async with FakeTelegram() as fake:
        run = _run_in_thread(fake, settings, monkeypatch)
        try:
            await fake.message(ANA, "/help")
            await fake.wait_until(lambda: len(fake.sent) == 1, within=60)
            assert gc.get_freeze_count() > 0
        finally:
            await fake.revoke()  # the bot stops on a refused token
            await asyncio.wait([run], timeout=30)


async def test_run_exits_with_one_line_when_another_instance_polls(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with FakeTelegram() as fake:
        run = _run_in_thread(fake, settings, monkeypatch)
        try:
            # Answered once the bot runs: it is polling when the other process starts.
            await fake.message(ANA, "/help")
            await fake.wait_until(lambda: len(fake.sent) == 1, within=60)
            async with asyncio.timeout(60):
                while not run.done():
                    await fake.request("getUpdates", timeout=0.5)
                status = await run
        finally:
            if not run.done():
                await fake.revoke()  # a failed test: make the bot stop
                await asyncio.wait([run], timeout=30)
    assert status == 2
    assert capsys.readouterr().err.splitlines() == [f"diarybot: error: {CONFLICT}"]
