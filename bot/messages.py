"""Platform-neutral message types shared by channel adapters and handlers.

Only the standard library is imported here: adapters translate their platform's events into
these types and the handlers' replies back into platform calls, so handlers never see a
platform library.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum


class ChatKind(StrEnum):
    """Whether a chat is a one-to-one conversation with the bot or a group (a hub chat)."""

    PRIVATE = "private"
    GROUP = "group"


class AttachmentKind(StrEnum):
    """The kinds of media a contributor can send as evidence."""

    PHOTO = "photo"
    VOICE = "voice"
    AUDIO = "audio"
    VIDEO = "video"
    DOCUMENT = "document"
    UNSUPPORTED = "unsupported"


@dataclass(frozen=True, slots=True)
class ChatRef:
    """A chat on one platform: where a message came from or where a reply goes."""

    platform: str
    chat_id: str
    kind: ChatKind = ChatKind.PRIVATE
    title: str = ""
    # A topic of a Telegram forum group, or a Matrix thread (its root event): replies and posts
    # go there. Not part of `key`: a chat's conversations are the same in all its threads.
    thread: str | None = None

    @property
    def key(self) -> str:
        """A stable text key for the chat, unique across platforms."""
        return f"{self.platform}:{self.chat_id}"


@dataclass(frozen=True, slots=True)
class Sender:
    """The person who sent a message, as the platform knows them."""

    platform: str
    user_id: str
    display_name: str = ""
    language_hint: str | None = None


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file attached to an incoming message.

    `ref` is whatever the adapter needs to fetch the bytes later (a platform file id, an mxc
    URI, a local path); handlers pass the attachment back to the channel to download it.
    """

    kind: AttachmentKind
    ref: str
    mime: str = "application/octet-stream"
    size: int | None = None
    filename: str | None = None
    duration_s: float | None = None
    caption: str | None = None
    # What the platform called it, for a clear refusal ("sticker", "poll", ...).
    platform_kind: str = ""


@dataclass(frozen=True, slots=True)
class Reaction:
    """A person reacted to a message with an emoji (Matrix `m.reaction`, an annotation).

    `message_id` is the platform id of the message reacted to, as `Channel.send` returned it
    when the bot posted it; `key` is the emoji (or text) of the reaction.
    """

    message_id: str
    key: str


@dataclass(frozen=True, slots=True)
class Incoming:
    """One message, command or button press arriving from a chat."""

    chat: ChatRef
    sender: Sender
    text: str = ""
    attachments: tuple[Attachment, ...] = ()
    button: str | None = None
    message_id: str = ""
    media_group: str | None = None
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # Set when the platform moved the group to a new id (Telegram's upgrade of a group to a
    # supergroup): the chat's old id, so links to it can follow; `chat` is the new one.
    moved_from: str | None = None
    # The person sent something the platform delivered but the bot cannot read (a Matrix message
    # encrypted with a key that never reached the bot): they are asked to send it again.
    unreadable: bool = False
    # Not a message but a reaction to one (the text is then empty).
    reaction: Reaction | None = None
    # The id of the message this one corrects (Telegram `edited_message`, Matrix `m.replace`):
    # `text` is what it says now.
    edit_of: str | None = None
    # Sent in the name of the group itself (a Telegram admin who "remains anonymous"): nobody
    # can tell who wrote it, so it is answered with how to write as oneself, and nothing else.
    anonymous: bool = False
    # Not a message: the bot was taken out of this chat (removed from a group by an admin).
    removed: bool = False
    # The channel shows choices as a numbered list (the console): a typed number may pick one.
    numbered: bool = False
    # Not a message: the person deleted the message with this id (a Matrix redaction).
    deleted_of: str | None = None

    @property
    def command(self) -> str | None:
        """The command name without slash or bot suffix (`/join@DiaryBot x` gives `join`)."""
        if self.button is not None or not self.text.startswith("/"):
            return None
        word = self.text.split(maxsplit=1)[0][1:]
        return word.split("@", 1)[0].lower() or None

    @property
    def argument(self) -> str:
        """Whatever follows the command word, stripped."""
        parts = self.text.split(maxsplit=1)
        return parts[1].strip() if len(parts) > 1 else ""


@dataclass(frozen=True, slots=True)
class Button:
    """One choice offered under a reply; `data` comes back as `Incoming.button` when picked."""

    label: str
    data: str
    # A command meant for the person's private chat with the bot, offered in a group: Telegram
    # makes it a link that opens that chat and starts the command; channels that cannot open
    # a private chat leave it out in groups (the text says where to send the command).
    private: bool = False

    def in_list(self, n: int) -> str:
        """The label as the `n`-th item of a numbered list: a number it carries already goes.

        `/mine` numbers its buttons ("1. The issue") to match its text; where the channel
        numbers the options itself, that would read "1. 1. The issue".
        """
        return self.label.removeprefix(f"{n}. ")


@dataclass(frozen=True, slots=True)
class Reply:
    """Something the bot says: text with optional choices, or a photo/document with a caption.

    `chat` is None for "the chat the message came from"; a handler sets it to post elsewhere,
    such as a cluster's hub chat. `expects_text` marks a question answered in free text whose
    buttons are only shortcuts (Skip, That's all): adapters that number their options must then
    take a typed number as the answer, not as a choice. `key` is a stable idempotency key (the
    same for every attempt to send the same message, such as a reminder row's key): a channel
    that can deduplicate re-sends uses it so the message reaches the chat once however often it
    is sent; None for ordinary replies. `edit` is the platform id of a text message the bot
    posted earlier in `chat` (as `Channel.send` returned it): its text and buttons are replaced
    by this reply's, in place, as the platform edits messages (a meeting's hub post keeping its
    RSVP tally current).
    """

    text: str = ""
    buttons: tuple[Button, ...] = ()
    chat: ChatRef | None = None
    photo: bytes | None = None
    document: bytes | None = None
    filename: str | None = None
    expects_text: bool = False
    key: str | None = None
    edit: str | None = None
    # An automatic post nobody needs to be alerted to (a digest): Matrix sends it as m.notice,
    # the bots' convention, which clients show without notifying.
    notice: bool = False

    def to(self, chat: ChatRef) -> Reply:
        """The same reply addressed to `chat`."""
        return replace(self, chat=chat)
