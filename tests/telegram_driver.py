"""Chatting with the whole bot on Telegram through the fake Bot API server.

`Chatter` wraps the dispatcher a channel is started with, so a test can wait until an injected
update has been handled and its replies sent, instead of sleeping; `telegram_bot` runs the app
with its Telegram channel pointed at a `FakeTelegram`.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from bot.app import App, build_app
from bot.channel import Dispatch
from bot.channels.telegram import TelegramChannel
from bot.messages import Incoming
from bot.settings import Settings
from tests.fake_telegram import FakeTelegram, User


class Chatter:
    """Chats with a running bot through the fake server, waiting until each update is handled.

    Start the channel with `chatter.dispatch` in place of the app's dispatcher: it counts the
    messages each chat has had handled (replies included), so `say`/`press`/`send` return once
    the bot has answered, with the messages it posted meanwhile.
    """

    def __init__(self, fake: FakeTelegram, dispatch: Dispatch) -> None:
        self.fake = fake
        self._dispatch = dispatch
        self._handled: defaultdict[str, int] = defaultdict(int)
        self._expected: defaultdict[str, int] = defaultdict(int)
        self._done = asyncio.Condition()

    async def dispatch(self, msg: Incoming) -> None:
        try:
            await self._dispatch(msg)
        finally:
            async with self._done:
                self._handled[msg.chat.chat_id] += 1
                self._done.notify_all()

    async def say(
        self, user: User, text: str = "", *, chat: dict | None = None, **content: Any
    ) -> list[dict[str, Any]]:
        """Send a message as `user` and return what the bot posted (anywhere) until handled."""
        return await self._handled_after(
            (chat or user.chat)["id"], self.fake.message(user, text, chat=chat, **content)
        )

    async def update(self, chat_id: int, body: dict[str, Any]) -> list[dict[str, Any]]:
        """Inject a raw update about `chat_id`; what the bot posted (anywhere) until handled."""
        return await self._handled_after(chat_id, self.fake.inject(body))

    async def edit(self, user: User, message: dict[str, Any], text: str) -> list[dict[str, Any]]:
        """Edit a message `user` sent earlier to say `text`; what the bot posted until handled."""
        edited = {**message, "text": text, "edit_date": message["date"] + 1}
        return await self._handled_after(
            message["chat"]["id"], self.fake.inject({"edited_message": edited})
        )

    async def press(
        self, user: User, label: str, *, chat: dict | None = None
    ) -> list[dict[str, Any]]:
        """Press a button as `user` and return what the bot posted until handled."""
        chat_id = (chat or user.chat)["id"]
        return await self._handled_after(chat_id, self.fake.press(user, label, chat=chat))

    async def _handled_after(self, chat_id: int, injecting: Any) -> list[dict[str, Any]]:
        before = len(self.fake.sent)
        key = str(chat_id)
        self._expected[key] += 1
        await injecting
        async with asyncio.timeout(60), self._done:
            await self._done.wait_for(lambda: self._handled[key] >= self._expected[key])
        return self.fake.sent[before:]


def texts(messages: list[dict[str, Any]]) -> str:
    """The texts and captions of posted messages, joined, for substring assertions."""
    return "\n".join(m.get("text") or m.get("caption") or "" for m in messages)


def labels(message: dict[str, Any]) -> list[str]:
    """The button labels under a posted message."""
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [button["text"] for row in rows for button in row]


@dataclass
class RunningBot:
    """The app with its Telegram channel, and a chatter to talk to it."""

    app: App
    channel: TelegramChannel
    chat: Chatter


@asynccontextmanager
async def telegram_bot(
    settings: Settings, fake: FakeTelegram, **channel_options: Any
) -> AsyncIterator[RunningBot]:
    """The whole bot on Telegram, pointed at `fake`, running until the block ends."""
    channel = TelegramChannel(fake.configure(settings), **channel_options)
    app = await build_app(settings, {channel.platform: channel})
    chatter = Chatter(fake, app.dispatcher)
    try:
        await channel.start(chatter.dispatch)
        yield RunningBot(app, channel, chatter)
    finally:
        await channel.stop()
        await app.db.close()
