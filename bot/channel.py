"""The interface every channel adapter (console, Telegram, Matrix) implements.

An adapter translates in exactly two places: platform event to `Incoming` (handed to the
`Dispatch` callback it was started with) and `Reply` to platform calls (`send`). It also fetches
an attachment's bytes on request, so handlers can store evidence without knowing the platform.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from bot.messages import Attachment, ChatRef, Incoming, Reply

Dispatch = Callable[[Incoming], Awaitable[None]]


class ChannelError(Exception):
    """A channel could not start or deliver; the message says why in one line."""


class DownloadError(ChannelError):
    """An attachment's bytes could not be fetched from the platform (gone, or never uploaded).

    Trying again later will not help: the sender is asked to send the file again.
    """


@runtime_checkable
class ShowsWork(Protocol):
    """A channel that can show a chat the bot is at work (Telegram's and Matrix's "typing…")."""

    async def working(self, chat: ChatRef) -> None:
        """Show it for a few seconds (the platform's own span); failures are not errors."""


@runtime_checkable
class Channel(Protocol):
    """A chat platform connection."""

    platform: str

    async def start(self, dispatch: Dispatch) -> None:
        """Connect and begin passing incoming messages to `dispatch`; returns once running."""

    async def wait_closed(self) -> None:
        """Return when the channel has stopped on its own (console: end of input)."""

    async def stop(self) -> None:
        """Disconnect, finishing deliveries already queued."""

    async def send(self, chat: ChatRef, reply: Reply) -> list[str]:
        """Deliver one reply to `chat`; returns the platform ids of the messages posted.

        A long reply may go out as several messages (one id each, in order); a reply with
        `edit` set changes that message in place and returns its id. Raises `ChannelError` only
        when it cannot be delivered.
        """

    async def download(self, attachment: Attachment) -> bytes:
        """Fetch the bytes of an attachment that arrived on this channel.

        Raises:
            DownloadError: the platform cannot provide the file.
        """
