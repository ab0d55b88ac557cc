"""The Matrix adapter's translations and its retry rules, without a homeserver.

Events and replies are plain dictionaries, checked directly. The retry rules run against a tiny
fake homeserver on loopback that answers with a rate limit, a server error, then success. What
the channel keeps per room (last handled event, offered choices) is checked on SQLite and
PostgreSQL, including the migration that moved the choices out of `channel_state`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from aiohttp import web
from nio import AsyncClient, AsyncClientConfig, Event, MatrixRoom, MegolmEvent
from nio.crypto import encrypt_attachment
from nio.exceptions import EncryptionError

from bot.channel import ChannelError, DownloadError
from bot.channels import matrix_inbox, matrix_outbox
from bot.channels.matrix_content import text_content
from bot.channels.matrix_events import (
    chat_for,
    is_reply_worthy,
    media_attachment,
    parse_ref,
    to_incoming,
)
from bot.channels.matrix_inbox import Inbox
from bot.channels.matrix_outbox import Outbox
from bot.channels.matrix_session import SavedValues
from bot.messages import Attachment, AttachmentKind, Button, ChatKind, Incoming, Reply, Sender
from storage.db import Database

BOT = "@diarybot:localhost"
CHAT = chat_for("!room:localhost", members=2, name=None, title="Ana")
SENDER = Sender("matrix", "@ana:localhost", "Ana")


def event(content: dict[str, object], **fields: object) -> dict[str, object]:
    return {
        "type": "m.room.message",
        "sender": "@ana:localhost",
        "event_id": "$e1",
        "origin_server_ts": 1_700_000_000_000,
        "content": content,
        **fields,
    }


def test_two_person_rooms_are_private_unless_named() -> None:
    assert CHAT.kind == ChatKind.PRIVATE
    assert chat_for("!r:x", members=2, name="Cluster hub", title="Cluster hub").kind == "group"
    assert chat_for("!r:x", members=3, name=None, title="Ana, Ben").kind == ChatKind.GROUP


def test_own_messages_and_notices_are_not_answered_and_a_persons_edit_is() -> None:
    assert is_reply_worthy(event({"msgtype": "m.text", "body": "hi"}), BOT)
    assert not is_reply_worthy(event({"msgtype": "m.text", "body": "hi"}, sender=BOT), BOT)
    assert not is_reply_worthy(event({"msgtype": "m.notice", "body": "beep"}), BOT)
    assert not is_reply_worthy({"type": "m.reaction", "sender": "@ana:localhost"}, BOT)
    assert is_reply_worthy({"type": "m.sticker", "sender": "@ana:localhost"}, BOT)

    edit = {
        "msgtype": "m.text",
        "body": "* hello",
        "m.new_content": {"msgtype": "m.text", "body": "hello"},
        "m.relates_to": {"rel_type": "m.replace", "event_id": "$first"},
    }
    assert is_reply_worthy(event(edit), BOT)
    msg = to_incoming(event(edit), chat=CHAT, sender=SENDER)
    assert (msg.text, msg.edit_of, msg.message_id) == ("hello", "$first", "$e1")


def test_a_message_in_a_thread_is_answered_in_it_whatever_it_is() -> None:
    thread = {"rel_type": "m.thread", "event_id": "$root", "is_falling_back": True}
    said = to_incoming(
        event({"msgtype": "m.text", "body": "hi", "m.relates_to": thread}), chat=CHAT, sender=SENDER
    )
    sticker = {**event({"body": "cat", "m.relates_to": thread}), "type": "m.sticker"}
    refused = to_incoming(sticker, chat=CHAT, sender=SENDER)
    plain = to_incoming(event({"msgtype": "m.text", "body": "hi"}), chat=CHAT, sender=SENDER)
    assert (said.chat.thread, refused.chat.thread, plain.chat.thread) == ("$root", "$root", None)
    assert said.chat.key == plain.chat.key  # one conversation, in or out of the thread
    assert said.text == "hi" and refused.attachments[0].platform_kind == "sticker"


def test_text_loses_the_quoted_reply_fallback() -> None:
    content = {
        "msgtype": "m.text",
        "body": "> <@diarybot:localhost> Which part?\n> more\n\nThe second one",
        "m.relates_to": {"m.in_reply_to": {"event_id": "$q"}},
    }
    msg = to_incoming(event(content), chat=CHAT, sender=SENDER)
    assert msg.text == "The second one"
    assert msg.message_id == "$e1"
    assert msg.received_at.year == 2023


def test_encrypted_voice_note_keeps_what_download_needs() -> None:
    secret = {
        "url": "mxc://localhost/abc",
        "key": {"k": "key"},
        "iv": "iv",
        "hashes": {"sha256": "h"},
        "v": "v2",
    }
    content = {
        "msgtype": "m.audio",
        "body": "Voice message",
        "file": secret,
        "info": {"mimetype": "audio/ogg", "size": 1234, "duration": 2500},
        "org.matrix.msc3245.voice": {},
    }
    attachment = media_attachment(content)
    assert attachment.kind == AttachmentKind.VOICE
    assert (attachment.size, attachment.duration_s, attachment.mime) == (1234, 2.5, "audio/ogg")
    assert parse_ref(attachment.ref) == {"url": "mxc://localhost/abc", "file": secret}


def test_media_caption_and_kinds() -> None:
    content = {
        "msgtype": "m.image",
        "body": "Our reading corner",
        "filename": "corner.png",
        "url": "mxc://localhost/img",
    }
    attachment = media_attachment(content)
    assert (attachment.kind, attachment.filename) == (AttachmentKind.PHOTO, "corner.png")
    assert (attachment.caption, attachment.mime) == ("Our reading corner", "image/png")
    assert parse_ref(attachment.ref) == {"url": "mxc://localhost/img"}
    document = media_attachment({"msgtype": "m.file", "body": "plan.pdf", "url": "mxc://l/p"})
    assert (document.kind, document.caption) == (AttachmentKind.DOCUMENT, None)
    video = media_attachment({"msgtype": "m.video", "body": "v.mp4", "url": "mxc://l/v"})
    assert video.kind == AttachmentKind.VIDEO
    assert media_attachment({"msgtype": "m.audio", "body": "a"}).kind == "unsupported"


def test_unsupported_messages_say_what_they_were() -> None:
    location = to_incoming(
        event({"msgtype": "m.location", "body": "geo"}), chat=CHAT, sender=SENDER
    )
    sticker = to_incoming({"type": "m.sticker", "content": {}}, chat=CHAT, sender=SENDER)
    for msg, what in ((location, "m.location"), (sticker, "sticker")):
        assert [(a.kind, a.platform_kind) for a in msg.attachments] == [("unsupported", what)]


def test_text_replies_escape_html_and_number_the_choices() -> None:
    content = text_content("Pick <one>\n& go", (Button("Yes <b>", "1:yes"), Button("No", "1:no")))
    assert content["body"] == "Pick <one>\n& go\n\n1. Yes <b>\n2. No"
    assert content["formatted_body"] == (
        "Pick &lt;one&gt;<br/>&amp; go<ol><li>Yes &lt;b&gt;</li><li>No</li></ol>"
    )
    assert content["format"] == "org.matrix.custom.html"


def test_choices_numbered_already_are_not_numbered_twice() -> None:
    mine = (Button("1. The issue", "7"), Button("2. Impact", "9"), Button("Done", "done"))
    content = text_content("Your entries:", mine)
    assert content["body"] == "Your entries:\n\n1. The issue\n2. Impact\n3. Done"
    assert "<li>The issue</li><li>Impact</li><li>Done</li>" in content["formatted_body"]
    # Only the item's own number goes: a label that starts with another stays whole.
    assert Button("3. Later", "x").in_list(1) == "3. Later"


class FakeHomeserver:
    """Answers room sends and downloads with the statuses queued in `answers`, recording each."""

    def __init__(self, answers: list[tuple[int, dict[str, object]]]) -> None:
        self.answers = answers
        self.requests: list[tuple[float, str, dict[str, object]]] = []
        self.file = b""

    async def send(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append((time.monotonic(), request.match_info["txn"], body))
        status, payload = self.answers.pop(0) if self.answers else (200, {"event_id": "$ok"})
        return web.json_response(payload, status=status)

    async def download(self, request: web.Request) -> web.Response:
        self.requests.append((time.monotonic(), request.match_info["media"], {}))
        status, payload = self.answers.pop(0) if self.answers else (200, {})
        if status == 200:
            return web.Response(body=self.file, content_type="application/octet-stream")
        return web.json_response(payload, status=status)


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeHomeserver, str]]:
    server = FakeHomeserver([])
    app = web.Application()
    app.router.add_put("/_matrix/client/v3/rooms/{room}/send/{type}/{txn}", server.send)
    app.router.add_get("/_matrix/client/v1/media/download/{server}/{media}", server.download)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield server, f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture
async def outbox(fake: tuple[FakeHomeserver, str], tmp_path: Path) -> AsyncIterator[Outbox]:
    config = AsyncClientConfig(encryption_enabled=False, store=None, max_timeouts=0)
    client = AsyncClient(fake[1], BOT, config=config)
    client.access_token = "token"
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}")
    await db.upgrade()
    yield Outbox(client, SavedValues(db, BOT))
    await client.close()
    await db.close()


async def test_rate_limit_and_server_errors_are_waited_out_with_one_transaction(
    fake: tuple[FakeHomeserver, str], outbox: Outbox
) -> None:
    server, _ = fake
    server.answers = [
        (429, {"errcode": "M_LIMIT_EXCEEDED", "error": "Too many", "retry_after_ms": 400}),
        (502, {}),
    ]
    started = time.monotonic()
    await outbox.send(MatrixRoom("!room:localhost", BOT), Reply("Hello", (Button("Go", "/add"),)))
    times = [t for t, _, _ in server.requests]
    assert len(times) == 3
    assert times[1] - times[0] >= 0.4  # retry_after_ms honoured
    assert len({txn for _, txn, _ in server.requests}) == 1  # a retry is the same message
    assert server.requests[-1][2]["body"] == "Hello\n\n1. Go"
    assert time.monotonic() - started < 5


async def test_a_refused_send_raises_at_once(
    fake: tuple[FakeHomeserver, str], outbox: Outbox
) -> None:
    server, _ = fake
    server.answers = [(403, {"errcode": "M_FORBIDDEN", "error": "not in room"})]
    with pytest.raises(ChannelError, match="M_FORBIDDEN"):
        await outbox.send(MatrixRoom("!room:localhost", BOT), Reply("Hello"))
    assert len(server.requests) == 1


async def test_an_unreachable_homeserver_raises_after_the_retries(
    outbox: Outbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(matrix_outbox, "backoff", lambda attempt: 0)
    outbox.client.homeserver = "http://127.0.0.1:9"  # the discard port: nothing listens
    with pytest.raises(ChannelError, match="failed 5 times"):
        await outbox.send(MatrixRoom("!room:localhost", BOT), Reply("Hello"))


async def test_a_typed_number_picks_the_remembered_choice_after_a_restart(
    fake: tuple[FakeHomeserver, str], outbox: Outbox
) -> None:
    room = MatrixRoom("!room:localhost", BOT)
    await outbox.send(room, Reply("Agree?", (Button("Yes", "3:yes"), Button("No", "3:no"))))
    later = Outbox(outbox.client, outbox.saved)  # a new process: nothing in memory
    msg = to_incoming(event({"msgtype": "m.text", "body": " 2 "}), chat=CHAT, sender=SENDER)
    assert (await later.pick(msg)).button == "3:no"
    msg = to_incoming(event({"msgtype": "m.text", "body": "7"}), chat=CHAT, sender=SENDER)
    assert (await later.pick(msg)).text == "7"
    assert fake[0].requests[-1][2]["body"] == "Agree?\n\n1. Yes\n2. No"


class KeyArrivesLater:
    """A client stand-in whose room key for an event arrives with the second sync."""

    user_id = BOT

    def __init__(self) -> None:
        self.has_key = False
        self.requested: list[object] = []
        self.read: list[str] = []  # the events the bot marked as read

    def decrypt_event(self, event: object) -> str:
        if not self.has_key:
            raise EncryptionError("no session")
        return "decrypted"

    async def request_room_key(self, event: object) -> None:
        self.requested.append(event)

    async def room_read_markers(self, room_id: str, fully_read_event: str, **_: str) -> None:
        self.read.append(fully_read_event)


async def test_a_message_waits_for_its_room_key_then_gives_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = KeyArrivesLater()
    inbox = Inbox(client, None, None)
    event = SimpleNamespace(event_id="$e", sender="@ana:localhost")
    waiting = asyncio.create_task(inbox.decrypted(event))
    await asyncio.sleep(0.01)
    inbox.synced()  # a sync without the key
    await asyncio.sleep(0.01)
    assert not waiting.done()
    client.has_key = True
    inbox.synced()
    assert await waiting == "decrypted"
    assert client.requested == [event]  # asked once, not per sync

    monkeypatch.setattr(matrix_inbox, "KEY_WAIT_S", 0.05)
    client.has_key = False
    assert await inbox.decrypted(event) is None


async def test_what_the_bot_handled_it_marks_as_read_and_nothing_else() -> None:
    seen: list[Incoming] = []

    async def dispatch(msg: Incoming) -> None:
        seen.append(msg)

    client = KeyArrivesLater()
    inbox = Inbox(client, Outbox(client, None), dispatch)  # type: ignore[arg-type]
    room = MatrixRoom("!dm:localhost", BOT)
    said = Event.parse_event(event({"msgtype": "m.text", "body": "Hello"}, event_id="$said"))
    notice = Event.parse_event(event({"msgtype": "m.notice", "body": "beep"}, event_id="$bot2"))
    own = Event.parse_event(event({"msgtype": "m.text", "body": "Hi"}, sender=BOT))
    for one in (said, notice, own):
        await inbox.put(room, one)
    assert [m.message_id for m in seen] == client.read == ["$said"]


async def test_saved_values_belong_to_one_bot_account(db: Database) -> None:
    """On SQLite and PostgreSQL (the `db` fixture): a changed account never sees another's."""
    first, second = SavedValues(db, BOT), SavedValues(db, "@other:localhost")
    await first.set("sync_token", "s1")
    await first.set("sync_token", "s2")
    assert await first.get("sync_token") == "s2"
    assert await second.get("sync_token") is None


async def test_a_number_typed_as_a_free_answer_stays_text(
    fake: tuple[FakeHomeserver, str], outbox: Outbox
) -> None:
    room = MatrixRoom("!room:localhost", BOT)
    shortcuts = (Button("Skip", "4:skip"), Button("That's all", "4:done"))
    await outbox.send(room, Reply("How many teachers took part?", shortcuts, expects_text=True))
    assert fake[0].requests[-1][2]["body"] == "How many teachers took part?\n\nSkip · That's all"
    msg = to_incoming(event({"msgtype": "m.text", "body": "2"}), chat=CHAT, sender=SENDER)
    picked = await Outbox(outbox.client, outbox.saved).pick(msg)  # also after a restart
    assert picked.button is None and picked.text == "2"


async def test_a_message_whose_key_never_comes_is_answered_not_ignored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(matrix_inbox, "KEY_WAIT_S", 0.05)
    seen: list[Incoming] = []

    async def dispatch(msg: Incoming) -> None:
        assert matrix_outbox.HANDLING.get()  # replies' choices wait for the checkpoint
        seen.append(msg)

    inbox = Inbox(KeyArrivesLater(), None, dispatch)
    room = MatrixRoom("!dm:localhost", BOT)
    room.add_member("@ana:localhost", "Ana", None)
    room.add_member(BOT, "Bot", None)
    event = MegolmEvent.from_dict(
        {
            "type": "m.room.encrypted",
            "event_id": "$secret",
            "sender": "@ana:localhost",
            "origin_server_ts": 1,
            "content": {
                "algorithm": "m.megolm.v1.aes-sha2",
                "ciphertext": "AAAA",
                "sender_key": "key",
                "device_id": "DEV",
                "session_id": "sess",
            },
        }
    )
    await inbox.put(room, event)
    assert not matrix_outbox.HANDLING.get()
    assert [(m.unreadable, m.chat.kind, m.sender.user_id) for m in seen] == [
        (True, ChatKind.PRIVATE, "@ana:localhost")
    ]


def attachment_at(url: str, **secret: object) -> Attachment:
    ref = {"url": url, "file": {"url": url, **secret}} if secret else {"url": url}
    return Attachment(kind=AttachmentKind.DOCUMENT, ref=json.dumps(ref), mime="application/pdf")


async def test_a_file_the_homeserver_does_not_have_raises_download_error_at_once(
    fake: tuple[FakeHomeserver, str], outbox: Outbox
) -> None:
    server, _ = fake
    server.answers = [(404, {"errcode": "M_NOT_FOUND", "error": "Not found"})]
    with pytest.raises(DownloadError, match="M_NOT_FOUND"):
        await outbox.download(attachment_at("mxc://localhost/gone"))
    assert len(server.requests) == 1  # not asked again: it will not appear
    with pytest.raises(DownloadError):
        await outbox.download(Attachment(kind=AttachmentKind.DOCUMENT, ref="", mime="x/y"))


async def test_a_download_retries_server_errors_but_not_a_refused_login(
    fake: tuple[FakeHomeserver, str], outbox: Outbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(matrix_outbox, "backoff", lambda attempt: 0)
    server, _ = fake
    server.file = b"%PDF-1.4 plan"
    server.answers = [(502, {})]
    assert await outbox.download(attachment_at("mxc://localhost/plan")) == b"%PDF-1.4 plan"
    server.answers = [(401, {"errcode": "M_UNKNOWN_TOKEN", "error": "Signed out"})]
    with pytest.raises(ChannelError) as refused:
        await outbox.download(attachment_at("mxc://localhost/plan"))
    assert not isinstance(refused.value, DownloadError)  # the bot's login, not the file


async def test_a_file_that_does_not_decrypt_raises_download_error(
    fake: tuple[FakeHomeserver, str], outbox: Outbox
) -> None:
    server, _ = fake
    server.file, keys = encrypt_attachment(b"%PDF-1.4 plan")
    good = attachment_at("mxc://localhost/plan", **keys)
    assert await outbox.download(good) == b"%PDF-1.4 plan"
    for broken in ({**keys, "hashes": {"sha256": "A" * 43}}, {**keys, "key": "not a key"}):
        with pytest.raises(DownloadError, match="decrypt"):
            await outbox.download(attachment_at("mxc://localhost/plan", **broken))
