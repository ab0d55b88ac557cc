"""A message's attachments, fetched before its database transaction begins.

Downloading a file can take seconds; doing it inside the transaction would hold a database
connection (and on SQLite the single writer's turn) while waiting on the network. So the
dispatcher fetches every attachment the handlers might keep first, and hands them a `download`
that answers from what was fetched. A failed fetch is kept and raised when a handler asks for
the file, so the refusal is still the handler's to word.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.channel import Channel
from bot.messages import Attachment, AttachmentKind, Incoming

Download = Callable[[Attachment], Awaitable[bytes]]


async def prefetch(channel: Channel, msg: Incoming, *, limit: int) -> Download:
    """Fetch the attachments of `msg` that could be kept (not refused by kind or size)."""
    fetched: dict[Attachment, bytes | Exception] = {}
    for attachment in msg.attachments:
        too_big = attachment.size is not None and attachment.size > limit
        if attachment.kind == AttachmentKind.UNSUPPORTED or too_big:
            continue
        try:
            fetched[attachment] = await channel.download(attachment)
        except Exception as exc:  # whatever the channel raised, the handler meets it as is
            fetched[attachment] = exc

    async def download(attachment: Attachment) -> bytes:
        found = fetched.get(attachment)
        if isinstance(found, Exception):
            raise found
        return found if found is not None else await channel.download(attachment)

    return download
