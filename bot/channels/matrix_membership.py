"""What people leaving a room, and a room's upgrade, mean for the bot.

Pure functions: each reads the plain event dictionaries of one joined room in one sync (its state
and timeline), so it can be tested without a homeserver; the channel (`matrix`) acts on them.

A room everyone else has left (left, was kicked or banned, declined or lost an invitation), with
nobody invited any more, has nobody left to talk to: the bot leaves it too. Its chat first hears of
it as the bot's removal (`Incoming.removed`), as the chat was before they went: a direct chat (the
person is then out of reach until they write again) or a group (a hub link ends).

A room upgrade (an `m.room.tombstone` naming its `replacement_room`) moves the chat to a new room:
the bot joins that room, and the chat's links follow it (`Incoming.moved_from`), as they follow a
Telegram group upgraded to a supergroup.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import Any

from bot.channels.matrix_events import PLATFORM, chat_for
from bot.messages import ChatRef, Incoming, Sender

# The memberships of someone no longer in the room (a declined invitation is a leave too).
GONE = ("leave", "ban")


def abandoned(
    sources: Sequence[dict[str, Any]],
    *,
    own: str,
    room_id: str,
    members: Collection[str],
    name: str | None,
    title: str,
) -> Incoming | None:
    """The bot's removal from a room everyone else has left; None unless someone left just now.

    `sources` are the room's new events, `members` everyone joined or invited after them (with
    anyone but the bot among them, it is not alone: None too). The chat is the room as it was
    before these departures, the bot and those who went (a direct chat when that was one person
    and the room has no name, as `chat_for` saw it); the sender is the last to go, who is the
    person in a direct chat.
    """
    if any(member != own for member in members):
        return None
    gone = [
        source
        for source in sources
        if source.get("type") == "m.room.member"
        and isinstance(source.get("state_key"), str)
        and source["state_key"] != own
        and (source.get("content") or {}).get("membership") in GONE
    ]
    if not gone:
        return None
    leavers = {source["state_key"] for source in gone}
    last = gone[-1]["state_key"]
    return Incoming(
        chat=chat_for(room_id, members=1 + len(leavers), name=name, title=title),
        sender=Sender(PLATFORM, last, last),
        message_id=str(gone[-1].get("event_id", "")),
        removed=True,
    )


def replacement(sources: Sequence[dict[str, Any]], chat: ChatRef) -> Incoming | None:
    """The move the room's newest tombstone announces: `chat` at the replacement room's id.

    `moved_from` is the old room's id and the sender whoever upgraded the room (in a direct chat,
    the person). None without a tombstone among `sources`, or when the newest names no other room.
    """
    for source in reversed(sources):
        if source.get("type") != "m.room.tombstone" or source.get("state_key") != "":
            continue
        new_room = (source.get("content") or {}).get("replacement_room")
        sender = source.get("sender")
        if not isinstance(new_room, str) or not new_room or new_room == chat.chat_id:
            return None
        if not isinstance(sender, str):
            return None
        return Incoming(
            chat=replace(chat, chat_id=new_room),
            sender=Sender(PLATFORM, sender, sender),
            message_id=str(source.get("event_id", "")),
            moved_from=chat.chat_id,
        )
    return None
