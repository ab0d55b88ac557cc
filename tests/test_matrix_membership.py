"""What people leaving a room and a room's upgrade mean for the bot, without a homeserver.

The Synapse side of the same (the bot leaving, following, and the chat's links moving) is in
test_matrix_native.py.
"""

from __future__ import annotations

from bot.channels.matrix_events import chat_for
from bot.channels.matrix_membership import abandoned, replacement
from bot.messages import ChatKind, Incoming, Sender

BOT = "@diarybot:localhost"
ANA = "@ana:localhost"
BEN = "@ben:localhost"
ROOM = "!old:localhost"


def member(user: str, membership: str, *, by: str | None = None, n: int = 1) -> dict[str, object]:
    return {
        "type": "m.room.member",
        "event_id": f"${user[1:4]}{n}",
        "state_key": user,
        "sender": by or user,
        "content": {"membership": membership},
    }


def tombstone(replacement_room: object, *, n: int = 1, **fields: object) -> dict[str, object]:
    return {
        "type": "m.room.tombstone",
        "event_id": f"$tomb{n}",
        "state_key": "",
        "sender": ANA,
        "content": {"body": "This room has been replaced", "replacement_room": replacement_room},
        **fields,
    }


def left(
    *sources: dict[str, object], members: tuple[str, ...] = (BOT,), name: str | None = None
) -> Incoming | None:
    return abandoned(sources, own=BOT, room_id=ROOM, members=members, name=name, title="")


def test_a_person_leaving_their_direct_chat_takes_the_bot_out_of_it() -> None:
    gone = left(member(ANA, "join"), member(ANA, "leave"))
    assert gone is not None and gone.removed and gone.chat.kind == ChatKind.PRIVATE
    assert (gone.chat, gone.sender, gone.message_id) == (
        chat_for(ROOM, members=2, name=None, title=""),
        Sender("matrix", ANA, ANA),
        "$ana1",
    )
    # Kicked or banned, they are gone all the same; nio may no longer list the bot itself.
    assert left(member(ANA, "leave", by=BEN)) is not None
    assert left(member(ANA, "ban", by=BEN), members=()) is not None


def test_a_room_that_had_a_name_or_more_people_was_a_group() -> None:
    named = left(member(ANA, "leave"), name="Cluster 3 hub")
    assert named is not None and named.chat.kind == ChatKind.GROUP
    # Ben declined his invitation, then Ana left: three in the room before, the last to go sends.
    both = left(member(BEN, "leave"), member(ANA, "leave", n=2))
    assert both is not None and both.chat.kind == ChatKind.GROUP
    assert (both.sender.user_id, both.message_id) == (ANA, "$ana2")


def test_the_bot_stays_while_anyone_is_joined_or_invited_or_nobody_left() -> None:
    assert left(member(ANA, "leave"), members=(BOT, BEN)) is None
    assert left(member(ANA, "join"), member(BEN, "invite", by=ANA)) is None  # nobody left
    assert left(member(BOT, "leave", by=ANA)) is None  # the bot's own leaving: not its business
    assert left({"type": "m.room.message", "sender": ANA, "content": {}}) is None


def test_a_tombstone_moves_the_chat_to_its_replacement() -> None:
    hub = chat_for(ROOM, members=5, name="Hub", title="Hub")
    moved = replacement([member(ANA, "join"), tombstone("!new:localhost")], hub)
    assert moved is not None
    assert moved.chat == chat_for("!new:localhost", members=5, name="Hub", title="Hub")
    assert (moved.moved_from, moved.sender.user_id, moved.message_id) == (ROOM, ANA, "$tomb1")
    # A direct chat stays one, whatever its new room looks like when the bot gets there.
    direct = chat_for(ROOM, members=2, name=None, title="Ana")
    moved = replacement([tombstone("!new:localhost")], direct)
    assert moved is not None and moved.chat.kind == ChatKind.PRIVATE


def test_only_the_newest_tombstone_naming_another_room_counts() -> None:
    chat = chat_for(ROOM, members=2, name=None, title="")
    newest = replacement([tombstone("!first:localhost"), tombstone("!second:x", n=2)], chat)
    assert newest is not None and newest.chat.chat_id == "!second:x"
    assert replacement([tombstone("!first:localhost"), tombstone(None, n=2)], chat) is None
    assert replacement([tombstone(ROOM)], chat) is None
    assert replacement([tombstone("")], chat) is None
    assert replacement([tombstone("!new:x", state_key="x")], chat) is None
    assert replacement([tombstone("!new:x", sender=None)], chat) is None
    assert replacement([member(ANA, "leave")], chat) is None
