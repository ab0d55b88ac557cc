"""Matrix events to neutral messages: the inbound half of the Matrix adapter.

Everything here works on the plain event dictionaries of the client-server API (a decrypted
event looks the same as a clear one), so it can be tested without a homeserver. The adapter
decides which events to translate; this module decides what they mean. Besides messages, people's
reactions (`m.reaction` annotations) are passed on: a meeting's hub post counts them; and their
redactions, as deletions: the diary lets go of what a deleted message gave it.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bot.messages import (
    Attachment,
    AttachmentKind,
    ChatKind,
    ChatRef,
    Incoming,
    Reaction,
    Sender,
)

PLATFORM = "matrix"

MEDIA_KINDS = {
    "m.image": AttachmentKind.PHOTO,
    "m.audio": AttachmentKind.AUDIO,
    "m.video": AttachmentKind.VIDEO,
    "m.file": AttachmentKind.DOCUMENT,
}
TEXT_TYPES = ("m.text", "m.emote")
# Element marks recorded voice messages with the unstable MSC3245 key; `m.voice` is its stable name.
VOICE_KEYS = ("org.matrix.msc3245.voice", "m.voice")
# Other event types a person may send into the conversation, refused with a clear reply.
UNSUPPORTED_TYPES = {
    "m.sticker": "sticker",
    "org.matrix.msc3381.poll.start": "poll",
    "m.poll.start": "poll",
}


def chat_for(room_id: str, *, members: int, name: str | None, title: str) -> ChatRef:
    """The neutral chat of a room.

    A room with just the bot and one person is a private chat, unless it has a name: a coordinator
    may create the hub room ("Cluster 3 hub"), invite the bot and link it before inviting anyone
    else, and it must already count as a group then.
    """
    kind = ChatKind.PRIVATE if members <= 2 and not name else ChatKind.GROUP
    return ChatRef(PLATFORM, room_id, kind, title=title)


def server_of(user_id: str) -> str:
    """The homeserver part of a Matrix user id (`@ana:school.example` gives `school.example`)."""
    return user_id.partition(":")[2]


def is_reply_worthy(source: dict[str, Any], own_user_id: str) -> bool:
    """Whether an event is something a person said to the bot (not the bot's, not a notice).

    An edit (`m.replace`) of a text message counts: the diary may follow it.
    """
    if source.get("sender") == own_user_id or "redacted_because" in source.get("unsigned", {}):
        return False
    event_type = source.get("type")
    if event_type in UNSUPPORTED_TYPES:
        return True
    if event_type != "m.room.message":
        return False
    content = source.get("content") or {}
    # Notices are what other bots send: answering them could loop.
    return content.get("msgtype") != "m.notice"


def reaction_of(source: dict[str, Any], own_user_id: str) -> Reaction | None:
    """The reaction a person's `m.reaction` event makes (None for anything else).

    nio hands these over as `ReactionEvent`, or as a `BadEvent` when a field has the wrong type,
    decrypted or not; the plain event is read here alike. A reaction removed before the bot saw
    it comes redacted, without its relation, and is no reaction any more; the bot's own are never
    passed on. Reactions to events that are not the bot's still are: the handler decides.
    """
    if source.get("type") != "m.reaction" or source.get("sender") == own_user_id:
        return None
    if "redacted_because" in (source.get("unsigned") or {}):
        return None
    relation = (source.get("content") or {}).get("m.relates_to") or {}
    event_id, key = relation.get("event_id"), relation.get("key")
    if relation.get("rel_type") != "m.annotation" or not isinstance(event_id, str):
        return None
    if not isinstance(key, str) or not event_id or not key:
        return None
    return Reaction(message_id=event_id, key=key)


def undecrypted_reaction(source: dict[str, Any], own_user_id: str) -> Reaction | None:
    """The reaction an encrypted event that cannot be decrypted makes, if its relation says so.

    Element leaves a reaction's whole relation (the event reacted to and the emoji) in the clear
    for the homeserver to count, so a reaction whose room key never came is still one, and its
    sender is not asked to send it again as if it were an unreadable message.
    """
    if source.get("type") != "m.room.encrypted":
        return None
    return reaction_of({**source, "type": "m.reaction"}, own_user_id)


def _of_event(source: dict[str, Any], *, chat: ChatRef, sender: Sender, **fields: Any) -> Incoming:
    """The neutral message of one event: its id and time, from `chat` and `sender`, and `fields`."""
    return Incoming(
        chat=chat,
        sender=sender,
        message_id=str(source.get("event_id", "")),
        received_at=_timestamp(source.get("origin_server_ts")),
        **fields,
    )


def reaction_incoming(
    source: dict[str, Any], reaction: Reaction, *, chat: ChatRef, sender: Sender
) -> Incoming:
    """The neutral message of a reaction (see `reaction_of`): no text, the reaction set."""
    return _of_event(source, chat=chat, sender=sender, reaction=reaction)


def deletion(
    source: dict[str, Any], own_user_id: str, *, chat: ChatRef, sender: Sender
) -> Incoming | None:
    """The neutral message of a person's `m.room.redaction` (None for any other event).

    The redacted event's id is in the content from room version 11 on, and beside it, at the top
    of the event, before. Every redaction is passed on, whatever it redacts (the bot never learns
    that without fetching the event): a message, or a reaction taken back, which the handlers
    find nothing of and leave be. Redactions are never encrypted; the bot's own are not passed on.
    """
    if source.get("type") != "m.room.redaction" or source.get("sender") == own_user_id:
        return None
    content = source.get("content")
    inside = content.get("redacts") if isinstance(content, dict) else None
    redacts = inside or source.get("redacts")
    if not isinstance(redacts, str) or not redacts:
        return None
    return _of_event(source, chat=chat, sender=sender, deleted_of=redacts)


def first_new_event(
    timeline: Sequence[dict[str, Any]], *, last_handled: str | None, user_id: str
) -> tuple[int, bool]:
    """Where the events of a joined room's timeline begin that are new to the bot.

    A timeline can hand back history: after a kick and a new invitation, the sync that joins the
    room again returns its last events, including everything the bot already answered. An event
    is not new when it is `last_handled` (the last event the bot handled in the room) or comes
    before it, or when it comes before the bot's latest arrival in the room (its invitation, or a
    join no invitation led to): what was said while the bot was away was not said to it.

    Returns:
        The index of the first new event, and whether the timeline reached back to one of those
        two landmarks (if not, all of it is new, and a gap before it may have been skipped).
    """
    start, anchored = 0, False
    for index, source in enumerate(timeline):
        handled = last_handled is not None and source.get("event_id") == last_handled
        if handled or _arrival(source, user_id):
            start, anchored = index + 1, True
    return start, anchored


def removal(source: dict[str, Any], user_id: str, chat: ChatRef) -> Incoming | None:
    """The bot kicked or banned from the room of `chat` by someone (None for any other event)."""
    content = source.get("content") or {}
    kicker = source.get("sender")
    if (
        source.get("type") != "m.room.member"
        or source.get("state_key") != user_id
        or content.get("membership") not in ("leave", "ban")
        or not isinstance(kicker, str)
        or kicker == user_id  # the bot left on its own
    ):
        return None
    return _of_event(source, chat=chat, sender=Sender(PLATFORM, kicker, kicker), removed=True)


def _arrival(source: dict[str, Any], user_id: str) -> bool:
    """Whether `source` is the bot's invitation to a room, or a join no invitation led to."""
    if source.get("type") != "m.room.member" or source.get("state_key") != user_id:
        return False
    membership = (source.get("content") or {}).get("membership")
    unsigned = source.get("unsigned") or {}
    previous = (unsigned.get("prev_content") or source.get("prev_content") or {}).get("membership")
    return membership in ("invite", "join") and previous not in ("invite", "join")


def to_incoming(source: dict[str, Any], *, chat: ChatRef, sender: Sender) -> Incoming:
    """Translate one message event (see `is_reply_worthy`) into a neutral message."""
    content = source.get("content") or {}
    base = _of_event(source, chat=chat, sender=sender)
    relation = content.get("m.relates_to") or {}
    root = relation.get("event_id")
    if relation.get("rel_type") == "m.thread" and isinstance(root, str) and root:
        # Said in a thread: the answer goes into the same thread (`ChatRef.thread`).
        base = replace(base, chat=replace(chat, thread=root))
    event_type = source.get("type")
    if event_type in UNSUPPORTED_TYPES:
        return _with(base, _unsupported(UNSUPPORTED_TYPES[event_type]))
    msgtype = content.get("msgtype")
    if relation.get("rel_type") == "m.replace":
        # An edit: what the message says now is its new content (the body is a "* " fallback).
        new = content.get("m.new_content") or {}
        text = str(new.get("body") or str(content.get("body") or "").removeprefix("* "))
        return replace(base, text=text, edit_of=str(relation.get("event_id") or ""))
    if msgtype in TEXT_TYPES:
        return replace(base, text=_without_reply_fallback(content))
    if msgtype in MEDIA_KINDS:
        return _with(base, media_attachment(content))
    return _with(base, _unsupported(str(msgtype or event_type)))


def media_attachment(content: dict[str, Any]) -> Attachment:
    """The attachment of an `m.image`/`m.audio`/`m.video`/`m.file` message.

    `ref` is JSON: the mxc URI, plus for an encrypted file its key, IV and hash (the `file`
    object of the event), which is all `MatrixChannel.download` needs to fetch and decrypt it.
    """
    msgtype = content.get("msgtype", "")
    info = content.get("info") if isinstance(content.get("info"), dict) else {}
    encrypted = content.get("file") if isinstance(content.get("file"), dict) else None
    url = encrypted.get("url") if encrypted else content.get("url")
    if not isinstance(url, str) or not url.startswith("mxc://"):
        return _unsupported(f"{msgtype} without a file")
    kind = MEDIA_KINDS[msgtype]
    if kind == AttachmentKind.AUDIO and any(key in content for key in VOICE_KEYS):
        kind = AttachmentKind.VOICE
    body = str(content.get("body") or "")
    # Since Matrix 1.10 a `filename` next to a different `body` makes the body a caption.
    filename = str(content.get("filename") or body) or None
    caption = body if content.get("filename") and body and body != filename else None
    mime = info.get("mimetype") or mimetypes.guess_type(filename or "")[0]
    duration_ms = info.get("duration")
    size = info.get("size")
    ref = {"url": url, "file": encrypted} if encrypted else {"url": url}
    return Attachment(
        kind=kind,
        ref=json.dumps(ref, sort_keys=True),
        mime=str(mime or "application/octet-stream"),
        size=size if isinstance(size, int) else None,
        filename=filename,
        duration_s=duration_ms / 1000 if isinstance(duration_ms, int | float) else None,
        caption=caption,
        platform_kind=msgtype,
    )


def parse_ref(ref: str) -> dict[str, Any]:
    """The mxc URI (`url`) and encryption secrets (`file`, if any) in an attachment's `ref`.

    Raises:
        ValueError: `ref` was not made by `media_attachment`.
    """
    loaded = json.loads(ref)
    if not isinstance(loaded, dict) or not str(loaded.get("url", "")).startswith("mxc://"):
        raise ValueError(f"not a Matrix attachment reference: {ref[:80]!r}")
    return loaded


def _unsupported(what: str) -> Attachment:
    return Attachment(kind=AttachmentKind.UNSUPPORTED, ref="", platform_kind=what)


def _with(base: Incoming, attachment: Attachment) -> Incoming:
    return replace(base, attachments=(attachment,))


def _without_reply_fallback(content: dict[str, Any]) -> str:
    """The body without the quoted message older clients put in front of a reply."""
    body = str(content.get("body") or "")
    relation = content.get("m.relates_to") or {}
    if "m.in_reply_to" not in relation or not body.startswith("> "):
        return body
    lines = body.split("\n")
    while lines and lines[0].startswith(">"):
        lines.pop(0)
    return "\n".join(lines).lstrip("\n")


def _timestamp(milliseconds: object) -> datetime:
    if isinstance(milliseconds, int):
        return datetime.fromtimestamp(milliseconds / 1000, UTC)
    return datetime.now(UTC)
