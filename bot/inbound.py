"""Cleaning what the platforms hand over, before anything of it reaches handlers or storage.

Both databases must behave the same whatever a client sends. PostgreSQL refuses text holding a
NUL character and strings longer than a column, where SQLite stores them; Python strings from a
platform's JSON may carry lone surrogates that no database can encode. So every text field is
stripped of those, and bounded to the width of the column it may end up in. Ids are never cut
(a shortened id could name someone else): a message whose sender or chat id is longer than any
platform issues is dropped whole.
"""

from __future__ import annotations

import re
from dataclasses import replace

from bot.messages import Attachment, ChatRef, Incoming, Sender

# Widths of the columns these values are stored in (storage/models.py).
ID_LIMIT = 255
NAME_LIMIT = 200
TITLE_LIMIT = 300
FILENAME_LIMIT = 255
MIME_LIMIT = 127
SHORT_LIMIT = 64

# NUL, the other C0 controls but tab and line breaks, and DEL; PostgreSQL refuses only NUL, but
# none of them belongs in a name or an answer.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MIME = re.compile(r"^[\w.+-]+/[\w.+-]+$")


def clean_text(text: str, limit: int | None = None) -> str:
    """`text` without control characters or unencodable surrogates, cut to `limit`."""
    text = _CONTROL.sub("", text)
    text = text.encode("utf-8", "replace").decode("utf-8")
    return text if limit is None else text[:limit]


def clean_filename(name: str | None) -> str | None:
    """A file name that fits its column, keeping the extension when cutting it short."""
    if name is None:
        return None
    name = clean_text(name).replace("/", "_").replace("\\", "_").strip()
    if len(name) <= FILENAME_LIMIT:
        return name or None
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext) > 16:
        return name[:FILENAME_LIMIT]
    return f"{stem[: FILENAME_LIMIT - len(ext) - 1]}.{ext}"


def clean_mime(mime: str) -> str:
    """A well-formed MIME type, or the generic one (the bytes decide the real type anyway)."""
    mime = clean_text(mime).strip().lower()
    if len(mime) > MIME_LIMIT or not _MIME.match(mime):
        return "application/octet-stream"
    return mime


def _attachment(item: Attachment) -> Attachment:
    return replace(
        item,
        mime=clean_mime(item.mime),
        filename=clean_filename(item.filename),
        caption=None if item.caption is None else clean_text(item.caption),
        platform_kind=clean_text(item.platform_kind, SHORT_LIMIT),
    )


def _fits(value: str) -> bool:
    return 0 < len(value) <= ID_LIMIT and clean_text(value) == value


def cleaned(msg: Incoming) -> Incoming | None:
    """The message with every text field made storable; None when an id is unusable."""
    if not (_fits(msg.sender.user_id) and _fits(msg.chat.chat_id)):
        return None
    moved_from = msg.moved_from
    if moved_from is not None and not _fits(moved_from):
        return None
    if msg.deleted_of is not None and not _fits(msg.deleted_of):
        return None  # no message the bot kept has an id like that: nothing to take out
    sender = msg.sender
    chat = msg.chat
    # A thread id that could not be stored is dropped: the answer then goes to the whole chat.
    thread = chat.thread if chat.thread is not None and _fits(chat.thread) else None
    title = clean_text(chat.title, TITLE_LIMIT)
    return replace(
        msg,
        chat=ChatRef(chat.platform, chat.chat_id, chat.kind, title, thread),
        sender=Sender(
            sender.platform,
            sender.user_id,
            clean_text(sender.display_name, NAME_LIMIT),
            None if sender.language_hint is None else clean_text(sender.language_hint, 35),
        ),
        text=clean_text(msg.text),
        button=None if msg.button is None else clean_text(msg.button),
        attachments=tuple(_attachment(a) for a in msg.attachments),
        media_group=None if msg.media_group is None else clean_text(msg.media_group, SHORT_LIMIT),
        message_id=clean_text(msg.message_id, ID_LIMIT),
    )
