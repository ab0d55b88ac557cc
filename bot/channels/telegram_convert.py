"""Translation between Telegram objects and the neutral message types, in both directions.

Incoming: a message or a button press becomes an `Incoming`; photos (largest size), voice notes,
audio, video, video notes and documents become attachments; stickers, GIFs, polls, locations,
contacts and the like become `UNSUPPORTED` attachments named after what they are, so the
handlers can refuse them in the user's language. A group upgraded to a supergroup gets a new
chat id; the service message saying so in the new supergroup becomes an `Incoming` whose
`moved_from` is the old id. A message in a topic of a forum group carries the topic
(`ChatRef.thread`), so the answer goes back to that topic rather than to General.

Outgoing: a `Reply` becomes a list of `Part`s, each one Bot API call. Text is sent as plain text
(no `parse_mode`): nothing the bot says uses markup, so user content quoted back (answers,
school names, captions) can never be taken for markup and needs no escaping, and Telegram can
never refuse a message for broken entities. Long text is split at Telegram's 4096-character
limit, preferring paragraph and line breaks. A reply that edits an earlier message becomes one
`Part` too: its text (cut to one message's length, since an edit cannot add messages) and its
buttons.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from telegram import (
    Chat,
    ChatMember,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
    User,
)
from telegram.constants import MessageAttachmentType, MessageLimit

from bot.channels.telegram_outbox import seconds
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

PLATFORM = "telegram"
TEXT_LIMIT = MessageLimit.MAX_TEXT_LENGTH  # 4096
CAPTION_LIMIT = MessageLimit.CAPTION_LENGTH  # 1024
CALLBACK_LIMIT = 64  # bytes of callback_data
DEEP = "cmd-"  # a deep link's start parameter naming a command, not a join code

SUPPORTED = {
    MessageAttachmentType.PHOTO: AttachmentKind.PHOTO,
    MessageAttachmentType.VOICE: AttachmentKind.VOICE,
    MessageAttachmentType.AUDIO: AttachmentKind.AUDIO,
    MessageAttachmentType.VIDEO: AttachmentKind.VIDEO,
    MessageAttachmentType.VIDEO_NOTE: AttachmentKind.VIDEO,
    MessageAttachmentType.DOCUMENT: AttachmentKind.DOCUMENT,
}
# What the refusal calls an unsupported attachment, when Telegram's name is not the usual word.
UNSUPPORTED_LABELS = {
    MessageAttachmentType.ANIMATION: "GIF",
    MessageAttachmentType.VENUE: "location",
}
DEFAULT_MIME = {
    MessageAttachmentType.PHOTO: "image/jpeg",
    MessageAttachmentType.VOICE: "audio/ogg",
    MessageAttachmentType.VIDEO_NOTE: "video/mp4",
}


class ButtonData:
    """Keeps button data within Telegram's 64-byte `callback_data` limit.

    Longer data is replaced by a short key remembered here (the newest `capacity` of them). A
    key forgotten after a restart comes back as unknown data, which the router answers like
    any outdated button.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._long: OrderedDict[str, str] = OrderedDict()

    def pack(self, data: str) -> str:
        """The `callback_data` to send for a button's data."""
        if len(data.encode()) <= CALLBACK_LIMIT:
            return data
        key = "#" + hashlib.sha256(data.encode()).hexdigest()[:32]
        self._long[key] = data
        self._long.move_to_end(key)
        while len(self._long) > self.capacity:
            self._long.popitem(last=False)
        return key

    def unpack(self, data: str) -> str:
        """The button's data for a `callback_data` that came back."""
        return self._long.get(data, data)


def chat_ref(chat: Chat, thread: int | None = None) -> ChatRef | None:
    """The neutral chat for a Telegram chat; None for channels, which the bot does not serve.

    `thread` is the forum topic a message was in, if any.
    """
    if chat.type == Chat.PRIVATE:
        kind = ChatKind.PRIVATE
    elif chat.type in (Chat.GROUP, Chat.SUPERGROUP):
        kind = ChatKind.GROUP
    else:
        return None
    title = chat.title or chat.full_name or ""
    return ChatRef(PLATFORM, str(chat.id), kind, title, None if thread is None else str(thread))


def chat_of(message: Message) -> ChatRef | None:
    """The chat a message was posted in, with its forum topic.

    Only a topic message's `message_thread_id` names a topic: in a group without topics it is
    the thread of replies a message belongs to, and posting "into" it would fail.
    """
    return chat_ref(message.chat, message.message_thread_id if message.is_topic_message else None)


def sender_of(user: User) -> Sender:
    """The neutral sender for a Telegram user; their app language is a hint for ours."""
    return Sender(PLATFORM, str(user.id), user.full_name, user.language_code)


def attachment_of(message: Message) -> Attachment | None:
    """The message's attachment as evidence (or as something to refuse), None for plain text."""
    kind = next((t for t in MessageAttachmentType if message[t]), None)
    if kind is None:
        return None
    if kind not in SUPPORTED:
        label = UNSUPPORTED_LABELS.get(kind, kind.value.replace("_", " "))
        return Attachment(AttachmentKind.UNSUPPORTED, ref="", platform_kind=label)
    media = message[kind]
    if kind == MessageAttachmentType.PHOTO:
        # Telegram sends every size it made; the evidence is the largest.
        media = max(media, key=lambda size: (size.width * size.height, size.file_size or 0))
    return Attachment(
        kind=SUPPORTED[kind],
        ref=media.file_id,
        mime=getattr(media, "mime_type", None)
        or DEFAULT_MIME.get(kind, "application/octet-stream"),
        size=media.file_size,
        filename=getattr(media, "file_name", None),
        duration_s=seconds(lambda: getattr(media, "duration", None)),
        caption=message.caption,
        platform_kind=kind.value,
    )


def _for_another_bot(text: str, username: str) -> bool:
    """Whether text is a command addressed to some other bot (`/help@OtherBot`)."""
    if not text.startswith("/"):
        return False
    word = text.split(maxsplit=1)[0]
    _, at, name = word.partition("@")
    return bool(at) and name.casefold() != username.casefold()


def to_incoming(update: Update, *, username: str, buttons: ButtonData) -> Incoming | None:
    """The neutral message for an update, or None when the bot has nothing to do with it.

    An edited message comes with `edit_of`, its own id, and what it says now (its text or
    caption; its files are not sent again). The bot taken out of a chat (its own membership
    left or banned) comes as `removed`. Ignored: channel posts, service messages (members
    joining, pinned messages) other than a group's upgrade to a supergroup, messages from bots,
    and commands addressed to another bot in a group.
    """
    query = update.callback_query
    if query is not None:
        if query.message is None or query.data is None:
            return None  # inline-mode or game buttons: not ours
        # A message too old for Telegram to show in full (`InaccessibleMessage`) has no topic.
        message = query.message
        chat = chat_of(message) if isinstance(message, Message) else chat_ref(message.chat)
        if chat is None:
            return None
        return Incoming(
            chat=chat,
            sender=sender_of(query.from_user),
            button=buttons.unpack(query.data),
            message_id=str(query.message.message_id),
        )
    if update.edited_message is not None:
        return _edited(update.edited_message, username)
    if update.my_chat_member is not None:
        return _taken_out(update.my_chat_member)
    message = update.message
    if message is not None and message.migrate_from_chat_id is not None:
        return _moved(message)
    if message is not None and _as_the_group(message):
        return _anonymous(message, username)
    if message is None or message.from_user is None or message.from_user.is_bot:
        return None
    chat = chat_of(message)
    text = message.text or ""
    if text.startswith(f"/start {DEEP}"):  # a deep link to a command (see `keyboard`)
        text = "/" + text.removeprefix(f"/start {DEEP}")
    attachment = attachment_of(message)
    if chat is None or (not text and attachment is None) or _for_another_bot(text, username):
        return None
    return Incoming(
        chat=chat,
        sender=sender_of(message.from_user),
        text=text,
        attachments=(attachment,) if attachment else (),
        message_id=str(message.message_id),
        media_group=message.media_group_id,
        received_at=message.date,
    )


# What the bot's own membership becomes when an admin removes it, or a person blocks it.
LEFT, BANNED = ChatMember.LEFT, ChatMember.BANNED


def _taken_out(change: ChatMemberUpdated) -> Incoming | None:
    """The bot removed from a group (or blocked in a private chat); None for other changes."""
    chat = chat_ref(change.chat)
    if chat is None or change.new_chat_member.status not in (LEFT, BANNED):
        return None
    return Incoming(
        chat=chat,
        sender=sender_of(change.from_user),
        message_id=f"member-{int(change.date.timestamp())}",
        received_at=change.date,
        removed=True,
    )


def _as_the_group(message: Message) -> bool:
    """Whether an admin sent this as the group itself ("remain anonymous")."""
    return message.sender_chat is not None and message.sender_chat.id == message.chat.id


def _anonymous(message: Message, username: str) -> Incoming | None:
    """A command an anonymous admin sent: kept (marked so) to be told how to be known.

    Anything else they say in the group is none of the bot's business, as from anyone.
    """
    text = message.text or ""
    if not text.startswith("/") or _for_another_bot(text, username):
        return None
    return _said(message, text, anonymous=True)


def _edited(message: Message, username: str) -> Incoming | None:
    """A message its sender edited: its id as `edit_of`, with what it says now."""
    text = message.text or message.caption or ""
    if message.from_user is None or message.from_user.is_bot:
        return None
    if not text or _for_another_bot(text, username):
        return None
    return _said(message, text, edit_of=str(message.message_id))


def _said(message: Message, text: str, **marks: Any) -> Incoming | None:
    """A message of text only (no files), with the marks saying what kind it is."""
    chat = chat_of(message)
    if chat is None or message.from_user is None:
        return None
    return Incoming(
        chat=chat,
        sender=sender_of(message.from_user),
        text=text,
        message_id=str(message.message_id),
        received_at=message.edit_date or message.date,
        **marks,
    )


def _moved(message: Message) -> Incoming | None:
    """The first message of a supergroup made from a group, carrying the group's old id.

    Its sender may be Telegram's stand-in user for anonymous admins, a bot: unlike what people
    say, this message is taken from anyone, since only the ids matter.
    """
    chat = chat_ref(message.chat)
    if chat is None or message.from_user is None:
        return None
    return Incoming(
        chat=chat,
        sender=sender_of(message.from_user),
        message_id=str(message.message_id),
        received_at=message.date,
        moved_from=str(message.migrate_from_chat_id),
    )


def keyboard(
    choices: tuple[Button, ...], buttons: ButtonData, *, link: str | None = None
) -> InlineKeyboardMarkup | None:
    """Choice buttons as an inline keyboard: short labels three to a row, long ones alone.

    `link` is the bot's t.me address when the keyboard goes to a group: a button meant for the
    private chat then opens it and starts its command there (a deep link, `?start=cmd-add`,
    which `to_incoming` turns back into `/add`).
    """
    if not choices:
        return None
    per_row = 3 if all(len(b.label) <= 12 for b in choices) else 1
    keys = [
        InlineKeyboardButton(b.label, url=f"{link}?start={DEEP}{b.data.lstrip('/')}")
        if b.private and link
        else InlineKeyboardButton(b.label, callback_data=buttons.pack(b.data))
        for b in choices
    ]
    return InlineKeyboardMarkup([keys[i : i + per_row] for i in range(0, len(keys), per_row)])


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Text cut into pieces of at most `limit` characters, at paragraph, line or word ends.

    Telegram counts UTF-16 code units, so characters outside the Basic Multilingual Plane
    (most emoji) count twice.
    """
    pieces: list[str] = []
    while (cut := _fitting(text, limit)) < len(text):
        # Back off from the longest prefix that fits to the last natural break inside it.
        window = text[:cut]
        for sep in ("\n\n", "\n", " "):
            at = window.rfind(sep)
            if at > cut // 2:
                cut = at + len(sep)
                break
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip("\n")
    if text.strip() or not pieces:
        pieces.append(text)
    return pieces


def units(text: str) -> int:
    """The length of `text` as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def _fitting(text: str, limit: int) -> int:
    """How many leading characters of `text` fit in `limit` UTF-16 code units."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


@dataclass(frozen=True)
class Part:
    """One Bot API call a reply turns into: a text, or a photo/document with a caption."""

    text: str = ""
    photo: bytes | None = None
    document: bytes | None = None
    filename: str | None = None
    markup: InlineKeyboardMarkup | None = None


def parts_of(reply: Reply, buttons: ButtonData, *, link: str | None = None) -> list[Part]:
    """The calls that deliver `reply`, in order; the buttons go with the last one."""
    media = reply.photo is not None or reply.document is not None
    caption = reply.text if media and units(reply.text) <= CAPTION_LIMIT else ""
    texts = split_text(reply.text) if reply.text and not caption else []
    parts: list[Part] = []
    if media:
        parts.append(Part(caption, reply.photo, reply.document, reply.filename))
    parts += [Part(text) for text in texts]
    if not parts:
        return []
    last = parts[-1]
    markup = keyboard(reply.buttons, buttons, link=link)
    parts[-1] = Part(last.text, last.photo, last.document, last.filename, markup)
    return parts


def edit_of(reply: Reply, buttons: ButtonData, *, link: str | None = None) -> Part:
    """The one editMessageText that makes an earlier message say `reply` (its text and buttons).

    An edited message cannot grow into several, so text longer than one message is cut at a
    natural break and ends with an ellipsis; handlers keep such texts short. Media are not part
    of an edit (`Reply.edit` names a text message).
    """
    text = reply.text
    if units(text) > TEXT_LIMIT:
        text = split_text(text, TEXT_LIMIT - 1)[0] + "…"
    return Part(text, markup=keyboard(reply.buttons, buttons, link=link))
