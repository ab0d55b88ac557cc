"""Marking Matrix messages as handled: rooms' last handled events, the choices, the sync token.

Each sync's batch of events gets a checkpoint that waits until the batch, and every batch before
it, has been handled (replies sent), then saves in one transaction the last handled event of
each room that had new events, and the choices offered meanwhile. A batch that brought nothing
to handle (the bot's key messages, say) writes nothing.

What a restart handles is decided by those marks, not by the sync token: a sync from an older
token hands back each room's events since then, and those up to the room's last handled event
are skipped (`matrix_events.first_new_event`); a room with more new events than a sync returns
comes without its mark, and then all of them are new. So the token is saved only now and then
(when none is saved yet, at most every `TOKEN_EVERY_S` with a batch's marks, and at a graceful
stop), to keep what a restart reads back short. Either way a restart continues exactly after
the last answered message, and after a crash only the messages of unfinished batches are
handled again, with the choices that were offered when they were sent.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from bot.channels.matrix_session import SavedValues

log = logging.getLogger(__name__)

TOKEN_EVERY_S = 300.0


class Checkpoints:
    """Saves the handled position of one Matrix account, batch by batch, in order."""

    def __init__(self, saved: SavedValues, offered: Callable[[], dict[str, str]]) -> None:
        """`offered` hands over the choices offered since it was last called (JSON by room)."""
        self.saved = saved
        self.offered = offered
        self.token: str | None = None  # the saved sync token (behind the handled batches)
        # The last event put to be handled per room: ahead of what is saved.
        self.last_handled: dict[str, str] = {}
        self._unsaved_events: dict[str, str] = {}
        self._unsaved_offers: dict[str, str] = {}
        self._handled_token: str | None = None
        self._saved_at = time.monotonic()
        self._last: asyncio.Task[None] | None = None

    async def load(self) -> dict[str, str]:
        """Read the saved token and rooms; returns the choices offered per room (JSON)."""
        self.token = await self.saved.get("sync_token")
        self.last_handled, offered = await self.saved.rooms()
        return offered

    def after(self, token: str, tasks: list[asyncio.Task[None]], handled: dict[str, str]) -> None:
        """Save `token` and `handled` (last event by room) once `tasks` and earlier batches end."""
        self.last_handled.update(handled)
        previous = self._last
        self._last = asyncio.create_task(self._save(token, previous, tasks, handled))

    async def close(self) -> None:
        """Once every batch is handled, save whatever is not saved yet (at a graceful stop)."""
        if self._last is not None:
            await self._last
        self._unsaved_offers.update(self.offered())
        token = self._handled_token if self._handled_token != self.token else None
        if token is not None or self._unsaved_events or self._unsaved_offers:
            await self._write(token)

    async def _save(
        self,
        token: str,
        previous: asyncio.Task[None] | None,
        tasks: list[asyncio.Task[None]],
        handled: dict[str, str],
    ) -> None:
        waiting = [*tasks, *([previous] if previous else [])]
        if waiting:
            await asyncio.wait(waiting)
        self._handled_token = token
        self._unsaved_events.update(handled)
        self._unsaved_offers.update(self.offered())
        token_due = token != self.token and (
            self.token is None or time.monotonic() - self._saved_at >= TOKEN_EVERY_S
        )
        if token_due or self._unsaved_events or self._unsaved_offers:
            await self._write(token if token_due else None)

    async def _write(self, token: str | None) -> None:
        """Save the unsaved marks and choices, and `token` unless None, in one transaction."""
        events, offers = self._unsaved_events, self._unsaved_offers
        self._unsaved_events, self._unsaved_offers = {}, {}
        try:
            await self.saved.checkpoint(token, events, offers)
        except Exception:  # the next batch tries again; a restart repeats these messages
            log.exception("saving which Matrix messages were handled failed")
            self._unsaved_events = {**events, **self._unsaved_events}
            self._unsaved_offers = {**offers, **self._unsaved_offers}
            return
        if token is not None:
            self.token = token
            self._saved_at = time.monotonic()
