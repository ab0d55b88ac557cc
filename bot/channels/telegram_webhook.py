"""Webhook mode: PTB's webhook server receives the updates Telegram POSTs to the bot.

Telegram sends an update again only when the webhook answers with an error, and PTB's server
answers 200 as soon as the update is in its queue. So a reader takes the queued updates off one
by one, in order, and hands each to the channel; on stop, every update still queued is handed
over before the reader ends (each has been acknowledged, so none may be dropped).
"""

from __future__ import annotations

import asyncio
import secrets
from urllib.parse import urlsplit

from telegram import Bot, Update
from telegram.ext import Updater

from bot.channel import ChannelError
from bot.channels.telegram_polling import Accept


def listen_address(listen: str) -> tuple[str, int]:
    """The host and port of a `HOST:PORT` setting (IPv6 hosts may be in brackets).

    Raises:
        ChannelError: the setting is not `HOST:PORT`.
    """
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise ChannelError(f"telegram_webhook_listen {listen!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


class Webhook:
    """Registers the webhook with Telegram and passes each update received to `accept`."""

    def __init__(self, bot: Bot, accept: Accept) -> None:
        self.accept = accept
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._updater = Updater(bot, self._queue)
        self._reader: asyncio.Task[None] | None = None

    async def start(
        self, *, url: str, listen: str, secret: str | None, allowed_updates: list[str]
    ) -> None:
        """Start the server on `listen` and tell Telegram to POST updates to `url`."""
        host, port = listen_address(listen)
        self._reader = asyncio.create_task(self._read())
        await self._updater.initialize()
        await self._updater.start_webhook(
            listen=host,
            port=port,
            url_path=urlsplit(url).path,
            webhook_url=url,
            # Without a configured secret, a fresh one per start still keeps strangers out.
            secret_token=secret or secrets.token_urlsafe(32),
            allowed_updates=allowed_updates,
            bootstrap_retries=3,
        )

    async def stop(self) -> None:
        """Stop the server, then hand over every update still queued."""
        if self._updater.running:
            await self._updater.stop()
        if self._reader is not None:
            await self._queue.put(None)  # the marker: the reader drains up to it
            await self._reader
            self._reader = None
        await self._updater.shutdown()

    async def _read(self) -> None:
        while (update := await self._queue.get()) is not None:
            if isinstance(update, Update):
                await self.accept(update)
