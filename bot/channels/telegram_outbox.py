"""Pacing and retrying Telegram calls: flood limits, 429 pauses per chat, network retries.

Telegram allows about 30 messages a second overall and 20 a minute in one group; faster sending
earns a 429 answer with `retry_after`. Every outgoing message goes through `Outbox.deliver`,
which keeps one chat's messages in order (a FIFO lock per chat), waits for a free slot in the
overall window (and, for a group, in that group's window), pauses only the chat that got a 429
for as long as Telegram asks and then tries again, and retries network errors and 5xx answers
with exponential backoff. It gives up only when a message definitely cannot be delivered (a bad
request, a user who blocked the bot, or still failing after the retries) and then raises the
original `TelegramError`, so a message is never dropped without someone hearing about it.

PTB's own `AIORateLimiter` is not used: it retries nothing by default (`max_retries=0`, so a
429 raises `RetryAfter` and the message is lost) and its 429 pause holds every chat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.warnings import PTBDeprecationWarning

from bot.dispatcher import ChatLocks

log = logging.getLogger(__name__)

T = TypeVar("T")


def seconds(read: Callable[[], int | float | timedelta | None]) -> float | None:
    """A PTB time period (`retry_after`, `duration`) in seconds.

    PTB 22 returns ints or timedeltas depending on the `PTB_TIMEDELTA` environment variable and
    warns on every read while the migration lasts; this accepts both and silences the warning.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = read()
    if value is None:
        return None
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class RateWindow:
    """At most `limit` calls in any `period` seconds, as the server counts them.

    A call holds its slot while it is in flight and is stamped when it returns, and the slot
    comes back `period` after that: the server received the call at some moment before the
    stamp, so however the requests bunch on their way out (queued behind the connection pool,
    or a busy event loop), no `period` at the server ever holds more than `limit` of them.
    Callers wait their turn in order.
    """

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self._times: deque[float] = deque()
        self._in_flight = 0
        self._lock = asyncio.Lock()
        self._returned = asyncio.Event()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one slot for the duration of the block (the call)."""
        await self._take()
        try:
            yield
        finally:
            self._in_flight -= 1
            self._times.append(asyncio.get_running_loop().time())
            self._returned.set()

    async def _take(self) -> None:
        async with self._lock:
            loop = asyncio.get_running_loop()
            while True:
                now = loop.time()
                while self._times and self._times[0] <= now - self.period:
                    self._times.popleft()
                if len(self._times) + self._in_flight < self.limit:
                    break
                # Wait for the oldest stamp to leave the window, or for a call to return.
                wait = self._times[0] + self.period - now if self._times else None
                self._returned.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._returned.wait(), wait)
            self._in_flight += 1

    def idle(self) -> bool:
        """Whether nothing counted is left in the window (so it can be forgotten)."""
        cutoff = asyncio.get_running_loop().time() - self.period
        return (
            not self._lock.locked()
            and not self._in_flight
            and all(t <= cutoff for t in self._times)
        )


@dataclass(frozen=True)
class Limits:
    """Telegram's published flood limits and how patiently to retry."""

    per_second: int = 30
    per_group_minute: int = 20
    # Network errors and 5xx answers: this many attempts, waiting backoff, 2x backoff, ...
    attempts: int = 6
    backoff: float = 1.0
    max_backoff: float = 30.0
    # How long one message may keep a chat paused by 429s before it is reported undeliverable.
    max_pause: float = 900.0


class Outbox:
    """Sends through Telegram within its flood limits, retrying what can be retried."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._overall = RateWindow(self.limits.per_second, 1.0)
        self._groups: dict[str, RateWindow] = {}
        self._order = ChatLocks()

    async def deliver(self, chat_id: str, call: Callable[[], Awaitable[T]], *, group: bool) -> T:
        """Make one call that posts into `chat_id`, after the chat's earlier ones, paced."""

        @asynccontextmanager
        async def pace() -> AsyncIterator[None]:
            # The group's minute window first: waiting there must not hold an overall slot.
            async with contextlib.AsyncExitStack() as slots:
                if group:
                    await slots.enter_async_context(self._group_window(chat_id).slot())
                await slots.enter_async_context(self._overall.slot())
                yield

        async with self._order.hold(chat_id):
            return await self._attempt(call, pace, what=f"chat {chat_id}")

    async def call(self, call: Callable[[], Awaitable[T]], *, what: str) -> T:
        """Make a call that posts nothing (getMe, getFile, answers), retrying what can be."""
        return await self._attempt(call, None, what=what)

    def _group_window(self, chat_id: str) -> RateWindow:
        window = self._groups.get(chat_id)
        if window is None:
            # Forget groups that have been quiet for a minute, so the table stays small.
            self._groups = {key: w for key, w in self._groups.items() if not w.idle()}
            window = self._groups[chat_id] = RateWindow(self.limits.per_group_minute, 60.0)
        return window

    async def _attempt(
        self,
        call: Callable[[], Awaitable[T]],
        pace: Callable[[], AbstractAsyncContextManager[None]] | None,
        *,
        what: str,
    ) -> T:
        failures, paused = 0, 0.0
        while True:
            try:
                if pace is None:
                    return await call()
                async with pace():
                    return await call()
            except RetryAfter as exc:
                wait = seconds(lambda exc=exc: exc.retry_after) or 1.0
                paused += wait
                if paused > self.limits.max_pause:
                    raise
                log.warning("telegram flood limit for %s: waiting %.0f s", what, wait)
                await asyncio.sleep(wait)
            except BadRequest:
                raise  # a NetworkError subclass in PTB, but retrying cannot fix it
            except NetworkError as exc:  # includes timeouts and 5xx answers
                failures += 1
                if failures >= self.limits.attempts:
                    raise
                wait = min(self.limits.backoff * 2 ** (failures - 1), self.limits.max_backoff)
                log.warning("telegram call for %s failed (%s); retry in %.1f s", what, exc, wait)
                await asyncio.sleep(wait)
