"""The console channel: talk to the bot in a terminal, or drive it from a script through a pipe.

One line of input is one message from the person given with `--as`. Choice buttons print as
numbered options; typing the number or the label picks one. `/attach PATH` sends a local file
as an attachment. End of input stops the channel. Replies addressed to another chat (a hub post,
say) are printed with that chat's name in front.
"""

from __future__ import annotations

import asyncio
import mimetypes
import sys
import threading
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from bot.channel import Dispatch, DownloadError
from bot.messages import (
    Attachment,
    AttachmentKind,
    Button,
    ChatKind,
    ChatRef,
    Incoming,
    Reply,
    Sender,
)

PLATFORM = "console"


def kind_for(mime: str) -> AttachmentKind:
    """The attachment kind a file of this MIME type is sent as."""
    major = mime.split("/", 1)[0]
    if mime in ("audio/ogg", "audio/opus"):
        return AttachmentKind.VOICE
    return {
        "image": AttachmentKind.PHOTO,
        "audio": AttachmentKind.AUDIO,
        "video": AttachmentKind.VIDEO,
    }.get(major, AttachmentKind.DOCUMENT)


class ConsoleChannel:
    """A real channel adapter over text streams (stdin/stdout by default)."""

    platform = PLATFORM

    def __init__(
        self,
        *,
        user: str,
        chat: str | None = None,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
    ) -> None:
        self.user = user
        self.chat = ChatRef(
            PLATFORM,
            chat or f"dm-{user}",
            ChatKind.GROUP if chat else ChatKind.PRIVATE,
            title=chat or user,
        )
        self._stdin = stdin or sys.stdin
        self._stdout = stdout or sys.stdout
        self._last_buttons: dict[str, tuple[Button, ...]] = {}
        self._numbered: dict[str, bool] = {}
        self._task: asyncio.Task[None] | None = None
        self._counter = 0
        self._posted = 0

    async def start(self, dispatch: Dispatch) -> None:
        """Begin reading lines in the background."""
        lines: asyncio.Queue[str | None] = asyncio.Queue()
        # A daemon thread, not asyncio.to_thread: a read blocked on the terminal must not keep
        # the process alive after a signal asked it to stop.
        reader = threading.Thread(
            target=self._pump, args=(asyncio.get_running_loop(), lines), daemon=True
        )
        reader.start()
        self._task = asyncio.create_task(self._read_loop(lines, dispatch))

    async def wait_closed(self) -> None:
        """Return at end of input."""
        if self._task is not None:
            await self._task

    async def stop(self) -> None:
        """Stop reading."""
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def send(self, chat: ChatRef, reply: Reply) -> list[str]:
        """Print a reply; buttons become numbered options remembered for the next line.

        Each printed message gets a number as its id; an edit is printed again, marked so.
        """
        # The same chat whoever addresses it (a scheduled message names no title).
        prefix = "" if chat.chat_id == self.chat.chat_id else f"[{chat.title or chat.chat_id}] "
        lines = reply.text.splitlines() or [""]
        if reply.edit is not None:
            lines[0] = f"✎ {lines[0]}"  # the console cannot change what it printed
        if reply.photo is not None:
            lines.append(f"(photo, {len(reply.photo)} bytes)")
        if reply.document is not None:
            lines.append(f"(document {reply.filename or ''}, {len(reply.document)} bytes)")
        out = "\n".join(f"{prefix}{line}" for line in lines)
        if reply.buttons:
            self._last_buttons[chat.chat_id] = reply.buttons
            self._numbered[chat.chat_id] = not reply.expects_text
            if reply.expects_text:
                # Shortcuts beside a free answer: typed by name, so a typed number stays an answer.
                options = "  ".join(f"[{b.label}]" for b in reply.buttons)
            else:
                options = "  ".join(f"[{i}] {b.in_list(i)}" for i, b in enumerate(reply.buttons, 1))
            out += f"\n{prefix}{options}"
        self._stdout.write(f"{out}\n")
        self._stdout.flush()
        if reply.edit is not None:
            return [reply.edit]
        self._posted += 1
        return [str(self._posted)]

    async def download(self, attachment: Attachment) -> bytes:
        """Read an attached local file.

        Raises:
            DownloadError: the file is gone (or unreadable) since it was attached.
        """
        try:
            return await asyncio.to_thread(Path(attachment.ref).read_bytes)
        except OSError as exc:
            raise DownloadError(f"cannot read {attachment.ref}: {exc.strerror}") from exc

    def _pump(self, loop: asyncio.AbstractEventLoop, lines: asyncio.Queue[str | None]) -> None:
        try:
            for line in iter(self._stdin.readline, ""):
                loop.call_soon_threadsafe(lines.put_nowait, line)
            loop.call_soon_threadsafe(lines.put_nowait, None)
        except RuntimeError:  # the loop closed while we were waiting for input
            return

    async def _read_loop(self, lines: asyncio.Queue[str | None], dispatch: Dispatch) -> None:
        while (line := await lines.get()) is not None:
            msg = self.to_incoming(line.rstrip("\r\n"))
            if msg is not None:
                await dispatch(msg)

    def to_incoming(self, line: str) -> Incoming | None:
        """Turn one typed line into a message (None for a blank line)."""
        self._counter += 1
        sender = Sender(PLATFORM, self.user, self.user)
        base = Incoming(chat=self.chat, sender=sender, message_id=str(self._counter), numbered=True)
        text = line.strip()
        if text.startswith("/attach"):
            return self._attachment(base, text.removeprefix("/attach").strip())
        buttons = self._last_buttons.get(self.chat.chat_id, ())
        numbered = self._numbered.get(self.chat.chat_id, True)
        if numbered and text.isdigit() and 1 <= int(text) <= len(buttons):
            return replace(base, button=buttons[int(text) - 1].data)
        for button in buttons:
            if text.casefold() == button.label.casefold():
                return replace(base, button=button.data)
        return replace(base, text=line)

    def _attachment(self, base: Incoming, argument: str) -> Incoming | None:
        path_text, _, caption = argument.partition(" ")
        path = Path(path_text).expanduser()
        if not path_text or not path.is_file():
            # A typing slip in the local tool itself, like a missing photo on a phone.
            self._stdout.write(
                f"(console) no such file: {path_text or '?'} - usage: /attach PATH\n"
            )
            return None
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        attachment = Attachment(
            kind=kind_for(mime),
            ref=str(path.resolve()),
            mime=mime,
            size=path.stat().st_size,
            filename=path.name,
            caption=caption or None,
        )
        return replace(base, attachments=(attachment,))
