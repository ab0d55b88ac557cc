"""The Telegram channel: the bot on Telegram through python-telegram-bot's `Bot`.

Long polling by default, through our own getUpdates loop (`telegram_polling.Poller`), which
confirms an update to Telegram only once it has been handled, so a crash cannot lose one. It
hands over each new update as Telegram sent it (JSON), and the channel builds it into PTB's
`Update`; one PTB cannot build is logged (its id, kind and the error's type, never its content)
and skipped, so it is confirmed and cannot stop the bot.
Webhook mode when `telegram_webhook_url` is set, through PTB's `Updater` (its webhook server
listens on `telegram_webhook_listen` and checks the secret token Telegram sends with each
update). The Bot API base URLs are settings, so a local Bot API server can stand in for
Telegram's. HTTP goes through aiohttp, and text replies skip building PTB's `Message` from
the answer (`telegram_client`).

PTB's object model stays on the way in. Building our `Incoming` straight from the JSON was
measured and does not pay: `Update.de_json` plus `to_incoming` take 75-170 us an update against
4 us for a prototype reading the JSON directly, but that is 0.5-1.8 % of the event loop's CPU
in a burst of diary messages (py-spy, 20 chats x 50 messages, three runs; the database is about
two thirds, sending 8-12 %), while a second reader of Telegram's schema (media kinds, photo
sizes, albums, group upgrades, button presses) would have to be kept right beside PTB's, which
webhook mode uses anyway.

PTB's `Application` is not used: the neutral dispatcher already does what it would (routing,
errors) and already keeps each chat in order with a FIFO lock per chat. So updates are taken one
by one, in arrival order, and each is handed to the dispatcher in its own task: one chat's
messages are handled one at a time and in order, different chats concurrently. Sending goes
through `Outbox` (flood limits, 429s, retries). `benchmarks/telegram_echo.py` measures the
whole stack against PTB's own echo bot.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Coroutine
from functools import partial
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.constants import ChatAction
from telegram.error import BadRequest, InvalidToken, TelegramError

from bot.channel import ChannelError, Dispatch, DownloadError
from bot.channels.telegram_calls import acknowledge, edit, post, register_menus
from bot.channels.telegram_client import JSON, AiohttpRequest, RawBot
from bot.channels.telegram_convert import (
    PLATFORM,
    ButtonData,
    Part,
    edit_of,
    parts_of,
    to_incoming,
)
from bot.channels.telegram_outbox import Limits, Outbox
from bot.channels.telegram_polling import Poller
from bot.messages import Attachment, ChatKind, ChatRef, Incoming, Reply
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.channels.telegram_webhook import Webhook

log = logging.getLogger(__name__)
# How Telegram refuses a post to a forum topic that no longer exists.
TOPIC_GONE = "message thread not found"

ALLOWED_UPDATES = [
    Update.MESSAGE,
    Update.EDITED_MESSAGE,
    Update.CALLBACK_QUERY,
    Update.MY_CHAT_MEMBER,  # the bot added to or taken out of a chat
]
# Updates being handled at once; beyond this, reading waits (keeps the database pool unstarved).
MAX_IN_FLIGHT = 64
# Connections for sending: the outbox paces to ~30 calls/s, so a few in parallel are plenty.
CONNECTIONS = 8


class TelegramChannel:
    """A channel adapter for one Telegram bot."""

    platform = PLATFORM

    def __init__(
        self,
        settings: Settings,
        *,
        limits: Limits | None = None,
        poll_timeout: float = 10.0,
        repoll: float = 0.5,
    ) -> None:
        if settings.telegram_token is None:
            raise ChannelError("DIARYBOT_TELEGRAM_TOKEN is not set")
        self.settings = settings
        self.poll_timeout = poll_timeout
        self.repoll = repoll
        self.bot = RawBot(
            settings.telegram_token.get_secret_value(),
            base_url=settings.telegram_api_url,
            base_file_url=settings.telegram_file_url,
            request=AiohttpRequest(connections=CONNECTIONS, pool_timeout=30.0),
            get_updates_request=AiohttpRequest(connections=1),
        )
        self.outbox = Outbox(limits)
        self.buttons = ButtonData()
        # Edits waiting to be sent, by (chat, message): the newest text of each.
        self._newest_edit: dict[tuple[str, str], Reply] = {}
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._tasks: set[asyncio.Task[None]] = set()
        # Polling mode: our getUpdates loop and the task running it.
        self._poller: Poller | None = None
        self._polling: asyncio.Task[None] | None = None
        self._webhook: Webhook | None = None  # webhook mode
        self._failure: str | None = None
        self._closed = asyncio.Event()

    async def start(self, dispatch: Dispatch) -> None:
        """Check the token, start receiving updates and register the command menus.

        The menus are registered in the background, so the first messages are not kept waiting
        behind eight setMyCommands calls; a menu that cannot be set is only logged.

        Raises:
            ChannelError: the token is refused, the Bot API cannot be reached, or the webhook
                cannot be set up.
        """
        try:
            await self.outbox.call(self.bot.initialize, what="getMe")
            if self.settings.telegram_webhook_url is None:
                await self._start_polling(dispatch)
            else:
                await self._start_webhook(dispatch, self.settings.telegram_webhook_url)
            menus = partial(register_menus, self.bot, self.outbox, self.settings.default_language)
            self._spawn(menus())
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

    async def _start_polling(self, dispatch: Dispatch) -> None:
        # getUpdates is refused while a webhook is set, so a start in polling mode removes it.
        await self.outbox.call(self.bot.delete_webhook, what="deleteWebhook")
        self._poller = Poller(
            self.bot,
            partial(self._accept_json, dispatch),
            timeout=self.poll_timeout,
            allowed_updates=ALLOWED_UPDATES,
            limits=self.outbox.limits,
            repoll=self.repoll,
            capacity=MAX_IN_FLIGHT,
        )
        self._polling = asyncio.create_task(self._poll(self._poller))

    async def _poll(self, poller: Poller) -> None:
        """Run the poller; if it ends on its own, the channel is closed and says why."""
        try:
            await poller.run()
        except ChannelError as exc:
            self._failure = str(exc)
        except Exception as exc:  # a bug: better a loud stop than a bot that silently stops reading
            log.exception("telegram: receiving updates failed")
            self._failure = f"telegram: receiving updates failed: {exc!r}"
        self._closed.set()

    async def _start_webhook(self, dispatch: Dispatch, url: str) -> None:
        # Imported here: PTB's webhook server (telegram.ext, tornado) costs 8 MiB and 40 ms of
        # every start in polling mode, which never uses it.
        from bot.channels.telegram_webhook import Webhook

        self._webhook = Webhook(self.bot, partial(self._accept, dispatch))
        secret = self.settings.telegram_webhook_secret
        await self._webhook.start(
            url=url,
            listen=self.settings.telegram_webhook_listen,
            secret=secret.get_secret_value() if secret else None,
            allowed_updates=ALLOWED_UPDATES,
        )

    async def wait_closed(self) -> None:
        """Return once the channel has been stopped.

        Raises:
            ChannelError: the channel stopped on its own, because Telegram refused the token
                while it was running or another process uses the same token.
        """
        await self._closed.wait()
        if self._failure is not None:
            raise ChannelError(self._failure)

    async def stop(self) -> None:
        """Stop receiving, finish the updates already taken in and confirm them, disconnect."""
        if self._polling is not None:
            # Cancelling a pending getUpdates is safe: what it fetched is not confirmed yet.
            self._polling.cancel()
            await asyncio.wait([self._polling])
            self._polling = None
        if self._webhook is not None:
            await self._webhook.stop()
            self._webhook = None
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        # After a failure, not even the confirming getUpdates: with the token refused it fails
        # anyway, and with another instance polling it would cut that one's long poll off.
        if self._poller is not None and self._failure is None:
            await self._poller.confirm()
        await self.bot.shutdown()
        self._closed.set()

    async def send(self, chat: ChatRef, reply: Reply) -> list[str]:
        """Deliver a reply (in several messages if long), paced and retried.

        In a forum group, posts go to the chat's topic (`ChatRef.thread`), General without one or
        when the topic has been deleted.
        Returns the ids of the messages posted, in order. A reply with `edit` set is one
        editMessageText instead, paced like a post (edits count against a group's limit too),
        and returns the edited message's id; an edit that changes nothing is no error.

        Raises:
            ChannelError: Telegram refused the message or the edit, or it still failed after
                the retries.
        """
        group = chat.kind == ChatKind.GROUP
        if reply.edit is not None:
            return await self._edit(chat, reply.edit, reply)
        ids: list[str] = []
        link = f"https://t.me/{self.bot.username}" if group else None
        topic = int(chat.thread) if chat.thread and chat.thread.isdigit() else None
        for part in parts_of(reply, self.buttons, link=link):
            try:
                ids.append(await self._post(chat, part, topic))
            except TelegramError as exc:
                raise ChannelError(f"telegram: not delivered to {chat.key}: {exc}") from exc
        return ids

    async def _post(self, chat: ChatRef, part: Part, topic: int | None) -> str:
        """Post one part in the forum topic `topic`, or in General once the topic is deleted."""
        call = partial(post, self.bot, int(chat.chat_id), part, topic)
        try:
            return await self.outbox.deliver(chat.chat_id, call, group=chat.kind == ChatKind.GROUP)
        except BadRequest as exc:
            if topic is None or TOPIC_GONE not in str(exc).lower():
                raise
        log.info("telegram: topic %s of %s is gone; posting in General", topic, chat.key)
        return await self._post(chat, part, None)

    async def _edit(self, chat: ChatRef, message_id: str, reply: Reply) -> list[str]:
        """Edit a message; edits of one message waiting their turn collapse into the newest.

        Twenty answers pressed in a hub within a minute would otherwise queue twenty edits of
        the same post behind the group's limit of 20 messages a minute; only the last one shows.
        """
        if not message_id.isdigit():  # Telegram's message ids are positive integers
            raise ChannelError(f"telegram: no message {message_id!r} to edit in {chat.key}")
        key = (chat.chat_id, message_id)
        queued = key in self._newest_edit
        self._newest_edit[key] = reply
        if queued:
            return [message_id]  # the edit already waiting will carry this text
        taken: list[Reply] = []

        async def call() -> None:
            # The newest text when the call goes out; a retry sends what the first try took,
            # unless a newer one came meanwhile.
            newest = self._newest_edit.pop(key, None) or (taken[-1] if taken else reply)
            taken.append(newest)
            link = f"https://t.me/{self.bot.username}" if chat.kind == ChatKind.GROUP else None
            part = edit_of(newest, self.buttons, link=link)
            await edit(self.bot, int(chat.chat_id), int(message_id), part)

        try:
            await self.outbox.deliver(chat.chat_id, call, group=chat.kind == ChatKind.GROUP)
        except TelegramError as exc:
            raise ChannelError(f"telegram: not edited in {chat.key}: {exc}") from exc
        finally:
            if not taken:  # never called (given up before): later edits must not wait on it
                self._newest_edit.pop(key, None)
        return [message_id]

    async def working(self, chat: ChatRef) -> None:
        """Show "typing…" in the chat (Telegram shows it for five seconds or until a message)."""
        action = partial(self.bot.send_chat_action, int(chat.chat_id), ChatAction.TYPING)
        try:
            await self.outbox.call(action, what=f"chat action in {chat.key}")
        except TelegramError as exc:  # only a courtesy: the work goes on without it
            log.info("telegram: no chat action in %s: %s", chat.key, exc)

    async def download(self, attachment: Attachment) -> bytes:
        """Fetch an attachment's bytes by its file id; network errors and 5xx are retried.

        Raises:
            DownloadError: Telegram cannot provide the file: getFile answers 400 (the file is
                too big for the Bot API, the file id is wrong or has expired), or the file
                server no longer has it (404).
            ChannelError: Telegram could not be reached, or still failed after the retries.
        """
        what = f"telegram: cannot download a {attachment.kind}"

        async def fetch() -> bytes:
            try:
                file = await self.bot.get_file(attachment.ref)
            except BadRequest as exc:
                raise DownloadError(f"{what}: {exc}") from exc
            try:
                return bytes(await file.download_as_bytearray())
            except InvalidToken as exc:  # how PTB reports the file server's 404
                raise DownloadError(f"{what}: the file server no longer has it") from exc

        try:
            return await self.outbox.call(fetch, what=f"file {attachment.ref}")
        except TelegramError as exc:
            raise ChannelError(f"{what}: {exc}") from exc

    async def _accept_json(self, dispatch: Dispatch, data: JSON) -> asyncio.Task[None] | None:
        """Build a polled update and start handling it; one that cannot be built is skipped."""
        try:
            update = Update.de_json(data, self.bot)
        except Exception as exc:  # PTB cannot build it: skipped, so it gets confirmed
            _skipped(data, "python-telegram-bot cannot build it", exc)
            return None
        return await self._accept(dispatch, update)

    async def _accept(self, dispatch: Dispatch, update: Update) -> asyncio.Task[None] | None:
        """Start handling one update; returns the task handling it, None if there is none."""
        try:
            msg = to_incoming(update, username=self.bot.username, buttons=self.buttons)
        except Exception as exc:  # one odd update must not stop the reading and silence the bot
            _skipped(update.to_dict(recursive=False), "it cannot be read", exc)
            return None
        if update.callback_query is not None:
            self._spawn(acknowledge(self.bot, self.outbox, update.callback_query))
        if msg is None:
            return None
        # Updates are accepted one after another and the task is started without awaiting
        # anything after the slot, so each task reaches the dispatcher's chat lock in order.
        await self._slots.acquire()
        return self._spawn(self._handle(dispatch, msg))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _handle(self, dispatch: Dispatch, msg: Incoming) -> None:
        try:
            await dispatch(msg)
        except Exception:  # the dispatcher answers handler errors itself; this is the last net
            log.exception("telegram: handling a message in %s failed", msg.chat.key)
        finally:
            self._slots.release()


def _skipped(data: JSON, why: str, exc: Exception) -> None:
    """Log an update that is skipped: its id, kind and the error, never what it says.

    Updates carry people's messages, so neither the update nor the error's text (which may quote
    it) is logged; the error's type and the line raising it say enough to find the cause.
    """
    kind = ", ".join(key for key in data if key != "update_id") or "empty"
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    log.error(
        "telegram: update %s (%s) skipped, %s: %s%s",
        data.get("update_id"),
        kind,
        why,
        type(exc).__name__,
        where,
    )
