"""Long polling that confirms an update to Telegram only once it has been handled.

Telegram keeps each update until a getUpdates call asks for a higher `offset`; that call is the
only acknowledgement the Bot API has. PTB's `Updater` raises the offset as soon as it has
fetched a batch, so updates fetched but not yet handled are gone if the process dies. `Poller`
raises it only past updates that have been handled, together with every earlier one, so after a
crash Telegram sends the unfinished ones again: delivery is at least once (exactly once across
a graceful stop, which finishes and confirms what is in flight).

What follows from having no other acknowledgement:

- While an update is in flight, every getUpdates answers at once with it and everything after
  it (up to 100), so there is no long poll to wait in, and each answer repeats what is already
  being handled. So the poller asks only when an answer can bring new work ("room": fewer
  than 100 updates seen from the offset on, and fewer than `capacity` in flight): after an
  answer that was full (Telegram holds more), once half a window's room has opened; otherwise
  `spacing` after the last answer, doubling while answers bring nothing new, up to `repoll`.
  With nothing in flight it long-polls, and Telegram answers as soon as an update arrives. A
  message arriving while others are handled so waits a few milliseconds, at most `repoll`.
  (A burst of 500 updates from 20 chats takes 15 getUpdates, against 80 when the poller asked
  again after every answer and every update finished; 1,000 take 37 against 154.)
- Updates seen again (in flight, or handled but not yet confirmed because an earlier one is
  still in flight) are recognised by id and not handed over twice in one process. After a crash
  those handled-but-unconfirmed ones are handled again: that is the "at least".
- If one update stays in flight while the 99 after it have been handled, nothing newer is
  fetched until it finishes.

Updates are fetched as raw JSON (`RawBot.get_updates_json`) and only their `update_id` is
read here; the channel builds each fresh one into PTB's `Update`. So an update seen again costs
no parsing, and one that PTB cannot build (a field it requires is missing) is the channel's to
skip and log: it is confirmed like a handled one, never left to stop the bot at every restart.
(PTB's `Bot.get_updates` builds the whole batch at once, and one bad update fails all of it.)

A 409 Conflict means another process uses the same token: Telegram cuts off a waiting
getUpdates when a newer one arrives (another instance polling) or when a webhook is set (another
instance in webhook mode; at start the channel deletes any webhook, so one set later is
someone else's). Two instances can never both work, and polling on would cut the other one off
in turn, so the poller stops with one line instead of retrying.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from functools import partial

from telegram import Update
from telegram.error import Conflict, Forbidden, InvalidToken, RetryAfter, TelegramError

from bot.channel import ChannelError
from bot.channels.telegram_client import JSON, RawBot
from bot.channels.telegram_outbox import Limits, seconds

log = logging.getLogger(__name__)

# The most updates one getUpdates answer holds (Telegram's maximum and default).
LIMIT = 100
# Starts handling one update: the task doing it, or None when there is nothing to handle.
Accept = Callable[[Update], Awaitable[asyncio.Task[None] | None]]
# The same for an update as Telegram sent it, not yet built into an `Update`.
AcceptJSON = Callable[[JSON], Awaitable[asyncio.Task[None] | None]]

TOKEN_REFUSED = (
    "Telegram refused the bot token while running (revoked in @BotFather?); "
    "set DIARYBOT_TELEGRAM_TOKEN to the new one and start again"
)
CONFLICT = (
    "Telegram: another process is polling with this bot token (409 Conflict); "
    "only one instance may run per token: stop the other one"
)
WEBHOOK_CONFLICT = (
    "Telegram: a webhook was set for this bot token while polling (409 Conflict), "
    "so another instance runs in webhook mode; only one instance may run per token"
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
    def in_flight(self) -> int:
        """How many fetched updates are not handled yet."""
        return len(self._open)

    @property
    def ahead(self) -> int:
        """Updates seen from the offset on: what the next getUpdates answer sends again.

        Telegram numbers a bot's updates one after another, so this counts the ids from the
        offset to the newest seen.
        """
        offset = self.offset
        if offset is None or self._highest is None:
            return 0
        return max(0, self._highest - offset + 1)

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
        bot: RawBot,
        accept: AcceptJSON,
        *,
        timeout: float,
        allowed_updates: Sequence[str],
        limits: Limits,
        repoll: float = 0.5,
        spacing: float = 0.005,
        capacity: int = LIMIT,
    ) -> None:
        self.bot = bot
        self.accept = accept
        self.timeout = timeout
        self.allowed_updates = list(allowed_updates)
        self.limits = limits
        self.repoll = repoll
        self.spacing = min(spacing, repoll)
        self.capacity = capacity
        self.ledger = Ledger()
        self._confirmed: int | None = None
        self._finish = asyncio.Event()  # set whenever an update has been handled

    @property
    def room(self) -> int:
        """How many new updates the next getUpdates answer could bring and be taken in."""
        return min(LIMIT - self.ledger.ahead, self.capacity - self.ledger.in_flight)

    async def run(self) -> None:
        """Fetch and hand over updates until cancelled; transient failures are retried.

        Raises:
            ChannelError: Telegram refused the token (it was revoked, say), or another process
                uses it (409 Conflict).
        """
        failures = 0
        full = False  # the last answer held all it could: Telegram has more
        pause = self.spacing  # how long to leave Telegram alone while updates are in flight
        while True:
            await self._until_room(full, pause)
            offset = self.ledger.offset
            try:
                updates = await self.bot.get_updates_json(
                    offset=offset,
                    wait=0 if self.ledger.busy else self.timeout,
                    allowed_updates=self.allowed_updates,
                    limit=LIMIT,
                )
            except (InvalidToken, Forbidden):
                raise ChannelError(TOKEN_REFUSED) from None
            except Conflict as exc:
                webhook = "webhook" in str(exc).lower()
                raise ChannelError(WEBHOOK_CONFLICT if webhook else CONFLICT) from None
            except RetryAfter as exc:
                wait = seconds(lambda exc=exc: exc.retry_after) or 1.0
                log.warning("telegram: getUpdates flood limit; waiting %.0f s", wait)
                await asyncio.sleep(wait)
                continue
            except TelegramError as exc:  # network, timeouts, 5xx
                failures += 1
                wait = min(self.limits.backoff * 2 ** (failures - 1), self.limits.max_backoff)
                log.warning("telegram: getUpdates failed (%s); retry in %.1f s", exc, wait)
                await asyncio.sleep(wait)
                continue
            failures = 0
            self._confirmed = offset
            fresh = 0
            for update in updates:
                update_id = update.get("update_id") if isinstance(update, dict) else None
                if not isinstance(update_id, int):
                    # Never sent by Telegram; without an id it can be neither handled nor
                    # confirmed, only passed over (confirmed with the updates after it).
                    log.error("telegram: getUpdates answered an update without an id; skipped")
                    continue
                # By id, before anything is built: one seen again costs nothing.
                if self.ledger.begin(update_id):
                    fresh += 1
                    await self._take(update_id, update)
            full = len(updates) >= LIMIT
            # Answers repeating only what is in flight: ask less and less often, up to `repoll`.
            pause = self.spacing if fresh else min(pause * 2, self.repoll)

    async def _until_room(self, full: bool, pause: float) -> None:
        """Wait until asking again can bring new work (at once when nothing is in flight).

        After a full answer: once half a window's room has opened (the oldest updates in
        flight have finished). Otherwise: `pause` after the last answer, if there is any room.
        Either way, any room at all after `repoll`, so one slow update cannot hold back newer
        ones for longer.
        """
        loop = asyncio.get_running_loop()
        start = loop.time()
        batch = max(1, min(LIMIT, self.capacity) // 2)
        while self.ledger.busy:
            room, waited = self.room, loop.time() - start
            worth = room >= batch if full else waited >= pause
            if room >= 1 and (worth or waited >= self.repoll):
                return
            # Until an update finishes (room may open, or nothing is in flight any more), or
            # until the time the rule above allows asking.
            until = None if room < 1 else (self.repoll if full else pause)
            self._finish.clear()
            with suppress(TimeoutError):
                async with asyncio.timeout(None if until is None else until - waited):
                    await self._finish.wait()

    async def confirm(self) -> None:
        """Tell Telegram it may forget every update handled so far (one short getUpdates).

        Called on a graceful stop after the in-flight updates have finished. A failure is only
        logged: those updates are then handled again after the restart, never lost.
        """
        offset = self.ledger.offset
        if offset is None or offset == self._confirmed:
            return
        try:
            # The answer is not needed: limit=1 keeps it short.
            await self.bot.get_updates_json(
                offset=offset, wait=0, allowed_updates=self.allowed_updates, limit=1
            )
        except TelegramError as exc:
            log.warning(
                "telegram: handled updates not confirmed (%s); they will be handled again "
                "after the restart",
                exc,
            )
            return
        self._confirmed = offset

    async def _take(self, update_id: int, update: JSON) -> None:
        task = await self.accept(update)
        if task is None:  # nothing to handle, or nothing that can be: confirmed all the same
            self.ledger.finish(update_id)
        else:
            task.add_done_callback(partial(self._finished, update_id))

    def _finished(self, update_id: int, task: asyncio.Task[None]) -> None:
        # A cancelled handling did not finish: leave it unconfirmed, so it comes back.
        if not task.cancelled():
            self.ledger.finish(update_id)
            self._finish.set()
