"""Sending to and fetching from the Matrix homeserver, with retries, and the offered choices.

Every request goes through `Outbox.request`: nio itself waits out `M_LIMIT_EXCEEDED` for as long
as the homeserver's `retry_after_ms` asks (without limit); network errors and 5xx answers are
retried here with exponential backoff; anything else, or still failing after the retries,
raises `ChannelError`, which the dispatcher logs, so a reply is never dropped silently. A send
keeps one transaction id over all its attempts, so the homeserver stores a retried message once.

A reply with a `key` (a reminder's row key) sends each of its events under a transaction id
derived from that key, the room and the event's part (`transaction_id`), not a random one, so a
message sent again after a crash (the reminder's lease ran out) is stored once too. The
homeserver only recognises it from the same device: Synapse (1.163) scopes transaction ids to
user, device and room, keeps them 24 hours (and an in-memory answer for 30 to 60 minutes), and
the channel restores its saved device on restart (`matrix_session`). A new device (the old one
signed out for good) or a re-send more than a day later is stored again. A photo or document is
uploaded again all the same (the re-sent event is dropped, the second upload stays unused).

`send` returns the ids of the events it posted, as the homeserver answered (for a re-sent keyed
event, the id of the one it stored). A reply with `edit` set replaces the text of a message the
bot posted (`matrix_content.edit_content`) and returns that message's id. A keyed edit's
transaction id is derived from the key, the room, its own part (`EDIT`) and the edit's content
(the edited event and the new text), so it never takes the original post's id, whose stored
event the homeserver would answer with instead of storing the edit; nor an earlier edit's under
the same key with another text. The same edit sent again is stored once.

A download the homeserver refuses (the file does not exist, or is not given out) or that does
not decrypt raises `DownloadError`: asking again would not help, the sender must send it again.

Choice buttons are sent as a numbered list; the outbox remembers the last list per room and
turns a typed number into that choice. The lists live in memory (all of them read at the start)
and are saved so they survive a restart: offered in reply to a received message, with that
message's checkpoint (`matrix_checkpoint`: one transaction with the sync token, no write of its
own); offered otherwise (a post the bot makes by itself), at once. An edit leaves them alone: it
changes a message in place, maybe far up the room, while a typed number answers the latest list.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import replace
from hashlib import sha256
from typing import Any
from uuid import uuid4

from aiohttp import ClientError
from nio import AsyncClient, ErrorResponse, MatrixRoom, Response
from nio.crypto import decrypt_attachment
from nio.exceptions import EncryptionError, LocalProtocolError

from bot.channel import ChannelError, DownloadError
from bot.channels.matrix_content import (
    buttons_from_json,
    buttons_to_json,
    document_mime,
    edit_content,
    in_thread,
    media_content,
    photo_mime,
    text_content,
)
from bot.channels.matrix_events import parse_ref
from bot.channels.matrix_session import SavedValues
from bot.messages import Attachment, Button, Incoming, Reply

log = logging.getLogger(__name__)

ATTEMPTS = 5
RETRY_CAP_S = 30.0
NETWORK_ERRORS = (ClientError, TimeoutError)
# Set while a received message is handled: its checkpoint saves the choices offered meanwhile.
HANDLING: ContextVar[bool] = ContextVar("handling_a_matrix_message", default=False)
# The events one reply may send, in order; a keyed reply's transaction ids are told apart by them.
# An edit is sent alone, under a part of its own.
PHOTO, DOCUMENT, TEXT, EDIT = 0, 1, 2, 3


class Refused(ChannelError):
    """The homeserver refused a request, and asking again would get the same answer."""

    def __init__(self, message: str, response: ErrorResponse) -> None:
        super().__init__(message)
        self.status = http_status(response)


def http_status(response: ErrorResponse) -> int:
    """The HTTP status of an error answer (0 when there was no answer)."""
    return getattr(getattr(response, "transport_response", None), "status", 0) or 0


def is_transient(response: ErrorResponse) -> bool:
    """Whether an error answer may go away when asked again (no answer, 5xx, rate limit)."""
    status = http_status(response)
    return status == 0 or status >= 500 or status == 429


def transaction_id(key: str | None, room_id: str, part: int) -> str:
    """The transaction id of one event of a reply: random without a key, else derived from it.

    The same key, room and part give the same id, in any process: 64 hex digits after `k` (a
    random id is 32 hex digits), well within what Matrix allows in a transaction id.
    """
    if key is None:
        return uuid4().hex
    return "k" + sha256(json.dumps([key, room_id, part]).encode()).hexdigest()


def edit_transaction_id(key: str | None, room_id: str, content: dict[str, Any]) -> str:
    """The transaction id of an edit (`content`, an `edit_content`): random without a key.

    With a key, derived from it, the room, the part `EDIT` and the whole content, which names the
    edited event and holds the new text: see the module's description.
    """
    if key is None:
        return uuid4().hex
    return transaction_id(json.dumps([key, content], sort_keys=True), room_id, EDIT)


def backoff(attempt: int) -> float:
    """Seconds to wait before attempt `attempt + 1`: 0.5, 1, 2, 4, ... up to `RETRY_CAP_S`."""
    return min(RETRY_CAP_S, 0.5 * 2 ** (attempt - 1))


class Outbox:
    """Replies out, attachments in, choices remembered; for one logged-in client."""

    def __init__(
        self, client: AsyncClient, saved: SavedValues, offered: dict[str, str] | None = None
    ) -> None:
        """`offered`: the saved choices of every room (JSON by room id), if read already."""
        self.client = client
        self.saved = saved
        self._choices = {room: buttons_from_json(text) for room, text in (offered or {}).items()}
        # With every room's choices read, a room not among them has none; else ask the database.
        self._all_known = offered is not None
        self._unsaved: set[str] = set()

    async def send(
        self, room: MatrixRoom, reply: Reply, *, group: bool = False, thread: str | None = None
    ) -> list[str]:
        """Send the photo or document first (uploaded), then the text with its choices.

        Returns the ids of the events sent, in that order; for an edit, the edited event's id.
        A `notice` reply is an `m.notice` (clients do not notify it). In a `group` room choices
        meant for a private chat are left out (numbers typed there would reach no one). With a
        `thread` (its first event's id) every event goes into that thread.

        Raises:
            ChannelError: the homeserver refused, or could not be reached after the retries;
                or an edit came with a photo or document (only text can be edited).
        """
        msgtype = "m.notice" if reply.notice else "m.text"
        if group:
            reply = replace(reply, buttons=tuple(b for b in reply.buttons if not b.private))
        if reply.edit is not None:
            return [await self._edit(room, reply, reply.edit, msgtype)]
        key = reply.key
        posted: list[str] = []
        if reply.photo is not None:
            mime, name = photo_mime(reply.photo)
            name = reply.filename or name
            transaction = transaction_id(key, room.room_id, PHOTO)
            posted.append(
                await self._send_file(
                    room, reply.photo, "m.image", name, mime, transaction, thread=thread
                )
            )
        if reply.document is not None:
            name = reply.filename or "document"
            transaction = transaction_id(key, room.room_id, DOCUMENT)
            posted.append(
                await self._send_file(
                    room,
                    reply.document,
                    "m.file",
                    name,
                    document_mime(name),
                    transaction,
                    thread=thread,
                )
            )
        if reply.buttons:
            # Shortcuts beside a free answer are not numbered, so nothing is kept for numbers.
            await self._remember(room.room_id, () if reply.expects_text else reply.buttons)
        if reply.text or reply.buttons:
            content = text_content(
                reply.text, reply.buttons, numbered=not reply.expects_text, msgtype=msgtype
            )
            content = in_thread(content, thread)
            posted.append(
                await self._send_message(room, content, transaction_id(key, room.room_id, TEXT))
            )
        return posted

    async def download(self, attachment: Attachment) -> bytes:
        """Fetch a file through the authenticated media API, decrypting it if it was encrypted.

        Raises:
            DownloadError: the file cannot be had: the homeserver does not have it or refuses
                it (404 for an mxc that never existed), or it does not decrypt.
            ChannelError: the homeserver could not be reached after the retries, or refused
                the bot's login; the file itself may be fine.
        """
        try:
            ref = parse_ref(attachment.ref)
        except ValueError as exc:
            raise DownloadError(str(exc)) from exc
        url = ref["url"]
        try:
            response = await self.request(
                f"downloading {url}", lambda: self.client.download(mxc=url)
            )
        except Refused as exc:
            if exc.status == 401:  # the bot's login, not the file: the sync loop deals with it
                raise
            raise DownloadError(str(exc)) from exc
        data = getattr(response, "body", None)
        if not isinstance(data, bytes):
            raise DownloadError(f"downloading {url} gave no file")
        secret = ref.get("file")
        if not secret:
            return data
        try:
            return await asyncio.to_thread(
                decrypt_attachment,
                data,
                secret["key"]["k"],
                secret["hashes"]["sha256"],
                secret["iv"],
            )
        except (EncryptionError, KeyError, TypeError, ValueError) as exc:
            raise DownloadError(f"cannot decrypt {url}: {exc}") from exc

    async def pick(self, msg: Incoming) -> Incoming:
        """A typed number becomes a press of that option in the room's last choices."""
        text = msg.text.strip()
        if msg.attachments or msg.edit_of or not text.isdigit() or len(text) > 3:
            return msg
        room_id = msg.chat.chat_id
        choices = self._choices.get(room_id)
        if choices is None:
            stored = None if self._all_known else await self.saved.buttons(room_id)
            choices = self._choices[room_id] = buttons_from_json(stored or "[]")
        number = int(text)
        if 1 <= number <= len(choices):
            return replace(msg, text="", button=choices[number - 1].data)
        return msg

    async def request(self, what: str, call: Callable[[], Awaitable[Response]]) -> Response:
        """Run a homeserver request, retrying network errors and 5xx answers with backoff.

        Raises:
            ChannelError: the request was refused, or still failed after `ATTEMPTS` tries.
        """
        problem = ""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                response = await call()
            except NETWORK_ERRORS as exc:
                problem = f"{type(exc).__name__}: {exc}"
            except LocalProtocolError as exc:
                raise ChannelError(f"{what} failed: {exc}") from exc
            else:
                if not isinstance(response, ErrorResponse):
                    return response
                problem = str(response)
                if not is_transient(response):
                    raise Refused(f"{what} failed: {problem}", response)
            if attempt < ATTEMPTS:
                log.warning("%s failed (%s); trying again", what, problem)
                await asyncio.sleep(backoff(attempt))
        raise ChannelError(f"{what} failed {ATTEMPTS} times: {problem}")

    def take_offered(self) -> dict[str, str]:
        """The choices offered while handling messages and not saved yet (JSON by room id)."""
        offered = {room: buttons_to_json(self._choices[room]) for room in self._unsaved}
        self._unsaved.clear()
        return offered

    async def _remember(self, room_id: str, buttons: tuple[Button, ...]) -> None:
        if self._choices.get(room_id) == buttons:
            return
        self._choices[room_id] = buttons
        if HANDLING.get():
            self._unsaved.add(room_id)  # saved with the message's checkpoint
        else:
            self._unsaved.discard(room_id)
            await self.saved.set_buttons(room_id, buttons_to_json(buttons))

    async def _edit(self, room: MatrixRoom, reply: Reply, event_id: str, msgtype: str) -> str:
        """Replace the text and options of the bot's message `event_id`, rendered as a post's."""
        if reply.photo is not None or reply.document is not None:
            raise ChannelError(f"only the text of {event_id} can be edited, not a file")
        numbered = not reply.expects_text
        new = text_content(reply.text, reply.buttons, numbered=numbered, msgtype=msgtype)
        content = edit_content(event_id, new)
        await self._send_message(
            room, content, edit_transaction_id(reply.key, room.room_id, content)
        )
        return event_id

    async def _send_message(
        self, room: MatrixRoom, content: dict[str, Any], transaction: str
    ) -> str:
        """Send one `m.room.message` (encrypted in an encrypted room); returns its event id."""
        response = await self.request(
            f"sending to {room.room_id}",
            lambda: self.client.room_send(
                room.room_id,
                "m.room.message",
                content,
                tx_id=transaction,
                # The trust policy (README, Matrix): keys go to every device in the room.
                ignore_unverified_devices=True,
            ),
        )
        return response.event_id  # type: ignore[attr-defined]

    async def _send_file(
        self,
        room: MatrixRoom,
        data: bytes,
        msgtype: str,
        filename: str,
        mime: str,
        transaction: str,
        *,
        thread: str | None = None,
    ) -> str:
        keys: dict[str, Any] = {}

        async def upload() -> Response:
            response, decryption = await self.client.upload(
                lambda *_: data,
                content_type=mime,
                filename=filename,
                encrypt=room.encrypted,
                filesize=len(data),
            )
            keys.update(decryption or {})
            return response

        uploaded = await self.request(f"uploading {filename}", upload)
        content = media_content(
            data,
            msgtype=msgtype,
            filename=filename,
            mime=mime,
            url=uploaded.content_uri,  # type: ignore[attr-defined]
            file_keys=keys if room.encrypted else None,
        )
        return await self._send_message(room, in_thread(content, thread), transaction)
