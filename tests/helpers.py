"""Shared test builders: an in-memory channel and a harness that chats as several people.

The in-memory channel is a real implementation of the channel interface that records what the
bot sends instead of printing it, so handler tests drive the full dispatcher (storage, routing,
state) without any network.
"""

from __future__ import annotations

import asyncio
import mimetypes
from dataclasses import dataclass, field
from pathlib import Path

from bot.app import App, build_app
from bot.channel import DownloadError
from bot.channels.console import kind_for
from bot.messages import Attachment, AttachmentKind, ChatKind, ChatRef, Incoming, Reply, Sender
from bot.settings import Settings

PLATFORM = "memory"


@dataclass
class MemoryChannel:
    """Records every reply per chat; attachments are read from local paths."""

    platform: str = PLATFORM
    sent: list[tuple[ChatRef, Reply]] = field(default_factory=list)

    async def start(self, dispatch) -> None:
        self.dispatch = dispatch

    async def wait_closed(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(self, chat: ChatRef, reply: Reply) -> list[str]:
        self.sent.append((chat, reply))
        return [reply.edit or str(len(self.sent))]

    async def download(self, attachment: Attachment) -> bytes:
        try:
            return await asyncio.to_thread(Path(attachment.ref).read_bytes)
        except OSError as exc:
            raise DownloadError(f"cannot read {attachment.ref}") from exc


class Harness:
    """Talk to the bot as named people; each call returns the replies that message produced."""

    def __init__(self, app: App, channel: MemoryChannel) -> None:
        self.app = app
        self.channel = channel
        self._ids = 0

    def chat(self, user: str, group: str | None = None) -> ChatRef:
        if group:
            return ChatRef(PLATFORM, group, ChatKind.GROUP, title=group)
        return ChatRef(PLATFORM, f"dm-{user}", ChatKind.PRIVATE, title=user)

    async def send(self, user: str, group: str | None = None, **fields: object) -> list[Reply]:
        self._ids += 1
        msg = Incoming(
            chat=self.chat(user, group),
            sender=Sender(PLATFORM, user, user.title()),
            message_id=str(self._ids),
            **fields,  # type: ignore[arg-type]
        )
        before = len(self.channel.sent)
        await self.app.dispatcher(msg)
        return [reply for _, reply in self.channel.sent[before:]]

    async def say(self, user: str, text: str, group: str | None = None) -> list[Reply]:
        return await self.send(user, group, text=text)

    async def press(self, user: str, label: str) -> list[Reply]:
        """Press the button labelled `label` from the last reply in the person's private chat."""
        chat = self.chat(user)
        for sent_chat, reply in reversed(self.channel.sent):
            if sent_chat == chat and reply.buttons:
                for button in reply.buttons:
                    if button.label == label:
                        return await self.send(user, button=button.data)
                labels = [b.label for b in reply.buttons]
                raise AssertionError(f"no button {label!r} in the last choices {labels}")
        raise AssertionError(f"{user} has been offered no buttons")

    async def attach(
        self,
        user: str,
        path: Path,
        *,
        caption: str | None = None,
        kind: AttachmentKind | None = None,
    ) -> list[Reply]:
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        size = len(await asyncio.to_thread(path.read_bytes))
        attachment = Attachment(
            kind=kind or kind_for(mime),
            ref=str(path),
            mime=mime,
            size=size,
            filename=path.name,
            caption=caption,
        )
        return await self.send(user, attachments=(attachment,))


def text_of(replies: list[Reply]) -> str:
    """All reply texts joined, for substring assertions."""
    return "\n".join(reply.text for reply in replies)


async def make_harness(settings: Settings) -> Harness:
    channel = MemoryChannel()
    app = await build_app(settings, {PLATFORM: channel})
    return Harness(app, channel)
