"""The Telegram channel: the bot on Telegram through python-telegram-bot's `Bot` and `Updater`.

Long polling by default; webhook mode when `telegram_webhook_url` is set (PTB's webhook server
listens on `telegram_webhook_listen` and checks the secret token Telegram sends with each update).
The Bot API base URLs are settings, so a local Bot API server can stand in for Telegram's.

PTB's `Application` is not used: the neutral dispatcher already does what it would (routing,
errors) and already keeps each chat in order with a FIFO lock per chat. So updates are read from
the updater's queue one by one and each is handed to the dispatcher in its own task, started in
arrival order: one chat's messages are handled one at a time and in order, different chats
concurrently (`benchmarks/telegram_updates.py` measures this against PTB's
`concurrent_updates`). Sending goes through `Outbox` (flood limits, 429s, retries).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Coroutine
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    CallbackQuery,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ChatType
from telegram.error import InvalidToken, TelegramError
from telegram.ext import Updater
from telegram.request import HTTPXRequest

from bot.channel import ChannelError, Dispatch
from bot.channels.telegram_convert import (
    PLATFORM,
    TEXT_LIMIT,
    ButtonData,
    Part,
    parts_of,
    to_incoming,
    units,
)
from bot.channels.telegram_outbox import Limits, Outbox
from bot.messages import Attachment, ChatKind, ChatRef, Incoming, Reply
from bot.settings import Settings
from handlers.router import command_menu
from prompts import available_languages

log = logging.getLogger(__name__)

ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]
# Updates being handled at once; beyond this, reading waits (keeps the database pool unstarved).
MAX_IN_FLIGHT = 64
# Connections for sending: the outbox paces to ~30 calls/s, so a few in parallel are plenty.
CONNECTIONS = 8
# Link previews would make Telegram's servers fetch the links contributors keep as evidence.
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def _listen_address(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise ChannelError(f"telegram_webhook_listen {listen!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


class TelegramChannel:
    """A channel adapter for one Telegram bot."""

    platform = PLATFORM

    def __init__(
        self, settings: Settings, *, limits: Limits | None = None, poll_timeout: float = 10.0
    ) -> None:
        if settings.telegram_token is None:
            raise ChannelError("DIARYBOT_TELEGRAM_TOKEN is not set")
        self.settings = settings
        self.poll_timeout = poll_timeout
        self.bot = Bot(
            settings.telegram_token.get_secret_value(),
            base_url=settings.telegram_api_url,
            base_file_url=settings.telegram_file_url,
            request=HTTPXRequest(connection_pool_size=CONNECTIONS, pool_timeout=30.0),
            get_updates_request=HTTPXRequest(connection_pool_size=1),
        )
        self.outbox = Outbox(limits)
        self.buttons = ButtonData()
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._updater = Updater(self.bot, self._queue)
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._tasks: set[asyncio.Task[None]] = set()
        self._reader: asyncio.Task[None] | None = None
        self._closed = asyncio.Event()

    async def start(self, dispatch: Dispatch) -> None:
        """Check the token, register the command menus and start receiving updates.

        Raises:
            ChannelError: the token is refused, the Bot API cannot be reached, or the webhook
                cannot be set up.
        """
        try:
            await self.outbox.call(self.bot.initialize, what="getMe")
            await self._register_menus()
            self._reader = asyncio.create_task(self._read(dispatch))
            await self._updater.initialize()
            await self._receive()
        except BaseException as exc:
            await self.stop()
            if isinstance(exc, InvalidToken):
                raise ChannelError(
                    "Telegram refused the bot token (DIARYBOT_TELEGRAM_TOKEN); "
                    "copy it again from @BotFather"
                ) from None
            if isinstance(exc, TelegramError | OSError):
                api = self.settings.telegram_api_url
                raise ChannelError(f"telegram: cannot start ({api}): {exc}") from None
            raise
        log.info("telegram: running as @%s", self.bot.username)

    async def _receive(self) -> None:
        url = self.settings.telegram_webhook_url
        if url is None:
            await self._updater.start_polling(
                timeout=self.poll_timeout, allowed_updates=ALLOWED_UPDATES, bootstrap_retries=3
            )
            return
        host, port = _listen_address(self.settings.telegram_webhook_listen)
        secret = self.settings.telegram_webhook_secret
        await self._updater.start_webhook(
            listen=host,
            port=port,
            url_path=urlsplit(url).path,
            webhook_url=url,
            # Without a configured secret, a fresh one per start still keeps strangers out.
            secret_token=secret.get_secret_value() if secret else secrets.token_urlsafe(32),
            allowed_updates=ALLOWED_UPDATES,
            bootstrap_retries=3,
        )

    async def wait_closed(self) -> None:
        """Return once the channel has been stopped."""
        await self._closed.wait()

    async def stop(self) -> None:
        """Stop receiving, finish the updates already received, then disconnect."""
        if self._updater.running:
            await self._updater.stop()
        if self._reader is not None:
            # The updater has confirmed every update it fetched to Telegram, so each one still
            # queued must be handled now or it would be lost: the reader drains up to the marker.
            await self._queue.put(None)
            await self._reader
            self._reader = None
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._updater.shutdown()
        await self.bot.shutdown()
        self._closed.set()

    async def send(self, chat: ChatRef, reply: Reply) -> None:
        """Deliver a reply (in several messages if long), paced and retried.

        Raises:
            ChannelError: Telegram refused the message or it still failed after the retries.
        """
        for part in parts_of(reply, self.buttons):
            call = partial(self._post, int(chat.chat_id), part)
            try:
                await self.outbox.deliver(chat.chat_id, call, group=chat.kind == ChatKind.GROUP)
            except TelegramError as exc:
                raise ChannelError(f"telegram: not delivered to {chat.key}: {exc}") from exc

    async def download(self, attachment: Attachment) -> bytes:
        """Fetch an attachment's bytes by its file id.

        Raises:
            ChannelError: Telegram no longer has the file or could not be reached.
        """

        async def fetch() -> bytes:
            file = await self.bot.get_file(attachment.ref)
            return bytes(await file.download_as_bytearray())

        try:
            return await self.outbox.call(fetch, what=f"file {attachment.ref}")
        except TelegramError as exc:
            raise ChannelError(f"telegram: cannot download a {attachment.kind}: {exc}") from exc

    async def _post(self, chat_id: int, part: Part) -> object:
        if part.photo is not None:
            return await self.bot.send_photo(
                chat_id, part.photo, caption=part.text or None, reply_markup=part.markup
            )
        if part.document is not None:
            return await self.bot.send_document(
                chat_id,
                part.document,
                caption=part.text or None,
                filename=part.filename,
                reply_markup=part.markup,
            )
        return await self.bot.send_message(
            chat_id, part.text, reply_markup=part.markup, link_preview_options=NO_PREVIEW
        )

    async def _register_menus(self) -> None:
        """The "/" command menu of private chats, once per language plus the default."""
        languages = [None, *available_languages()]
        for language in languages:
            menu = command_menu(language or self.settings.default_language)
            call = partial(
                self.bot.set_my_commands,
                [BotCommand(name, description) for name, description in menu],
                scope=BotCommandScopeAllPrivateChats(),
                language_code=language,
            )
            try:
                await self.outbox.call(call, what=f"setMyCommands {language or 'default'}")
            except TelegramError as exc:
                # The bot works without its menu; say so and carry on.
                log.warning("telegram: command menu for %s not set: %s", language, exc)

    async def _read(self, dispatch: Dispatch) -> None:
        """Take updates off the queue in order, each into its own task, until the marker."""
        while (update := await self._queue.get()) is not None:
            if not isinstance(update, Update):
                continue
            # Converting and starting the task happen without awaiting anything in between,
            # so each task reaches the dispatcher's chat lock in arrival order.
            try:
                msg = to_incoming(update, username=self.bot.username, buttons=self.buttons)
            except Exception:  # one odd update must not stop the reader and silence the bot
                log.exception("telegram: cannot read update %s", update.update_id)
                continue
            if update.callback_query is not None:
                self._spawn(self._acknowledge(update.callback_query))
            if msg is not None:
                await self._slots.acquire()
                self._spawn(self._handle(dispatch, msg))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, dispatch: Dispatch, msg: Incoming) -> None:
        try:
            await dispatch(msg)
        except Exception:  # the dispatcher answers handler errors itself; this is the last net
            log.exception("telegram: handling a message in %s failed", msg.chat.key)
        finally:
            self._slots.release()

    async def _acknowledge(self, query: CallbackQuery) -> None:
        """Stop the button's spinner and show under the message which choice was made.

        Whether the press still counts is the router's business (an outdated one gets a
        polite answer in the chat); this only tidies the pressed message, so failures here
        (the message is too old to edit, say) are logged and otherwise ignored.
        """
        try:
            await self.outbox.call(query.answer, what=f"callback {query.id}")
        except TelegramError as exc:
            log.info("telegram: callback %s not answered: %s", query.id, exc)
        message = query.message
        text = getattr(message, "text", None)
        markup = getattr(message, "reply_markup", None)
        if message is None or not text or markup is None:
            return
        chosen = [
            b.text for row in markup.inline_keyboard for b in row if b.callback_data == query.data
        ]
        edited = f"{text}\n\n✓ {chosen[0]}" if chosen else text
        call = partial(
            self.bot.edit_message_text,
            edited if units(edited) <= TEXT_LIMIT else text,
            chat_id=message.chat.id,
            message_id=message.message_id,
            link_preview_options=NO_PREVIEW,
        )
        group = message.chat.type != ChatType.PRIVATE
        try:
            await self.outbox.deliver(str(message.chat.id), call, group=group)
        except TelegramError as exc:
            log.info("telegram: pressed message not tidied: %s", exc)
