"""Runs each incoming message through the handlers and delivers the replies.

Messages of one chat are handled one at a time and in order (a conversation never races with
itself); different chats proceed concurrently. Each message gets its own database session that
is committed before any reply is sent, so what the user said is saved even if delivery fails.
What arrives is cleaned first (`bot.inbound`), and the session carries the acting person, so
the consent rule (`storage.guard`) holds for every write a handler makes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from datetime import datetime

from bot.channel import Channel, ChannelError, ShowsWork
from bot.inbound import cleaned
from bot.messages import Attachment, Button, ChatKind, ChatRef, Incoming, Reply
from bot.prefetch import Download, prefetch
from bot.settings import Settings
from handlers.context import Context
from handlers.hub import taken_out
from handlers.routing import Table, route
from prompts import Translator, hinted
from storage.arrival import arrive
from storage.clusters import hub_at
from storage.db import Database
from storage.guard import ConsentRequired, act_as
from storage.media import MediaStore
from storage.models import Cluster
from storage.people import find_identity, mark_unreachable
from storage.types import utcnow

log = logging.getLogger(__name__)


class ChatLocks:
    """One lock per chat, dropped again when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        """Hold the lock of chat `key` for the duration of the block."""
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


class Dispatcher:
    """Connects channels to the routing table."""

    def __init__(
        self,
        *,
        db: Database,
        settings: Settings,
        media: MediaStore,
        table: Table,
        channels: Mapping[str, Channel],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.clock = clock  # the one seam handlers read the time through (`ctx.now`)
        # Called after a handler planned messages due now (set by the app to the scheduler's).
        self.wake: Callable[[], None] | None = None
        self.settings = settings
        self.media = media
        self.table = table
        self.channels = dict(channels)
        self.locks = ChatLocks()
        # Messages beyond this wait their turn; the database pool is sized to match.
        self.slots = asyncio.Semaphore(settings.max_concurrent_messages)

    async def __call__(self, msg: Incoming) -> None:
        """Handle one message and deliver the replies (the `Dispatch` callback of channels)."""
        usable = cleaned(msg)
        if usable is None:
            # No platform issues ids this long: a forged or broken event, not a person to answer.
            log.warning("dropped a %s message: unusable sender or chat id", msg.chat.platform)
            return
        msg = usable
        # Replies go out before the chat's next message is handled, so they never interleave.
        async with self.locks.hold(msg.chat.key):
            channel = self.channels.get(msg.chat.platform)
            download = None
            if channel is not None and msg.attachments:
                limit = self.settings.max_upload_bytes
                async with _at_work(channel, msg.chat):  # a video takes a while to fetch
                    download = await prefetch(channel, msg, limit=limit)
            async with self.slots:
                replies = await self.handle(msg, download)
            for reply in replies:
                await self.deliver(reply.chat or msg.chat, reply)

    async def handle(self, msg: Incoming, download: Download | None = None) -> list[Reply]:
        """Run the handlers for one message and commit; returns the replies to deliver.

        `download` fetches the message's attachments (by default straight from its channel).
        """
        language = None
        try:
            if msg.anonymous:
                return await self._anonymous(msg)
            if msg.removed:
                async with self.db.session() as session:
                    hub = await hub_at(
                        session, platform=msg.chat.platform, chat_id=msg.chat.chat_id
                    )
                    # A Matrix room's kind is a guess once people left: a hub is a hub.
                    if hub is not None:  # nothing is kept of who took the bot out of it
                        default = self.settings.default_language
                        return await taken_out(session, hub=hub, chat=msg.chat, language=default)
                    if msg.chat.kind == ChatKind.PRIVATE:  # the person blocked the bot
                        await mark_unreachable(
                            session,
                            platform=msg.sender.platform,
                            external_id=msg.sender.user_id,
                            chat_id=msg.chat.chat_id,
                            now=self.clock(),
                        )
                    return []
            async with self.db.session() as session:
                if msg.deleted_of is not None and not await find_identity(
                    session, platform=msg.sender.platform, external_id=msg.sender.user_id
                ):
                    return []  # nothing of a stranger's is kept, so nothing to take out
                arrival = await arrive(
                    session,
                    platform=msg.sender.platform,
                    external_id=msg.sender.user_id,
                    chat_key=msg.chat.key,
                    consent_version=self.settings.consent_version,
                )
                identity, person, state = arrival.identity, arrival.person, arrival.state
                assert person.id is not None
                language = person.language
                act_as(
                    session,
                    person_id=person.id,
                    consent_version=self.settings.consent_version,
                    consented=arrival.consented,
                )
                private = msg.chat.kind == ChatKind.PRIVATE
                if private and (
                    identity.private_chat_id != msg.chat.chat_id
                    or identity.unreachable_since is not None
                ):
                    # Written to privately: this chat is where they can be reached, block or not.
                    identity.private_chat_id = msg.chat.chat_id
                    identity.unreachable_since = None
                    session.add(identity)
                ctx = Context(
                    msg=msg,
                    session=session,
                    settings=self.settings,
                    media=self.media,
                    download=download or self._downloader(msg.chat.platform),
                    identity=identity,
                    person=person,
                    state=state,
                    t=Translator(self._language(person.language, msg)),
                    now=self.clock(),
                    consent_outdated=arrival.outdated,
                )
                replies = await route(self.table, ctx)
                if not ctx.erased:
                    session.add(state)  # written here, once: the state is not tracked until now
            if ctx.wake and self.wake is not None:
                self.wake()  # after the commit, so the rows it should send are there
            for produce in ctx.later:
                try:
                    replies += await produce()
                except Exception:  # what was saved and said stands; only this part is missing
                    log.exception("a reply made after the commit in %s failed", msg.chat.key)
            return replies
        except ConsentRequired:
            # Rolled back whole: the conversation stays where it was, nothing half-written.
            t = Translator(self._language(language, msg))
            consent = Button(t("buttons.consent"), "/consent")
            return [Reply(t("errors.consent_withdrawn"), buttons=(consent,))]
        except Exception:
            log.exception("handling a message in %s failed", msg.chat.key)
            return [Reply(Translator(self._language(language, msg))("errors.internal"))]

    async def _anonymous(self, msg: Incoming) -> list[Reply]:
        """A command of ours sent in a group's name: say why it is not run, in the hub's language.

        Nothing is stored: there is nobody to store it for. Anything else (another bot's
        command, an unknown one) gets the silence groups get.
        """
        if msg.command not in self.table.commands:
            return []
        async with self.db.session() as session:
            hub = await hub_at(session, platform=msg.chat.platform, chat_id=msg.chat.chat_id)
            cluster = await session.get(Cluster, hub.cluster_id) if hub else None
        language = cluster.language if cluster else self.settings.default_language
        return [Reply(Translator(language)("errors.anonymous"))]

    async def deliver(self, chat: ChatRef, reply: Reply) -> None:
        """Send one reply through the channel of the chat's platform."""
        channel = self.channels.get(chat.platform)
        if channel is None:
            log.error("no channel for %s; reply to %s not delivered", chat.platform, chat.key)
            return
        try:
            await channel.send(chat, reply)
        except ChannelError:
            log.exception("delivering a reply to %s failed", chat.key)

    def _downloader(self, platform: str) -> Download:
        async def download(attachment: Attachment) -> bytes:
            return await self.channels[platform].download(attachment)

        return download

    def _language(self, chosen: str | None, msg: Incoming) -> str:
        return chosen or hinted(msg.sender.language_hint) or self.settings.default_language


# How often "typing…" is shown again while a file is fetched: the platforms show it ~5 s.
AT_WORK_EVERY_S = 4.0


@asynccontextmanager
async def _at_work(channel: object, chat: ChatRef) -> AsyncIterator[None]:
    """Show the chat the bot is at work for as long as the block runs, where the channel can.

    Only in private chats: in a group, most files are not for the bot, which says nothing.
    """
    if not isinstance(channel, ShowsWork) or chat.kind != ChatKind.PRIVATE:
        yield
        return

    async def keep_showing() -> None:
        while True:
            try:
                await channel.working(chat)
            except Exception:  # a courtesy only: never a reason to fail the message
                log.exception("showing work in %s failed", chat.key)
                return
            await asyncio.sleep(AT_WORK_EVERY_S)

    showing = asyncio.create_task(keep_showing())
    try:
        yield
    finally:
        showing.cancel()
        # Waited for, so no "typing" call still in flight lands after the reply.
        with suppress(asyncio.CancelledError):
            await showing
