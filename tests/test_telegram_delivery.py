"""Sending to Telegram: flood limits and 429s, retries, long text, media, command menus.

These are about the transport, not storage, so they run on SQLite only (the local `settings`
fixture replaces the one that runs each test on both databases).
"""

from __future__ import annotations

import asyncio
import io

import pytest
from PIL import Image

from bot.channel import ChannelError, DownloadError
from bot.channels.telegram_outbox import Limits, RateWindow
from bot.messages import Attachment, AttachmentKind, Button, ChatKind, ChatRef, Reply
from bot.settings import Settings, load_settings
from handlers.router import command_menu
from prompts import available_languages
from tests.fake_telegram import FakeTelegram, User
from tests.telegram_driver import labels, telegram_bot, texts

QUICK = Limits(backoff=0.02, attempts=4)
ANA, BEA = User(1001, "Ana"), User(1002, "Bea")
# PTB's own RetryAfter constructor reads its deprecated int-or-timedelta attribute and warns.
pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after`:DeprecationWarning")


@pytest.fixture
def settings(tmp_path) -> Settings:
    return load_settings(data_dir=tmp_path / "data")


def chat_of(user: User) -> ChatRef:
    return ChatRef("telegram", str(user.id), ChatKind.PRIVATE)


async def test_a_429_storm_pauses_only_that_chat_and_loses_nothing(settings: Settings) -> None:
    async with FakeTelegram() as fake, telegram_bot(settings, fake, limits=QUICK) as bot:
        fake.fail("sendMessage", 429, times=1, retry_after=1, chat_id=ANA.id)
        loop = asyncio.get_running_loop()
        started = loop.time()

        async def five(user: User) -> float:
            for n in range(5):
                await bot.channel.send(chat_of(user), Reply(f"{user.first_name} {n}"))
            return loop.time() - started

        ana_took, _ = await asyncio.gather(five(ANA), five(BEA))
        assert ana_took >= 1.0  # retry_after honoured
        for user in (ANA, BEA):
            assert [m["text"] for m in fake.sent_to(user.id)] == [
                f"{user.first_name} {n}" for n in range(5)
            ]
        # Bea was never held up by Ana's pause: all of hers went out before Ana's first.
        order = [m["chat"]["id"] for m in fake.sent]
        assert order == [BEA.id] * 5 + [ANA.id] * 5

        # The same through a conversation: the reply waits out the storm and arrives.
        fake.fail("sendMessage", 429, times=1, retry_after=1, chat_id=ANA.id)
        said = await bot.chat.say(ANA, "/help")
        assert "/start" in texts(said)


async def test_network_errors_are_retried_then_reported(settings: Settings) -> None:
    async with FakeTelegram() as fake, telegram_bot(settings, fake, limits=QUICK) as bot:
        fake.fail("sendMessage", 502, times=2)
        fake.fail("sendMessage", 500, times=1)
        await bot.channel.send(chat_of(ANA), Reply("after three failures"))
        assert texts(fake.sent_to(ANA.id)) == "after three failures"

        fake.fail("sendMessage", 500, times=QUICK.attempts)
        with pytest.raises(ChannelError, match="not delivered"):
            await bot.channel.send(chat_of(ANA), Reply("never"))
        fake.fail("sendMessage", 403, times=1)
        with pytest.raises(ChannelError, match="not delivered"):
            await bot.channel.send(chat_of(BEA), Reply("blocked"))
        with pytest.raises(ChannelError, match="cannot download"):
            await bot.channel.download(Attachment(AttachmentKind.PHOTO, ref="no-such-file"))
        assert len(fake.sent) == 1


async def test_a_file_telegram_cannot_provide_is_a_download_error(settings: Settings) -> None:
    async with FakeTelegram() as fake, telegram_bot(settings, fake, limits=QUICK) as bot:

        async def download(ref: str) -> bytes:
            return await bot.channel.download(Attachment(AttachmentKind.DOCUMENT, ref=ref))

        stored = fake.add_file(b"%PDF-1.4 minutes", "minutes.pdf")["file_id"]
        with pytest.raises(DownloadError, match="cannot download a document"):
            await download("no-such-file")  # getFile: 400 "invalid file_id"
        for answer in ("file is too big", "wrong file_id or the file is temporarily unavailable"):
            fake.fail("getFile", 400, description=f"Bad Request: {answer}")
            with pytest.raises(DownloadError, match=f"(?i){answer}"):
                await download(stored)
        fake.fail("file", 404)  # the download link is no longer valid
        with pytest.raises(DownloadError, match="no longer has it"):
            await download(stored)
        # Network trouble is no reason to ask for the file again: retried, then a ChannelError.
        fake.fail("getFile", 502, times=2)
        fake.fail("file", 503, times=1)
        assert await download(stored) == b"%PDF-1.4 minutes"
        fake.fail("getFile", 502, times=QUICK.attempts)
        with pytest.raises(ChannelError, match="cannot download") as failed:
            await download(stored)
        assert not isinstance(failed.value, DownloadError)


async def test_long_text_is_split_and_media_are_uploaded(settings: Settings) -> None:
    async with FakeTelegram() as fake, telegram_bot(settings, fake) as bot:
        paragraph = "word " * 700
        long = "\n\n".join([paragraph.strip()] * 3)  # about 10,500 characters
        await bot.channel.send(chat_of(ANA), Reply(long, buttons=(Button("OK", "1:ok"),)))
        pieces = fake.sent_to(ANA.id)
        assert len(pieces) == 3 and all(len(m["text"]) <= 4096 for m in pieces)
        assert " ".join(m["text"] for m in pieces).split() == long.split()
        assert [labels(m) for m in pieces] == [[], [], ["OK"]]
        # Sent as plain text: user content needs no escaping and is never taken for markup.
        await bot.channel.send(chat_of(BEA), Reply("<b>not bold</b> & *plain*"))
        assert fake.sent_to(BEA.id)[0]["text"] == "<b>not bold</b> & *plain*"
        assert all("parse_mode" not in params for _, params in fake.calls)

        picture = io.BytesIO()
        Image.new("RGB", (8, 8), "red").save(picture, format="PNG")
        await bot.channel.send(chat_of(BEA), Reply("A chart", photo=picture.getvalue()))
        await bot.channel.send(
            chat_of(BEA), Reply("x" * 1500, document=b"a,b\n1,2\n", filename="diary.csv")
        )
        photo, document, caption_too_long = fake.sent_to(BEA.id)[1:]
        assert photo["caption"] == "A chart" and photo["bytes"] == picture.getvalue()
        assert (
            document["bytes"] == b"a,b\n1,2\n" and document["document"]["file_name"] == "diary.csv"
        )
        assert caption_too_long["text"] == "x" * 1500  # over the 1024 caption limit: own message


async def test_command_menus_are_registered_per_language(settings: Settings) -> None:
    async with FakeTelegram() as fake, telegram_bot(settings, fake):
        # Registered in the background, beside the first messages.
        await fake.wait_until(lambda: len(fake.commands) == len(available_languages()) + 1)
        assert set(fake.commands) == {None, *available_languages()}
        for language in available_languages():
            assert fake.commands[language] == command_menu(language)
        assert fake.commands[None] == command_menu(settings.default_language)
        scopes = {p["scope"]["type"] for method, p in fake.calls if method == "setMyCommands"}
        assert scopes == {"all_private_chats"}


async def test_a_rate_slot_comes_back_a_period_after_its_call_returned() -> None:
    """However the calls bunch, a slot is reused only a whole period after its call ended, so
    the server never sees more than `limit` calls in one period (they reach it before they end).
    Timing only orders events here: a busy machine makes the calls sparser, never denser."""
    window = RateWindow(limit=3, period=0.2)
    loop = asyncio.get_running_loop()
    spans: list[tuple[float, float]] = []

    async def call() -> None:
        async with window.slot():
            began = loop.time()
            await asyncio.sleep(0.03)
            spans.append((began, loop.time()))

    await asyncio.gather(*(call() for _ in range(9)))
    spans.sort()
    assert len(spans) == 9
    for earlier, later in zip(spans, spans[3:], strict=False):
        assert later[0] >= earlier[1] + 0.2
