"""The Matrix channel end to end: the real bot against a real Synapse, teachers as nio clients.

These tests build their settings on SQLite only, to keep the run short: the adapter's own use of
the database (saved channel values) is also tested on PostgreSQL in test_matrix_units.py.
Synapse starts once for the module; every test has a bot account and database of its own.
Choices are answered by number, as a person on Matrix does.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from nio import AsyncClient, DeleteDevicesResponse, ErrorResponse, UploadResponse
from sqlmodel import select

from bot.app import App, build_app
from bot.channel import DownloadError
from bot.channels import matrix_inbox
from bot.channels.matrix import MatrixChannel
from bot.demo import create_demo
from bot.messages import ChatKind, Incoming, Reply
from bot.settings import Settings, load_settings
from storage.models import ConsentRecord, DiaryEntry, EvidenceItem
from tests.builders import photo_with_gps, voice_note
from tests.synapse import PASSWORD, SERVER_NAME, WAIT_S, Synapse, Teacher, synapse  # noqa: F401 (the fixture)

pytestmark = pytest.mark.synapse


@dataclass
class Bot:
    """The running bot: its app, its Matrix channel, and every message it was handed."""

    app: App
    channel: MatrixChannel
    seen: list[Incoming] = field(default_factory=list)

    async def record(self, msg: Incoming) -> None:
        self.seen.append(msg)
        await self.app.dispatcher(msg)


def bot_settings(server: Synapse, data_dir: Path, **overrides: object) -> Settings:
    user_id = server.register(f"diarybot-{uuid.uuid4().hex[:8]}")
    return load_settings(
        database_url=f"sqlite+aiosqlite:///{data_dir / 'diary.sqlite3'}",
        data_dir=data_dir,
        matrix_homeserver=server.url,
        matrix_user_id=user_id,
        matrix_password=PASSWORD,
        **overrides,
    )


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Bot]:
    """The bot with its Matrix channel started, stopped again at the end."""
    app = await build_app(settings)
    channel = MatrixChannel(settings, app.db)
    app.add_channel(channel)
    bot = Bot(app, channel)
    try:
        async with asyncio.timeout(WAIT_S):
            await channel.start(bot.record)
    except BaseException:
        await app.db.close()
        raise
    try:
        yield bot
    finally:
        await channel.stop()
        await app.db.close()


@pytest.fixture(autouse=True)
def keys_may_be_slow(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a busy machine a room key can take longer than the bot's 15 s to arrive."""
    monkeypatch.setattr(matrix_inbox, "KEY_WAIT_S", WAIT_S)


@pytest.fixture
def settings(synapse: Synapse, tmp_path: Path) -> Settings:  # noqa: F811
    return bot_settings(synapse, tmp_path / "data")


@asynccontextmanager
async def teacher(server: Synapse, tmp_path: Path, name: str) -> AsyncIterator[Teacher]:
    person = await Teacher.create(server, f"{name}-{uuid.uuid4().hex[:6]}", tmp_path / name)
    try:
        yield person
    finally:
        await person.close()


async def codes_of(bot: Bot) -> dict[str, str]:
    async with bot.app.db.session() as session:
        demo = await create_demo(session, language="en", timezone="Europe/Lisbon")
    return demo.invites


async def test_unencrypted_dm_join_and_consent(
    synapse: Synapse,  # noqa: F811
    settings: Settings,
    tmp_path: Path,
) -> None:
    async with running(settings) as bot, teacher(synapse, tmp_path, "ana") as ana:
        codes = await codes_of(bot)
        room = await ana.room_with(settings.matrix_user_id, encrypted=False)
        await ana.say(room, f"/join {codes['contributor']}")
        consent = (await ana.until(room, "Do you agree"))[-1]
        assert "1. I agree" in consent.body
        assert "<ol><li>I agree</li>" in consent.formatted_body
        await ana.say(room, "1")
        replies = await ana.until(room, "speak English")
        assert any("You're in" in r.body for r in replies)
        assert bot.seen[0].chat.kind == ChatKind.PRIVATE
        assert bot.seen[1].button is not None and bot.seen[1].button.endswith(":yes")
        async with bot.app.db.session() as session:
            consents = (await session.exec(select(ConsentRecord))).all()
        assert [c.granted for c in consents] == [True]


async def become_member(person: Teacher, room: str, code: str) -> None:
    """Join with `code` and agree to the consent text (1), read in the cluster's English."""
    await person.say(room, f"/join {code}")
    await person.until(room, "Do you agree")
    await person.say(room, "1")
    await person.until(room, "speak English")


async def test_encrypted_dm_entry_with_photo_and_voice_note(
    synapse: Synapse,  # noqa: F811
    settings: Settings,
    tmp_path: Path,
) -> None:
    photo = photo_with_gps(tmp_path / "class.jpg").read_bytes()
    voice = voice_note(tmp_path / "note.wav").read_bytes()
    async with running(settings) as bot, teacher(synapse, tmp_path, "ben") as ben:
        codes = await codes_of(bot)
        room = await ben.room_with(settings.matrix_user_id, encrypted=True)
        await become_member(ben, room, codes["contributor"])
        await ben.say(room, "/add")
        await ben.until(room, "Which part of the diary")
        await ben.say(room, "1")
        question = (await ben.until(room, "question 1 of"))[-1]
        # Nio marks events that arrived encrypted and were decrypted.
        assert question.decrypted
        await ben.send_file(room, photo, msgtype="m.image", filename="class.jpg", mime="image/jpeg")
        assert "Kept as evidence: photo" in (await ben.next(room)).body
        # While it fetched the photo, the bot showed itself typing (Element's "... is typing").
        await ben.wait_for(lambda: settings.matrix_user_id in ben.typing[room])
        await ben.send_file(
            room,
            voice,
            msgtype="m.audio",
            filename="note.wav",
            mime="audio/wav",
            **{"org.matrix.msc3245.voice": {}},
        )
        assert "Kept as evidence: voice note" in (await ben.next(room)).body
        assert all(msg.message_id.startswith("$") for msg in bot.seen)
        async with bot.app.db.session() as session:
            items = (await session.exec(select(EvidenceItem).order_by(EvidenceItem.id))).all()
        assert [item.kind for item in items] == ["photo", "voice"]
        stored_voice = await bot.app.media.get(items[1].media_hash)
        assert stored_voice == voice  # decrypted bytes, identical to what was sent
        assert await bot.app.media.exists(items[0].media_hash)
        assert items[1].duration_s == pytest.approx(1.5, abs=0.05)


async def test_an_edited_answer_changes_the_entry_being_written(
    synapse: Synapse,  # noqa: F811
    settings: Settings,
    tmp_path: Path,
) -> None:
    async with running(settings) as bot, teacher(synapse, tmp_path, "eva") as eva:
        codes = await codes_of(bot)
        room = await eva.room_with(settings.matrix_user_id, encrypted=True)
        await become_member(eva, room, codes["contributor"])
        await eva.say(room, "/add")
        await eva.until(room, "Which part of the diary")
        await eva.say(room, "1")
        await eva.until(room, "question 1 of")
        typo = await eva.say(room, "Pupils rarley read at home")
        await eva.until(room, "question 2 of")
        # Element's edit: a new event replacing the first, "* " in its fallback body.
        fixed = "Pupils rarely read at home"
        await eva.send(
            room,
            {
                "msgtype": "m.text",
                "body": f"* {fixed}",
                "m.new_content": {"msgtype": "m.text", "body": fixed},
                "m.relates_to": {"rel_type": "m.replace", "event_id": typo},
            },
        )
        assert "Changed in the entry you are writing" in (await eva.next(room)).body
        async with bot.app.db.session() as session:
            draft = (await session.exec(select(DiaryEntry))).one()
        assert draft.activity == {"why": fixed}
        assert bot.seen[-1].edit_of == typo


async def test_hub_room_is_linked_and_receives_posts(
    synapse: Synapse,  # noqa: F811
    settings: Settings,
    tmp_path: Path,
) -> None:
    async with running(settings) as bot, teacher(synapse, tmp_path, "cora") as cora:
        codes = await codes_of(bot)
        dm = await cora.room_with(settings.matrix_user_id, encrypted=True)
        await become_member(cora, dm, codes["coordinator"])
        await cora.say(dm, "/hubcode")
        code_message = (await cora.until(dm, "/linkhub"))[-1]
        code = code_message.body.split("/linkhub", 1)[1].split()[0]
        # Named, so it is a group even while the bot and Cora are its only members.
        hub = await cora.room_with(
            settings.matrix_user_id, encrypted=True, name="Demo hub", direct=False
        )
        await cora.say(hub, f"/linkhub {code}")
        await cora.until(hub, "Demo Cluster")
        assert bot.seen[-1].chat.kind == ChatKind.GROUP
        assert bot.seen[-1].chat.title == "Demo hub"

        chat = bot.seen[-1].chat
        await bot.app.dispatcher.deliver(chat, Reply("Digest: three new entries this week."))
        post = await cora.next(hub)
        assert post.body == "Digest: three new entries this week."
        assert post.decrypted


async def test_restart_mid_conversation_answers_each_message_once(
    synapse: Synapse,  # noqa: F811
    settings: Settings,
    tmp_path: Path,
) -> None:
    async with teacher(synapse, tmp_path, "dan") as dan:
        async with running(settings) as bot:
            codes = await codes_of(bot)
            device = bot.channel.client.device_id
            room = await dan.room_with(settings.matrix_user_id, encrypted=True)
            await dan.say(room, f"/join {codes['contributor']}")
            await dan.until(room, "Do you agree")
        # Said while the bot is down: answered after the restart, and nothing before it again.
        await dan.say(room, "1")
        async with running(settings) as bot:
            # The same device, so no new login and the same encryption keys.
            assert bot.channel.client.device_id == device
            devices = await bot.channel.client.devices()
            assert [d.id for d in devices.devices] == [device]
            replies = await dan.until(room, "speak English")
            assert any("You're in" in r.body for r in replies)
            assert len(bot.seen) == 1 and (bot.seen[0].button or "").endswith(":yes")
        assert dan.pending(room) == 0


async def test_burst_of_200_messages_live_and_while_stopped_loses_none(
    synapse: Synapse,  # noqa: F811
    settings: Settings,
    tmp_path: Path,
) -> None:
    handled: list[str] = []
    async with teacher(synapse, tmp_path, "eva") as eva:
        async with running(settings) as bot:
            room = await eva.room_with(settings.matrix_user_id)
            sent = [await eva.say(room, f"message {n}") for n in range(100)]
            for _ in range(100):
                await eva.next(room)
            handled += [msg.message_id for msg in bot.seen]
        # More than the default timeline limit of a sync, all sent while the bot is down.
        sent += [await eva.say(room, f"message {n}") for n in range(100, 200)]
        async with running(settings) as bot:
            for _ in range(100):
                await eva.next(room)
            handled += [msg.message_id for msg in bot.seen]
    assert handled == sent
    assert [msg.text for msg in bot.seen][:2] == ["message 100", "message 101"]


async def test_invites_from_servers_not_allowed_are_declined(
    synapse: Synapse,  # noqa: F811
    tmp_path: Path,
) -> None:
    settings = bot_settings(synapse, tmp_path / "data", matrix_allowed_servers=["school.example"])
    async with running(settings) as bot, teacher(synapse, tmp_path, "fay") as fay:
        created = await fay.client.room_create(is_direct=True, invite=[settings.matrix_user_id])
        room = created.room_id

        async def membership() -> str:
            event = await fay.client.room_get_state_event(
                room, "m.room.member", settings.matrix_user_id
            )
            return event.content.get("membership", "")

        async with asyncio.timeout(WAIT_S):
            while await membership() != "leave":
                await fay.client.synced.wait()
        assert room not in bot.channel.client.rooms


async def test_history_from_before_the_bot_arrived_is_not_answered(
    synapse: Synapse,  # noqa: F811
    settings: Settings,
    tmp_path: Path,
) -> None:
    bot_id = settings.matrix_user_id
    async with teacher(synapse, tmp_path, "gus") as gus:
        # Invited and spoken to before the bot ever ran: that is before its first sync.
        early = await gus.client.room_create(is_direct=True, invite=[bot_id])
        await gus.say(early.room_id, "hello? anyone?")
        # A room with a past, the bot invited later: what was said before is not for the bot.
        later = await gus.client.room_create(name="Staff room", is_direct=False)
        await gus.say(later.room_id, "/start before the bot was here")
        async with running(settings) as bot:
            await gus.wait_for(lambda: gus.member(early.room_id, bot_id) == "join")
            await gus.client.room_invite(later.room_id, bot_id)
            await gus.wait_for(lambda: gus.member(later.room_id, bot_id) == "join")
            await gus.say(early.room_id, "/start")
            await gus.until(early.room_id, "invite code")
            await gus.say(later.room_id, "/help")
            await gus.until(later.room_id, "what I can do")
            assert [msg.text for msg in bot.seen] == ["/start", "/help"]


async def test_a_signed_out_device_is_replaced_by_a_new_one(
    synapse: Synapse,  # noqa: F811
    settings: Settings,
    tmp_path: Path,
) -> None:
    bot_id = settings.matrix_user_id
    async with teacher(synapse, tmp_path, "hal") as hal:
        async with running(settings) as bot:
            old_device = bot.channel.client.device_id
            room = await hal.room_with(bot_id, encrypted=True)
            await hal.say(room, "/start")
            await hal.until(room, "invite code")
        # The bot's session is signed out (from Element's session list, say): keys gone too.
        admin = AsyncClient(synapse.url, bot_id)
        await admin.login(PASSWORD)
        auth = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": bot_id},
            "password": PASSWORD,
        }
        deleted = await admin.delete_devices([old_device], auth=auth)
        assert isinstance(deleted, DeleteDevicesResponse), deleted
        await admin.logout()
        await admin.close()
        async with running(settings) as bot:
            new_device = bot.channel.client.device_id
            assert new_device != old_device
            # Hal's client must learn of the new device first, or it encrypts only for the old.
            await hal.wait_for(lambda: hal.knows_device(bot_id, new_device))
            await hal.say(room, "/help")
            reply = (await hal.until(room, "what I can do"))[-1]
            assert reply.decrypted
            assert [msg.text for msg in bot.seen] == ["/help"]


async def start_entry(person: Teacher, room: str) -> None:
    """Start an entry in the first section and answer its first question."""
    await person.say(room, "/add")
    await person.until(room, "Which part of the diary")
    await person.say(room, "1")
    await person.until(room, "question 1 of")
    await person.say(room, "The pupils did not read at home.")
    await person.until(room, "question 2 of")


async def kick_and_invite_again(
    person: Teacher, room: str, bot_id: str, *, meanwhile: str | None = None
) -> None:
    """Kick the bot from the room (say `meanwhile` then) and invite it again."""
    kicked = await person.client.room_kick(room, bot_id, reason="testing")
    assert not isinstance(kicked, ErrorResponse), kicked
    await person.wait_for(lambda: person.member(room, bot_id) is None)
    if meanwhile is not None:
        await person.say(room, meanwhile)
    invited = await person.client.room_invite(room, bot_id)
    assert not isinstance(invited, ErrorResponse), invited


async def test_a_kick_and_a_new_invite_replay_nothing(
    synapse: Synapse,  # noqa: F811
    settings: Settings,
    tmp_path: Path,
) -> None:
    bot_id = settings.matrix_user_id
    async with running(settings) as bot, teacher(synapse, tmp_path, "ida") as ida:
        codes = await codes_of(bot)
        room = await ida.room_with(bot_id, encrypted=True)
        await become_member(ida, room, codes["contributor"])
        await start_entry(ida, room)
        handled = len(bot.seen)
        await kick_and_invite_again(ida, room, bot_id)
        await ida.wait_for(lambda: ida.member(room, bot_id) == "join")
        await ida.say(room, "We started a reading club.")
        # The conversation carries on where it was: nothing said before the kick moved it.
        replies = await ida.until(room, "question 3 of")
        assert [msg.text for msg in bot.seen[handled:]] == ["We started a reading club."]
        assert len(replies) == 1
    assert ida.pending(room) == 0


async def test_a_kick_and_a_new_invite_while_the_bot_is_down_replay_nothing(
    synapse: Synapse,  # noqa: F811
    settings: Settings,
    tmp_path: Path,
) -> None:
    bot_id = settings.matrix_user_id
    async with teacher(synapse, tmp_path, "jon") as jon:
        async with running(settings) as bot:
            codes = await codes_of(bot)
            room = await jon.room_with(bot_id, encrypted=False)
            await become_member(jon, room, codes["contributor"])
            await start_entry(jon, room)
        # Said while the bot was not in the room: not said to it, so not answered either.
        await kick_and_invite_again(jon, room, bot_id, meanwhile="Is anyone there?")
        async with running(settings) as bot:
            await jon.wait_for(lambda: jon.member(room, bot_id) == "join")
            await jon.say(room, "We started a reading club.")
            await jon.until(room, "question 3 of")
            assert [msg.text for msg in bot.seen] == ["We started a reading club."]
        # And once more: a plain restart answers nothing again either.
        async with running(settings) as bot:
            await jon.say(room, "/cancel")
            await jon.next(room)
            assert [msg.text for msg in bot.seen] == ["/cancel"]
    assert jon.pending(room) == 0


async def test_a_file_that_cannot_be_fetched_raises_download_error(
    synapse: Synapse,  # noqa: F811
    settings: Settings,
    tmp_path: Path,
) -> None:
    """Missing media, another server's media and a file that does not decrypt: gone for good."""
    async with running(settings) as bot, teacher(synapse, tmp_path, "kim") as kim:
        codes = await codes_of(bot)
        room = await kim.room_with(settings.matrix_user_id, encrypted=True)
        await become_member(kim, room, codes["contributor"])
        await kim.say(room, "/add")
        await kim.until(room, "Which part of the diary")
        await kim.say(room, "1")
        await kim.until(room, "question 1 of")
        plan = b"%PDF-1.4 plan"
        uploaded, keys = await kim.client.upload(
            lambda *_: plan, content_type="application/pdf", encrypt=True, filesize=len(plan)
        )
        assert isinstance(uploaded, UploadResponse), uploaded
        wrong_hash = {**(keys or {}), "hashes": {"sha256": "A" * 43}}
        files = {
            "missing": {"url": f"mxc://{SERVER_NAME}/NoSuchMediaAnywhere"},
            "remote": {"url": "mxc://elsewhere.example/NoSuchMedia"},
            "undecryptable": {"file": {"url": uploaded.content_uri, **wrong_hash}},
        }
        attachments = {}
        for name, where in files.items():
            content = {"msgtype": "m.file", "body": f"{name}.pdf", **where}
            event_id = await kim.send(room, {**content, "info": {"mimetype": "application/pdf"}})
            await kim.next(room)  # the bot's answer, whatever the evidence handler says
            msg = bot.seen[-1]
            assert msg.message_id == event_id
            attachments[name] = msg.attachments[0]
        for name, attachment in attachments.items():
            with pytest.raises(DownloadError):
                await bot.channel.download(attachment)
            assert attachment.kind == "document", name
