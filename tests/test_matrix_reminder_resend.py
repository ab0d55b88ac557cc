"""A reminder sent again after a crash reaches a Matrix room once: keyed transaction ids.

Delivery marks a reminder row sent only after the platform accepted the message, so a process
killed in between sends it again once the row's lease runs out. Delivery therefore gives every
reminder's reply the row's unique key (`Reply.key`), and the Matrix outbox derives each event's
transaction id from that key, the room and the event's part, instead of a random one.

What the homeserver makes of a repeated transaction id, as read in and tested against the
installed Synapse (1.163.2): the event is stored once per (room, user, device, transaction id).
`event_txn_id_device_id` maps those to the stored event and is kept 24 hours (a background job
deletes older rows every 5 minutes); an in-memory cache keyed by request path, user and device
also answers repeats for 30 to 60 minutes. A new access token on the same device does not
matter, and a restarted bot keeps its device (the saved login, `matrix_session`), so:

- the same channel sending a keyed reply twice stores it once;
- a restarted channel (a new process: saved token and device restored) stores it once;
- a channel that logs in again with its password onto its saved device (a new access token)
  stores it once;
- but a channel on a new device (its old one was signed out for good, so the saved device is
  dropped) stores it again: the limit of this protection, as is a re-send more than a day later.

A reply without a key keeps a random transaction id per send, so saying the same thing twice is
stored twice.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import string
import urllib.request
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from sqlmodel import select

from bot.channels.matrix import MatrixChannel
from bot.channels.matrix_outbox import DOCUMENT, PHOTO, TEXT, transaction_id
from bot.channels.matrix_session import SavedValues
from bot.messages import ChatKind, ChatRef, Incoming, Reply
from bot.scheduler import Scheduler
from bot.settings import DEFAULT_CONSENT_VERSION, Settings, load_settings
from storage.db import Database
from storage.models import Reminder, ReminderStatus
from tests.builders import demo_codes, member, set_rhythm
from tests.helpers import Harness
from tests.synapse import PASSWORD, WAIT_S, Synapse, Teacher, synapse  # noqa: F401 (the fixture)

REMINDER = "Input point: please add your school's entry by Friday."
KEY = "reminder:input:1:2026-10-16:person:7"


def test_a_keyed_transaction_id_depends_on_key_room_and_part_only() -> None:
    room, other_room = "!a:localhost", "!b:localhost"
    first = transaction_id(KEY, room, TEXT)
    assert first == transaction_id(KEY, room, TEXT), "the same in every process"
    others = {
        transaction_id(KEY, other_room, TEXT),
        transaction_id(KEY, room, PHOTO),
        transaction_id(KEY, room, DOCUMENT),
        transaction_id(KEY + "x", room, TEXT),
        # No ambiguity from joining the parts: the key may contain anything.
        transaction_id(f"{KEY}{room}", "", TEXT),
    }
    assert first not in others and len(others) == 5
    # Opaque to Matrix, but plain: nothing to escape in the request path.
    assert set(first) <= set(string.ascii_letters + string.digits) and len(first) <= 255
    assert transaction_id(None, room, TEXT) != transaction_id(None, room, TEXT)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_delivery_keys_each_reminder_by_its_row(harness: Harness) -> None:
    """Every reminder reply carries `reminder:` and its row's unique key."""
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    await set_rhythm(harness.app.db)
    scheduler = Scheduler(
        db=harness.app.db,
        channels=harness.app.dispatcher.channels,
        consent_version=DEFAULT_CONSENT_VERSION,
        default_language="en",
        interval_seconds=0,
        clock=lambda: datetime(2026, 10, 16, 8, tzinfo=UTC),  # 09:00 in Lisbon: input point
    )
    mark = len(harness.channel.sent)
    await scheduler.tick()
    async with harness.app.db.session() as session:
        rows = (await session.exec(select(Reminder))).all()
    sent = {row.key for row in rows if row.status == ReminderStatus.SENT}
    keys = [reply.key for _, reply in harness.channel.sent[mark:]]
    assert keys and sorted(keys) == sorted(f"reminder:{key}" for key in sent)


# Against the real Synapse ------------------------------------------------------------------


@pytest.fixture
def matrix_settings(synapse: Synapse, tmp_path: Path) -> Settings:  # noqa: F811
    localpart = f"diarybot-{uuid.uuid4().hex[:8]}"
    return load_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'diary.sqlite3'}",
        data_dir=tmp_path / "data",
        matrix_homeserver=synapse.url,
        matrix_user_id=synapse.register(localpart),
        matrix_password=PASSWORD,
    )


async def _ignore(msg: Incoming) -> None:
    return None


@asynccontextmanager
async def bot_process(settings: Settings) -> AsyncIterator[MatrixChannel]:
    """The Matrix channel as one bot process runs it: started, and stopped at the end."""
    db = Database(settings.database_url)
    await db.upgrade()
    channel = MatrixChannel(settings, db)
    try:
        async with asyncio.timeout(WAIT_S):
            await channel.start(_ignore)
        try:
            yield channel
        finally:
            await channel.stop()
    finally:
        await db.close()


async def forget(settings: Settings, *names: str) -> None:
    """Blank saved login values (`access_token`, `device_id`) as if they had never been saved."""
    db = Database(settings.database_url)
    try:
        saved = SavedValues(db, settings.matrix_user_id or "")
        for name in names:
            await saved.set(name, "")
    finally:
        await db.close()


async def ready(channel: MatrixChannel, rooms: dict[str, bool]) -> None:
    """Wait until the bot's client knows each room, encrypted or not as created.

    Polled: the channel's own sync loop signals nothing a test could wait on.
    """
    async with asyncio.timeout(WAIT_S):
        while not all(  # noqa: ASYNC110
            room in channel.client.rooms and channel.client.rooms[room].encrypted == encrypted
            for room, encrypted in rooms.items()
        ):
            await asyncio.sleep(0.05)


async def send_to(channel: MatrixChannel, rooms: dict[str, bool], reply: Reply) -> None:
    for room in rooms:
        await channel.send(ChatRef("matrix", room, ChatKind.PRIVATE), reply)


async def stored(server: Synapse, person: Teacher, room: str, sender: str) -> Counter[str]:
    """The messages `sender` has in the room as the homeserver stores them (read raw, not
    decrypted): counted by body, or as `m.room.encrypted` when encrypted."""
    query = urlencode({"dir": "b", "limit": "1000", "filter": json.dumps({"senders": [sender]})})
    request = urllib.request.Request(
        f"{server.url}/_matrix/client/v3/rooms/{quote(room)}/messages?{query}",
        headers={"Authorization": f"Bearer {person.client.access_token}"},
    )

    def fetch() -> dict[str, Any]:
        with urllib.request.urlopen(request, timeout=WAIT_S) as response:
            return json.loads(response.read())

    counts: Counter[str] = Counter()
    for event in (await asyncio.to_thread(fetch))["chunk"]:
        if event["type"] == "m.room.message":
            counts[event["content"]["body"]] += 1
        elif event["type"] == "m.room.encrypted":
            counts[event["type"]] += 1
    return counts


async def mappings(
    server: Synapse, user_id: str, transactions: dict[str, str]
) -> set[tuple[str, str, str]]:
    """(room, device, transaction id) in Synapse's transaction table for `user_id`'s events
    sent under the given transaction ids (by room)."""

    def read() -> set[tuple[str, str, str]]:
        with closing(sqlite3.connect(server.directory / "homeserver.db", timeout=WAIT_S)) as db:
            rows = db.execute(
                "SELECT room_id, device_id, txn_id FROM event_txn_id_device_id WHERE user_id = ?",
                (user_id,),
            )
            return {row for row in rows if transactions.get(row[0]) == row[2]}

    return await asyncio.to_thread(read)


@pytest.mark.synapse
async def test_a_keyed_reply_sent_again_is_stored_once_on_the_same_device(
    synapse: Synapse,  # noqa: F811
    matrix_settings: Settings,
    tmp_path: Path,
) -> None:
    """Re-sends from the same channel, a restarted one and one with a fresh access token on the
    same device are all the one event; from a new device the same key is a new event."""
    settings = matrix_settings
    bot_id = settings.matrix_user_id or ""
    keyed = Reply(REMINDER, key=KEY)
    person = await Teacher.create(synapse, f"rita-{uuid.uuid4().hex[:6]}", tmp_path / "rita")
    try:
        async with bot_process(settings) as bot:
            rooms = {
                await person.room_with(bot_id, encrypted=False): False,
                await person.room_with(bot_id, encrypted=True): True,
            }
            plain, secret = rooms
            ids = {room: transaction_id(KEY, room, TEXT) for room in rooms}
            await ready(bot, rooms)
            device, token = bot.client.device_id, bot.client.access_token
            await send_to(bot, rooms, keyed)
            await send_to(bot, rooms, keyed)  # the same process tries again
            await send_to(bot, rooms, Reply("Noted."))
            await send_to(bot, rooms, Reply("Noted."))
        assert await stored(synapse, person, plain, bot_id) == {REMINDER: 1, "Noted.": 2}
        assert await stored(synapse, person, secret, bot_id) == {"m.room.encrypted": 3}
        # Kept in Synapse's database (read before each send, 24 hours), not only in its memory.
        once = {(room, device, txn) for room, txn in ids.items()}
        assert await mappings(synapse, bot_id, ids) == once

        # A new process: the saved login (token and device) is restored.
        async with bot_process(settings) as bot:
            assert (bot.client.device_id, bot.client.access_token) == (device, token)
            await ready(bot, rooms)
            await send_to(bot, rooms, keyed)
        assert await stored(synapse, person, plain, bot_id) == {REMINDER: 1, "Noted.": 2}
        assert await stored(synapse, person, secret, bot_id) == {"m.room.encrypted": 3}

        # The saved token lost: a password login onto the saved device, with a new token.
        await forget(settings, "access_token")
        async with bot_process(settings) as bot:
            assert bot.client.device_id == device
            assert bot.client.access_token != token
            await ready(bot, rooms)
            await send_to(bot, rooms, keyed)
        assert await stored(synapse, person, plain, bot_id) == {REMINDER: 1, "Noted.": 2}
        assert await stored(synapse, person, secret, bot_id) == {"m.room.encrypted": 3}

        # The limit: a new device (the old one was signed out for good) is a new sender to
        # Synapse, and the same transaction id from it is a new event.
        await forget(settings, "access_token", "device_id")
        async with bot_process(settings) as bot:
            new_device = bot.client.device_id
            assert new_device != device
            await ready(bot, rooms)
            await send_to(bot, rooms, keyed)
        assert await stored(synapse, person, plain, bot_id) == {REMINDER: 2, "Noted.": 2}
        assert await stored(synapse, person, secret, bot_id) == {"m.room.encrypted": 4}
        # The same transaction id, once per device: the scope is the device, not the token.
        assert await mappings(synapse, bot_id, ids) == {
            (room, owner, txn) for room, txn in ids.items() for owner in (device, new_device)
        }
    finally:
        await person.close()
