"""Handing Matrix events to the dispatcher: one room at a time, in timeline order.

Each event becomes a task that first waits for the room's previous task, so a conversation never
overtakes itself, not even while a message waits for its room key (an encrypted message can
arrive a sync before the key that opens it). Different rooms proceed concurrently.

Messages and people's reactions are dispatched (`matrix_events`); every other event, such as a
reaction's removal (a redaction), is passed over, though still counted as handled.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from typing import Any

from nio import AsyncClient, MatrixRoom, MegolmEvent
from nio.exceptions import EncryptionError, LocalProtocolError

from bot.channel import Dispatch
from bot.channels.matrix_events import (
    PLATFORM,
    chat_for,
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
        previous = self._tails.get(room.room_id)
        task = asyncio.create_task(self._handle(previous, room, event))
        self._tails[room.room_id] = task
        task.add_done_callback(lambda done: self._forget(room.room_id, done))
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

    async def _handle(
        self, previous: asyncio.Task[None] | None, room: MatrixRoom, event: Any
    ) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        HANDLING.set(True)  # this task's own context: choices offered now wait for the checkpoint
        try:
            if event.sender == self.client.user_id:
                return  # the bot's own, possibly from a former device that alone had its key
            msg = await self._incoming(room, event)
            if msg is not None:
                await self.dispatch(msg)
        except Exception:  # one bad event must not stop the room's later ones
            log.exception("handling Matrix event %s in %s failed", event.event_id, room.room_id)

    async def _incoming(self, room: MatrixRoom, event: Any) -> Incoming | None:
        """The neutral message of a person's event, decrypted; None for one passed over."""
        own = self.client.user_id
        sender_id = event.source["sender"]
        chat = chat_for(
            room.room_id, members=room.member_count, name=room.name, title=room.display_name
        )
        sender = Sender(PLATFORM, sender_id, room.user_name(sender_id) or sender_id)
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
