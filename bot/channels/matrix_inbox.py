"""Handing Matrix events to the dispatcher: one room at a time, in timeline order.

Each event becomes a task that first waits for the room's previous task, so a conversation never
overtakes itself, not even while a message waits for its room key (an encrypted message can
arrive a sync before the key that opens it). Different rooms proceed concurrently.

Messages, people's reactions and their redactions (deletions) are dispatched (`matrix_events`);
every other event is passed over, though still counted as handled. A redaction is dispatched
whatever it redacted: a reaction taken back is one, which changes nothing (a meeting's tally keeps
the answer it counted). Once an event has been dispatched (and answered), the bot's read receipt
moves to it, so the sender's client shows it as read.

The channel queues its own work on rooms the same way (`then`): leaving a room, or moving a chat
to the room that replaces it, waits for what was said there before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from contextlib import suppress
from functools import partial
from typing import Any

from nio import AsyncClient, ErrorResponse, MatrixRoom, MegolmEvent
from nio.exceptions import EncryptionError, LocalProtocolError

from bot.channel import Dispatch
from bot.channels.matrix_events import (
    PLATFORM,
    chat_for,
    deletion,
    is_reply_worthy,
    reaction_incoming,
    reaction_of,
    to_incoming,
    undecrypted_reaction,
)
from bot.channels.matrix_outbox import HANDLING, NETWORK_ERRORS, Outbox
from bot.messages import Incoming, Sender

log = logging.getLogger(__name__)

# How long a message whose room key has not arrived yet waits for it.
KEY_WAIT_S = 15.0
# How long a read receipt may take before the room's next message goes ahead without it.
RECEIPT_WAIT_S = 5.0


class Inbox:
    """Turns events into neutral messages and dispatches them in order per room."""

    def __init__(self, client: AsyncClient, outbox: Outbox, dispatch: Dispatch) -> None:
        self.client = client
        self.outbox = outbox
        self.dispatch = dispatch
        self._tails: dict[str, asyncio.Task[None]] = {}
        self._synced = asyncio.Event()

    def put(self, room: MatrixRoom, event: Any) -> asyncio.Task[None]:
        """Start handling `event` after everything already put for the same room."""
        what = f"handling Matrix event {event.event_id} in {room.room_id}"
        return self.then((room.room_id,), lambda: self._handle(room, event), what)

    def then(
        self, room_ids: Iterable[str], work: Callable[[], Awaitable[None]], what: str
    ) -> asyncio.Task[None]:
        """Start `work` after everything already put for these rooms, before what comes later.

        Like a message's handling, whose choices offered wait for the checkpoint (`HANDLING`);
        should it fail, `what` it was is logged.
        """
        rooms = tuple(room_ids)
        previous = [self._tails[room_id] for room_id in rooms if room_id in self._tails]
        task = asyncio.create_task(self._run(previous, work, what))
        for room_id in rooms:
            self._tails[room_id] = task
            task.add_done_callback(partial(self._forget, room_id))
        return task

    def synced(self) -> None:
        """Wake the messages waiting for a room key: a sync may have brought it."""
        self._synced.set()
        self._synced = asyncio.Event()

    async def drain(self) -> None:
        """Return when every event put so far has been handled."""
        if self._tails:
            await asyncio.wait(list(self._tails.values()))

    def _forget(self, room_id: str, task: asyncio.Task[None]) -> None:
        if self._tails.get(room_id) is task:
            del self._tails[room_id]

    async def _run(
        self, previous: list[asyncio.Task[None]], work: Callable[[], Awaitable[None]], what: str
    ) -> None:
        if previous:
            await asyncio.wait(previous)
        HANDLING.set(True)  # this task's own context: choices offered now wait for the checkpoint
        try:
            await work()
        except Exception:  # one failure must not stop the room's later events
            log.exception("%s failed", what)

    async def _handle(self, room: MatrixRoom, event: Any) -> None:
        if event.sender == self.client.user_id:
            return  # the bot's own, possibly from a former device that alone had its key
        msg = await self._incoming(room, event)
        if msg is not None:
            await self.dispatch(msg)
            await self._mark_read(room.room_id, event.event_id)

    async def _mark_read(self, room_id: str, event_id: str) -> None:
        """Move the bot's read receipt to an event it has handled, as a person's client would.

        The sender's client then shows their message as read. A courtesy only: a failure is
        logged, never a reason to fail the message, which has been answered already.
        """
        try:
            # Bounded: the room's next message waits for this one's task to end.
            async with asyncio.timeout(RECEIPT_WAIT_S):
                answer = await self.client.room_read_markers(
                    room_id, fully_read_event=event_id, read_event=event_id
                )
        except (LocalProtocolError, *NETWORK_ERRORS) as exc:
            log.info("matrix: no read receipt for %s in %s: %s", event_id, room_id, exc)
            return
        if isinstance(answer, ErrorResponse):
            log.info("matrix: no read receipt for %s in %s: %s", event_id, room_id, answer.message)

    async def _incoming(self, room: MatrixRoom, event: Any) -> Incoming | None:
        """The neutral message of a person's event, decrypted; None for one passed over."""
        own = self.client.user_id
        sender_id = event.source["sender"]
        chat = chat_for(
            room.room_id, members=room.member_count, name=room.name, title=room.display_name
        )
        sender = Sender(PLATFORM, sender_id, room.user_name(sender_id) or sender_id)
        deleted = deletion(event.source, own, chat=chat, sender=sender)  # never encrypted
        if deleted is not None:
            return deleted
        if isinstance(event, MegolmEvent):
            clear = await self.decrypted(event)
            if clear is None:
                reaction = undecrypted_reaction(event.source, own)
                if reaction is None:  # the person is told, rather than met with silence
                    return Incoming(chat, sender, message_id=event.event_id, unreadable=True)
                return reaction_incoming(event.source, reaction, chat=chat, sender=sender)
            event = clear
        reaction = reaction_of(event.source, own)
        if reaction is not None:
            return reaction_incoming(event.source, reaction, chat=chat, sender=sender)
        if not is_reply_worthy(event.source, own):
            return None
        return await self.outbox.pick(to_incoming(event.source, chat=chat, sender=sender))

    async def decrypted(self, event: MegolmEvent) -> Any | None:
        """The decrypted event, waiting up to `KEY_WAIT_S` for its room key to arrive.

        The key is asked for once from the sender's other devices (a key request), in case it
        was never sent to the bot; None if it does not come in time.
        """
        deadline = asyncio.get_running_loop().time() + KEY_WAIT_S
        requested = False
        while True:
            with suppress(EncryptionError):
                return self.client.decrypt_event(event)
            if not requested:
                requested = True
                with suppress(LocalProtocolError, *NETWORK_ERRORS):
                    await self.client.request_room_key(event)
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                log.warning("no room key arrived for %s from %s", event.event_id, event.sender)
                return None
            with suppress(TimeoutError):
                await asyncio.wait_for(self._synced.wait(), remaining)
