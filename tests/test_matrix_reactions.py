"""Reactions to the bot's posts and edits of them, on Matrix: a meeting's hub post and its tally.

Against a real Synapse, in a clear and an encrypted group room: `send` returns the id of the
event the homeserver stored; a person's reaction reaches the dispatch callback naming that event
and the emoji, in order with the room's messages, once, also across a restart; the bot's own
reactions do not, and the removal of one comes as a deletion of it; an edit is an `m.replace`
event whose new content the homeserver relates to the post. The rules themselves (which events
are reactions, the edit's content and transaction id) are checked on plain dictionaries first,
without a homeserver.

The channel runs here without the app: its dispatch callback only records, so these tests
depend on no handler's answer to a reaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from nio import MatrixRoom, MegolmEvent, RoomSendResponse

from bot.channels import matrix_inbox
from bot.channels.matrix import MatrixChannel
from bot.channels.matrix_content import edit_content, text_content
from bot.channels.matrix_events import reaction_of, undecrypted_reaction
from bot.channels.matrix_inbox import Inbox
from bot.channels.matrix_outbox import TEXT, edit_transaction_id, transaction_id
from bot.channels.matrix_session import SavedValues
from bot.messages import Button, ChatKind, Incoming, Reaction, Reply
from bot.settings import Settings
from storage.db import Database
from tests.synapse import WAIT_S, Synapse, synapse  # noqa: F401 (the fixture)
from tests.test_matrix_e2e import bot_settings, keys_may_be_slow, teacher  # noqa: F401
from tests.test_matrix_units import BOT, KeyArrivesLater

ROOM = "!hub:localhost"
POST = "$post"
KEY = "meeting:7:hub"
OPTIONS = (Button("Coming", "rsvp:7:yes"), Button("Not coming", "rsvp:7:no"))


def reaction(key: object = "👍", **fields: object) -> dict[str, object]:
    relation = {"rel_type": "m.annotation", "event_id": POST, "key": key}
    return {
        "type": "m.reaction",
        "sender": "@ana:localhost",
        "event_id": "$r1",
        "origin_server_ts": 1_700_000_000_000,
        "content": {"m.relates_to": relation},
        **fields,
    }


def test_only_a_persons_annotation_is_a_reaction() -> None:
    assert reaction_of(reaction(), BOT) == Reaction(POST, "👍")
    assert reaction_of(reaction(sender=BOT), BOT) is None
    assert reaction_of(reaction(unsigned={"redacted_because": {}}, content={}), BOT) is None
    assert reaction_of(reaction(key=7), BOT) is None
    assert reaction_of(reaction(content={"m.relates_to": {"rel_type": "m.reference"}}), BOT) is None
    assert reaction_of({**reaction(), "type": "m.room.message"}, BOT) is None
    # Undecryptable, but with the relation in the clear, as Element sends a reaction.
    secret = {**reaction(), "type": "m.room.encrypted"}
    assert undecrypted_reaction(secret, BOT) == Reaction(POST, "👍")
    assert undecrypted_reaction(reaction(), BOT) is None
    assert undecrypted_reaction({**secret, "content": {"ciphertext": "x"}}, BOT) is None


async def test_a_reaction_whose_key_never_comes_is_still_a_reaction(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not taken for an unreadable message, which would ask the person to send it again."""
    monkeypatch.setattr(matrix_inbox, "KEY_WAIT_S", 0.05)
    seen: list[Incoming] = []

    async def dispatch(msg: Incoming) -> None:
        seen.append(msg)

    inbox = Inbox(KeyArrivesLater(), None, dispatch)  # type: ignore[arg-type]
    room = MatrixRoom(ROOM, BOT)
    room.add_member("@ana:localhost", "Ana", None)
    content = {
        "algorithm": "m.megolm.v1.aes-sha2",
        "ciphertext": "AAAA",
        "sender_key": "key",
        "device_id": "DEV",
        "session_id": "sess",
        "m.relates_to": {"rel_type": "m.annotation", "event_id": POST, "key": "👍"},
    }
    event = MegolmEvent.from_dict({**reaction(), "type": "m.room.encrypted", "content": content})
    await inbox.put(room, event)
    assert [(m.reaction, m.unreadable, m.text, m.message_id) for m in seen] == [
        (Reaction(POST, "👍"), False, "", "$r1")
    ]


def test_an_edit_renders_like_a_post_under_a_transaction_id_of_its_own() -> None:
    new = text_content("Meeting on Friday: 2 coming", OPTIONS)
    content = edit_content(POST, new)
    assert content["m.new_content"] == new
    assert content["body"] == "* Meeting on Friday: 2 coming\n\n1. Coming\n2. Not coming"
    assert content["formatted_body"].startswith("* Meeting on Friday")
    assert content["msgtype"] == new["msgtype"] == "m.text"
    assert content["m.relates_to"] == {"rel_type": "m.replace", "event_id": POST}
    edit = edit_transaction_id(KEY, ROOM, content)
    assert edit == edit_transaction_id(KEY, ROOM, edit_content(POST, dict(new)))  # a re-send
    others = {
        transaction_id(KEY, ROOM, TEXT),  # the post's own
        edit_transaction_id(KEY, ROOM, edit_content(POST, text_content("3 coming", OPTIONS))),
        edit_transaction_id(KEY, ROOM, edit_content("$other", new)),
        edit_transaction_id(KEY, "!elsewhere:localhost", content),
    }
    assert edit not in others and len(others) == 4
    assert edit_transaction_id(None, ROOM, content) != edit_transaction_id(None, ROOM, content)


# Against the real Synapse ------------------------------------------------------------------


@dataclass
class Recorded:
    """The Matrix channel, started with a dispatch callback that only records."""

    channel: MatrixChannel
    seen: asyncio.Queue[Incoming] = field(default_factory=asyncio.Queue)

    async def record(self, msg: Incoming) -> None:
        self.seen.put_nowait(msg)

    async def next(self) -> Incoming:
        """The next message or reaction dispatched."""
        return await asyncio.wait_for(self.seen.get(), WAIT_S)


@asynccontextmanager
async def recorded(settings: Settings) -> AsyncIterator[Recorded]:
    """One bot process: its database and channel, stopped (gracefully) at the end."""
    db = Database(settings.database_url)
    await db.upgrade()
    bot = Recorded(MatrixChannel(settings, db))
    try:
        async with asyncio.timeout(WAIT_S):
            await bot.channel.start(bot.record)
        try:
            yield bot
        finally:
            await bot.channel.stop()
    finally:
        await db.close()


@pytest.fixture
def settings(synapse: Synapse, tmp_path: Path) -> Settings:  # noqa: F811
    return bot_settings(synapse, tmp_path / "data")


@pytest.mark.synapse
@pytest.mark.parametrize("encrypted", [False, True], ids=["clear", "encrypted"])
async def test_reactions_to_a_hub_post_reach_the_handler_once(
    synapse: Synapse,  # noqa: F811
    settings: Settings,
    tmp_path: Path,
    encrypted: bool,
) -> None:
    bot_id = settings.matrix_user_id or ""
    async with teacher(synapse, tmp_path, "lea") as lea:
        async with recorded(settings) as bot:
            hub = await lea.room_with(bot_id, encrypted=encrypted, name="Hub", direct=False)
            hello = await lea.say(hub, "Hello")
            said = await bot.next()
            assert (said.text, said.message_id, said.chat.kind) == ("Hello", hello, ChatKind.GROUP)
            # A sync token from before everything below: a restart from it sees all of it again.
            behind = bot.channel.client.next_batch

            ids = await bot.channel.send(said.chat, Reply("Meeting on Friday", OPTIONS))
            post = await lea.next(hub)
            assert ids == [post.event_id]
            stored = await lea.read_event(hub, post.event_id)
            assert stored["sender"] == bot_id
            assert stored["type"] == ("m.room.encrypted" if encrypted else "m.room.message")

            own = {"m.relates_to": {"rel_type": "m.annotation", "event_id": ids[0], "key": "🎉"}}
            sent = await bot.channel.client.room_send(hub, "m.reaction", own)
            assert isinstance(sent, RoomSendResponse), sent
            thumbs = await lea.react(hub, ids[0], "👍")
            on_hello = await lea.react(hub, hello, "👀")  # not the bot's post: passed on too
            kind = (await lea.read_event(hub, thumbs))["type"]
            assert kind == ("m.room.encrypted" if encrypted else "m.reaction")
            got = await bot.next()
            # Only now: the bot's own reaction came first in the room, so it was passed over.
            assert got.reaction == Reaction(ids[0], "👍")
            assert (got.text, got.message_id, got.chat) == ("", thumbs, said.chat)
            assert got.sender.user_id == lea.user_id
            got = await bot.next()
            assert (got.reaction, got.message_id) == (Reaction(hello, "👀"), on_hello)

            # Taking a reaction back is a redaction, passed on as a deletion of the reaction: the
            # handlers find nothing of it to take out, and a meeting's tally keeps its answer.
            redacted = await lea.redact(hub, thumbs)
            got = await bot.next()
            assert (got.deleted_of, got.message_id, got.text) == (thumbs, redacted, "")
            assert got.reaction is None and got.chat == said.chat
            await lea.say(hub, "See you")
            assert (await bot.next()).text == "See you"
            assert bot.seen.empty()

        # As after a crash: the saved sync token stays behind (it is saved only now and then).
        saved = SavedValues(Database(settings.database_url), bot_id)
        try:
            await saved.set("sync_token", behind)
        finally:
            await saved.db.close()
        async with recorded(settings) as bot:
            heart = await lea.react(hub, ids[0], "❤️")
            got = await bot.next()
            assert (got.reaction, got.message_id) == (Reaction(ids[0], "❤️"), heart)
            assert bot.seen.empty()


@pytest.mark.synapse
@pytest.mark.parametrize("encrypted", [False, True], ids=["clear", "encrypted"])
async def test_an_edit_replaces_a_keyed_post_in_place(
    synapse: Synapse,  # noqa: F811
    settings: Settings,
    tmp_path: Path,
    encrypted: bool,
) -> None:
    """The homeserver relates the edit to the post; its new content is the new text."""
    bot_id = settings.matrix_user_id or ""
    async with teacher(synapse, tmp_path, "max") as max_, recorded(settings) as bot:
        hub = await max_.room_with(bot_id, encrypted=encrypted, name="Hub", direct=False)
        await max_.say(hub, "Hello")
        chat = (await bot.next()).chat
        [post_id] = await bot.channel.send(chat, Reply("Meeting on Friday", OPTIONS, key=KEY))
        assert (await max_.next(hub)).event_id == post_id

        # The post's key again: the edit must not be taken for the post sent again.
        tally = Reply("Meeting on Friday: 1 coming", OPTIONS, key=KEY, edit=post_id)
        assert await bot.channel.send(chat, tally) == [post_id]
        shown = await max_.next(hub)
        assert shown.body == "* Meeting on Friday: 1 coming\n\n1. Coming\n2. Not coming"
        assert await bot.channel.send(chat, tally) == [post_id]  # the same edit: stored once
        await bot.channel.send(chat, Reply("Meeting on Friday: 2 coming", key=KEY, edit=post_id))
        latest = await max_.next(hub)

        edits = await max_.edits_of(hub, post_id)
        assert sorted(e["event_id"] for e in edits) == sorted([shown.event_id, latest.event_id])
        raw = next(e for e in edits if e["event_id"] == shown.event_id)
        relation = {"rel_type": "m.replace", "event_id": post_id}
        # In the clear even when encrypted: the homeserver and Element read relations there.
        assert raw["content"]["m.relates_to"] == relation
        assert raw["type"] == ("m.room.encrypted" if encrypted else "m.room.message")
        content = max_.decrypted(raw)["content"]
        assert content["m.relates_to"] == relation
        assert content["body"] == "* " + content["m.new_content"]["body"]
        assert content["m.new_content"] == text_content("Meeting on Friday: 1 coming", OPTIONS)
        content = max_.decrypted(await max_.read_event(hub, latest.event_id))["content"]
        assert content["m.new_content"]["body"] == "Meeting on Friday: 2 coming"
        assert max_.pending(hub) == 0
