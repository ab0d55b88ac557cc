"""The Matrix channel's memory per room: which events are new, the last handled one and the
offered choices saved with the sync token, history handed back again, and the migration of
remembered choices.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from alembic import command
from nio import MatrixRoom
from sqlalchemy import text

from bot.channels.matrix import MatrixChannel
from bot.channels.matrix_events import (
    first_new_event,
)
from bot.channels.matrix_session import SavedValues
from bot.settings import load_settings
from storage.db import Database, alembic_config
from tests.test_matrix_units import BOT, event


def member(user: str, membership: str, previous: str | None, event_id: str) -> dict[str, object]:
    unsigned = {"prev_content": {"membership": previous}} if previous else {}
    return {
        "type": "m.room.member",
        "event_id": event_id,
        "state_key": user,
        "sender": "@ana:localhost",
        "content": {"membership": membership},
        "unsigned": unsigned,
    }


def said(event_id: str) -> dict[str, object]:
    return event({"msgtype": "m.text", "body": event_id}, event_id=event_id)


def test_a_timeline_is_new_after_the_last_handled_event_and_the_latest_arrival() -> None:
    plain = [said("$a"), said("$b")]
    assert first_new_event(plain, last_handled=None, user_id=BOT) == (0, False)
    assert first_new_event(plain, last_handled="$a", user_id=BOT) == (1, True)
    assert first_new_event(plain, last_handled="$gone", user_id=BOT) == (0, False)
    # What a sync that joins the room again hands back after a kick and a new invitation.
    rejoined = [
        member(BOT, "invite", None, "$invite"),
        member(BOT, "join", "invite", "$join"),
        said("$1"),
        said("$2"),
        member(BOT, "leave", "join", "$kick"),
        said("$while-away"),
        member(BOT, "invite", "leave", "$invite-again"),
        said("$before-joining"),
        member(BOT, "join", "invite", "$join-again"),
        said("$new"),
    ]
    start, anchored = first_new_event(rejoined, last_handled="$2", user_id=BOT)
    assert [e["event_id"] for e in rejoined[start:]] == ["$before-joining", "$join-again", "$new"]
    assert anchored
    # Without the membership events (a timeline cut short), the last handled event still holds.
    history = [e for e in rejoined if e["type"] != "m.room.member"]
    start, _ = first_new_event(history, last_handled="$2", user_id=BOT)
    assert [e["event_id"] for e in history[start:]] == ["$while-away", "$before-joining", "$new"]
    # Someone else's arrival, or the bot's join after its invitation, is no landmark.
    others = [member("@ben:localhost", "invite", None, "$ben"), member(BOT, "join", "invite", "$j")]
    assert first_new_event([*others, said("$x")], last_handled=None, user_id=BOT) == (0, False)
    assert first_new_event(
        [member(BOT, "join", "leave", "$j"), said("$x")], last_handled=None, user_id=BOT
    ) == (1, True)


async def test_the_last_handled_event_per_room_is_saved_with_the_sync_token(db: Database) -> None:
    """On SQLite and PostgreSQL, with ids as long as real ones, for one bot account only."""
    account = "@diarybot-1234abcd:school.example"
    room = "!AbCdEfGhIjKlMnOpQr:school.example"
    second, third = "!second:school.example", "!third:school.example"
    saved, other = SavedValues(db, account), SavedValues(db, "@other:school.example")
    await saved.set_buttons(room, '[["Yes", "3:yes"]]')
    await saved.checkpoint("s1", {room: "$first", second: "$x"})
    await saved.checkpoint("s2", {room: "$" + "e" * 254}, {second: "[]", third: '[["A", "a"]]'})
    assert await saved.get("sync_token") == "s2"
    assert await saved.last_handled() == {room: "$" + "e" * 254, second: "$x"}
    assert await saved.buttons(room) == '[["Yes", "3:yes"]]'  # the same row, both kept
    assert await saved.rooms() == (
        {room: "$" + "e" * 254, second: "$x"},
        {room: '[["Yes", "3:yes"]]', second: "[]", third: '[["A", "a"]]'},
    )
    await saved.set_buttons(room, "[]")
    assert await saved.buttons(room) == "[]"
    await saved.checkpoint(None, {}, {third: "[]"})  # no token yet: the rooms alone
    assert await saved.get("sync_token") == "s2" and await saved.buttons(third) == "[]"
    assert await saved.last_handled() != {}
    assert await other.rooms() == ({}, {}) and await other.buttons(room) is None
    assert await saved.buttons("!unknown:school.example") is None


class Recording:
    """A stand-in for the client, inbox and outbox: rooms exist, put events are recorded."""

    user_id = BOT

    def __init__(self) -> None:
        self.rooms = {"!dm:localhost": MatrixRoom("!dm:localhost", BOT)}
        self.put_ids: list[str] = []
        self.offered: dict[str, str] = {}

    def put(self, room: MatrixRoom, event: SimpleNamespace) -> asyncio.Task[None]:
        self.put_ids.append(event.source["event_id"])
        return asyncio.create_task(asyncio.sleep(0))

    def take_offered(self) -> dict[str, str]:
        offered, self.offered = self.offered, {}
        return offered


def sync(batch: str, *events: dict[str, object], limited: bool = False) -> Any:
    """What `MatrixChannel._schedule` reads of a sync response: one room's timeline."""
    timeline = SimpleNamespace(events=[SimpleNamespace(source=e) for e in events], limited=limited)
    return SimpleNamespace(
        next_batch=batch,
        rooms=SimpleNamespace(
            join={"!dm:localhost": SimpleNamespace(timeline=timeline, state=[])}, leave={}
        ),
    )


async def test_history_handed_back_again_is_not_handled_again_even_after_a_restart(
    db: Database, tmp_path: Path
) -> None:
    """The channel's own memory, without the membership events that usually come along; also
    from a sync token older than the last handled events (a crash)."""
    settings = load_settings(
        data_dir=tmp_path,
        matrix_homeserver="http://127.0.0.1:9",
        matrix_user_id=BOT,
    )

    async def channel_with_saved_state() -> tuple[MatrixChannel, Recording]:
        channel = MatrixChannel(settings, db)
        fake = Recording()
        channel._client = channel._inbox = channel._outbox = fake  # type: ignore[assignment]
        await channel._checkpoints.load()
        return channel, fake

    channel, fake = await channel_with_saved_state()
    channel._schedule(sync("s1", said("$1"), said("$2")), warn_if_limited=True)
    reply = event({"msgtype": "m.text", "body": "Hi"}, event_id="$reply", sender=BOT)
    channel._schedule(sync("s2", reply), warn_if_limited=True)
    await channel._checkpoints.close()
    assert fake.put_ids == ["$1", "$2"]  # never the bot's own reply
    # The same history again, within the run and after a restart, then one new message.
    again = sync("s3", said("$1"), said("$2"), reply, said("$3"), limited=True)
    channel._schedule(again, warn_if_limited=True)
    assert channel._checkpoints._last is not None
    await channel._checkpoints._last  # and a crash: the token saved stays behind
    assert fake.put_ids == ["$1", "$2", "$3"]
    assert await channel._saved.get("sync_token") == "s2"
    channel, fake = await channel_with_saved_state()
    channel._schedule(again, warn_if_limited=True)
    await channel._checkpoints.close()
    assert fake.put_ids == []
    assert await channel._saved.get("sync_token") == "s3"


async def test_remembered_choices_move_out_of_channel_state(database_url: str) -> None:
    """The migration carries the choices offered before it into `matrix_rooms`."""
    db = Database(database_url)

    def upgrade(connection: object, revision: str) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with db.engine.begin() as connection:
        await connection.run_sync(upgrade, "0001")
        await connection.execute(
            text(
                "INSERT INTO channel_state (platform, key, value, updated_at) VALUES "
                "('matrix', '@bot:localhost:8448:buttons:!room:localhost:8448', '[]', "
                "CURRENT_TIMESTAMP), "
                "('matrix', '@bot:localhost:8448:sync_token', 's9', CURRENT_TIMESTAMP)"
            )
        )
    await db.upgrade()
    saved = SavedValues(db, "@bot:localhost:8448")
    assert await saved.buttons("!room:localhost:8448") == "[]"
    assert await saved.get("sync_token") == "s9"
    async with db.engine.connect() as connection:
        keys = (await connection.execute(text("SELECT key FROM channel_state"))).scalars().all()
    assert keys == ["@bot:localhost:8448:sync_token"]
    await db.close()
