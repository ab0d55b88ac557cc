"""Matrix room manners against a real Synapse: leaving a room where the bot is alone, following a
room to its replacement (an upgrade), and read receipts on what the bot has answered.

Teachers are nio clients; a room upgrade is Synapse's own (`/upgrade`), as Element asks for it.
Every wait ends when what it waits for happens, within the generous `WAIT_S`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from nio import JoinedRoomsResponse, RoomPutStateResponse
from sqlmodel import select

from bot.messages import ChatKind
from bot.settings import Settings
from storage.models import HubChat, Identity
from tests.synapse import WAIT_S, Synapse, Teacher, synapse  # noqa: F401 (the fixture)
from tests.test_hub_matrix import linked_hub
from tests.test_matrix_e2e import (  # noqa: F401 (fixtures)
    Bot,
    become_member,
    codes_of,
    keys_may_be_slow,
    running,
    settings,
    teacher,
)

pytestmark = pytest.mark.synapse


async def left_by_bot(bot: Bot, room_id: str) -> None:
    """Return once the bot's homeserver no longer counts it in the room.

    Nobody else is left there to see it go, so its homeserver is asked, a few times a second.
    """
    async with asyncio.timeout(WAIT_S):
        while True:
            joined = await bot.channel.client.joined_rooms()
            assert isinstance(joined, JoinedRoomsResponse), joined
            if room_id not in joined.rooms:
                return
            await asyncio.sleep(0.2)


async def test_a_person_leaving_the_direct_chat_takes_the_bot_out_too(
    synapse: Synapse,  # noqa: F811
    settings: Settings,  # noqa: F811
    tmp_path: Path,
) -> None:
    async with running(settings) as bot, teacher(synapse, tmp_path, "ana") as ana:
        codes = await codes_of(bot)
        dm = await ana.room_with(settings.matrix_user_id or "", encrypted=True)
        await become_member(ana, dm, codes["contributor"])

        await ana.client.room_leave(dm)
        await left_by_bot(bot, dm)
        (gone,) = [msg for msg in bot.seen if msg.removed]
        assert (gone.chat.chat_id, gone.chat.kind) == (dm, ChatKind.PRIVATE)
        assert gone.sender.user_id == ana.user_id
        async with bot.app.db.session() as session:
            (identity,) = (await session.exec(select(Identity))).all()
        assert identity.unreachable_since is not None  # until she writes again


async def test_a_hub_everyone_left_is_left_and_unlinked(
    synapse: Synapse,  # noqa: F811
    settings: Settings,  # noqa: F811
    tmp_path: Path,
) -> None:
    async with running(settings) as bot, teacher(synapse, tmp_path, "cora") as cora:
        codes = await codes_of(bot)
        dm = await cora.room_with(settings.matrix_user_id or "", encrypted=True)
        await become_member(cora, dm, codes["coordinator"])
        hub = await linked_hub(cora, dm, settings.matrix_user_id or "")

        await cora.client.room_leave(hub)
        await cora.until(dm, "the hub chat of Demo Cluster")
        await left_by_bot(bot, hub)
        async with bot.app.db.session() as session:
            assert (await session.exec(select(HubChat))).all() == []


async def test_a_hub_upgraded_to_a_new_room_is_the_hub_there(
    synapse: Synapse,  # noqa: F811
    settings: Settings,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A room anyone may join: the bot joins the new room as the tombstone says, uninvited."""
    bot_id = settings.matrix_user_id or ""
    async with running(settings) as bot, teacher(synapse, tmp_path, "cora") as cora:
        codes = await codes_of(bot)
        dm = await cora.room_with(bot_id, encrypted=True)
        await become_member(cora, dm, codes["coordinator"])
        hub = await linked_hub(cora, dm, bot_id)
        public = await cora.client.room_put_state(hub, "m.room.join_rules", {"join_rule": "public"})
        assert isinstance(public, RoomPutStateResponse), public

        new = await cora.upgrade(hub)
        await cora.wait_for(lambda: cora.member(new, bot_id) == "join")
        await cora.wait_for(lambda: cora.member(hub, bot_id) is None)  # gone from the old one
        async with bot.app.db.session() as session:
            (linked,) = (await session.exec(select(HubChat))).all()
        assert linked.chat_id == new
        await cora.say(new, "/digest 7d")
        await cora.until(new, "Diary digest of Demo Cluster")


async def test_a_tombstone_naming_a_room_not_made_from_the_hub_moves_nothing(
    synapse: Synapse,  # noqa: F811
    settings: Settings,  # noqa: F811
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Any room admin may write a tombstone; only a room created as the upgrade is followed."""
    bot_id = settings.matrix_user_id or ""
    async with running(settings) as bot, teacher(synapse, tmp_path, "cora") as cora:
        codes = await codes_of(bot)
        dm = await cora.room_with(bot_id, encrypted=True)
        await become_member(cora, dm, codes["coordinator"])
        hub = await linked_hub(cora, dm, bot_id)

        # Pointed at a room the bot is in already (cora's direct chat), not made from the hub.
        forged = {"body": "moved", "replacement_room": dm}
        sent = await cora.client.room_put_state(hub, "m.room.tombstone", forged)
        assert isinstance(sent, RoomPutStateResponse), sent
        await cora.say(hub, "/digest 7d")  # handled after the tombstone, in the same room
        await cora.until(hub, "Diary digest of Demo Cluster")
        # The bot looks at the named room when it next hears from it (it is in it already).
        await cora.say(dm, "/help")
        await cora.until(dm, "/digest")
        assert f"{dm} does not replace {hub}" in caplog.text
        async with bot.app.db.session() as session:
            (linked,) = (await session.exec(select(HubChat))).all()
        assert linked.chat_id == hub
        assert cora.member(hub, bot_id) == "join"


async def test_a_direct_chat_upgraded_to_a_new_room_goes_on_there(
    synapse: Synapse,  # noqa: F811
    settings: Settings,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A room by invitation only: the bot joins when invited, as Element invites on upgrading."""
    bot_id = settings.matrix_user_id or ""
    async with running(settings) as bot, teacher(synapse, tmp_path, "ana") as ana:
        codes = await codes_of(bot)
        dm = await ana.room_with(bot_id, encrypted=True)
        await become_member(ana, dm, codes["contributor"])
        await ana.say(dm, "/add")
        await ana.until(dm, "Which part of the diary")

        new = await ana.upgrade(dm)
        await ana.client.room_invite(new, bot_id)
        # The open question comes again in the new room, where a number picks from it.
        await ana.until(new, "Which part of the diary")
        await ana.say(new, "1")
        await ana.until(new, "question 1 of")
        await ana.wait_for(lambda: ana.member(dm, bot_id) is None)
        async with bot.app.db.session() as session:
            (identity,) = (await session.exec(select(Identity))).all()
        assert (identity.private_chat_id, identity.unreachable_since) == (new, None)


async def test_a_message_the_bot_answered_shows_as_read(
    synapse: Synapse,  # noqa: F811
    settings: Settings,  # noqa: F811
    tmp_path: Path,
) -> None:
    bot_id = settings.matrix_user_id or ""
    async with running(settings), teacher(synapse, tmp_path, "ana") as ana:
        dm = await ana.room_with(bot_id, encrypted=True)
        said = await ana.say(dm, "/help")
        await ana.until(dm, "Here is what I can do")

        def read_by_bot() -> bool:
            receipt = ana.client.rooms[dm].read_receipts.get(bot_id)
            return receipt is not None and receipt.event_id == said

        await ana.wait_for(read_by_bot)
