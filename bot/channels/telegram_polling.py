"""Long polling that confirms an update to Telegram only once it has been handled.

Telegram keeps each update until a getUpdates call asks for a higher `offset`; that call is the
only acknowledgement the Bot API has. PTB's `Updater` raises the offset as soon as it has
fetched a batch, so updates fetched but not yet handled are gone if the process dies. `Poller`
raises it only past updates that have been handled, together with every earlier one, so after a
crash Telegram sends the unfinished ones again: delivery is at least once (exactly once across
a graceful stop, which finishes and confirms what is in flight).

What follows from having no other acknowledgement:

- While an update is in flight, every getUpdates answers at once with it and everything after
  it, so there is no long poll to wait in. When an answer brings nothing new, the poller waits
  until the oldest update in flight finishes (the offset moves on), or `repoll` seconds, before
  asking again: no busy loop, and a message arriving meanwhile waits at most that long.
- Updates seen again (in flight, or handled but not yet confirmed because an earlier one is
  still in flight) are recognised by id and not handed over twice in one process. After a crash
  those handled-but-unconfirmed ones are handled again: that is the "at least".
- Telegram answers with at most 100 updates from the offset. If one update stays in flight while
  the 99 after it have been handled, nothing newer is fetched until it finishes.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from functools import partial

from telegram import Bot, Update
from telegram.error import Forbidden, InvalidToken, RetryAfter, TelegramError

from bot.channel import ChannelError
from bot.channels.telegram_outbox import Limits, seconds

log = logging.getLogger(__name__)

# Starts handling one update: the task doing it, or None when there is nothing to handle.
Accept = Callable[[Update], Awaitable[asyncio.Task[None] | None]]

TOKEN_REFUSED = (
    "Telegram refused the bot token while running (revoked in @BotFather?); "
    "set DIARYBOT_TELEGRAM_TOKEN to the new one and start again"
)


class Ledger:
    """Which fetched updates are still being handled, and so how far Telegram may forget.

    Remembers the ids of the last `memory` updates it has seen, so one fetched again is
    recognised; far more than can ever be in flight or handled-but-unconfirmed at once.
    """

    def __init__(self, memory: int = 10_000) -> None:
        self._open: set[int] = set()
        self._highest: int | None = None
        self._recent: deque[int] = deque(maxlen=memory)
        self._known: set[int] = set()

    def begin(self, update_id: int) -> bool:
        """Note a fetched update as being handled; False when it has been seen already."""
        if update_id in self._known:
            return False
        if len(self._recent) == self._recent.maxlen:
            self._known.discard(self._recent[0])
        self._recent.append(update_id)
        self._known.add(update_id)
        self._open.add(update_id)
        self._highest = update_id if self._highest is None else max(self._highest, update_id)
        return True

    def finish(self, update_id: int) -> bool:
        """Note an update as handled; True when that moves the offset on."""
        oldest = self.offset
        self._open.discard(update_id)
        return update_id == oldest

    @property
    def busy(self) -> bool:
        """Whether some fetched update is not handled yet."""
        return bool(self._open)

    @property
    def offset(self) -> int | None:
        """The getUpdates offset: the oldest unhandled update, or one past the newest seen."""
        if self._open:
            return min(self._open)
        return None if self._highest is None else self._highest + 1


class Poller:
    """Fetches updates with getUpdates and hands each over once, confirming it when handled."""

    def __init__(
        self,
        bot: Bot,
        accept: Accept,
        *,
        timeout: float,
        allowed_updates: Sequence[str],
        limits: Limits,
        repoll: float = 0.5,
    ) -> None:
        self.bot = bot
        self.accept = accept
        self.timeout = timeout
        self.allowed_updates = list(allowed_updates)
        self.limits = limits
        self.repoll = repoll
        self.ledger = Ledger()
        self._confirmed: int | None = None
        self._progress = asyncio.Event()  # set when the offset moves on

    async def run(self) -> None:
        """Fetch and hand over updates until cancelled; transient failures are retried.

        Raises:
            ChannelError: Telegram refused the token (it was revoked, say).
        """
        failures = 0
        while True:
            offset = self.ledger.offset
            # Cleared before asking, so an update finishing during the call is not missed.
            self._progress.clear()
            try:
                updates = await self.bot.get_updates(
                    offset=offset, timeout=self.timeout, allowed_updates=self.allowed_updates
                )
            except (InvalidToken, Forbidden):
                raise ChannelError(TOKEN_REFUSED) from None
            except RetryAfter as exc:
                wait = seconds(lambda exc=exc: exc.retry_after) or 1.0
                log.warning("telegram: getUpdates flood limit; waiting %.0f s", wait)
                await asyncio.sleep(wait)
                continue
            except TelegramError as exc:  # network, timeouts, 5xx, 409 (another instance)
                failures += 1
                wait = min(self.limits.backoff * 2 ** (failures - 1), self.limits.max_backoff)
                log.warning("telegram: getUpdates failed (%s); retry in %.1f s", exc, wait)
                await asyncio.sleep(wait)
                continue
            failures = 0
            self._confirmed = offset
            fresh = False
            for update in updates:
                if self.ledger.begin(update.update_id):
                    fresh = True
                    await self._take(update)
            if not fresh and self.ledger.busy:
                # Only in-flight updates came back: asking again at once would spin.
                with suppress(TimeoutError):
                    async with asyncio.timeout(self.repoll):
                        await self._progress.wait()

    async def confirm(self) -> None:
        """Tell Telegram it may forget every update handled so far (one short getUpdates).

        Called on a graceful stop after the in-flight updates have finished. A failure is only
        logged: those updates are then handled again after the restart, never lost.
        """
        offset = self.ledger.offset
        if offset is None or offset == self._confirmed:
            return
        try:
            await self.bot.get_updates(
                offset=offset, timeout=0, allowed_updates=self.allowed_updates
            )
        except TelegramError as exc:
            log.warning(
                "telegram: handled updates not confirmed (%s); they will be handled again "
                "after the restart",
                exc,
            )
            return
        self._confirmed = offset

    async def _take(self, update: Update) -> None:
        task = await self.accept(update)
        if task is None:
            self.ledger.finish(update.update_id)
        else:
            task.add_done_callback(partial(self._finished, update.update_id))

    def _finished(self, update_id: int, task: asyncio.Task[None]) -> None:
        # A cancelled handling did not finish: leave it unconfirmed, so it comes back.
        if not task.cancelled() and self.ledger.finish(update_id):
            # Worth asking again only now: the offset has moved, so newer updates fit in.
            self._progress.set()
