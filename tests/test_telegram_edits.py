"""Message ids and edits on Telegram: what `send` returns, edits in place, presses in groups.

A meeting's post in a hub group keeps its RSVP tally current by editing itself, so `send`
returns the ids Telegram assigned, a reply with `edit` changes that message (text and buttons)
through the outbox, and a button press in a group leaves the shared message alone. Real HTTP
against the fake Bot API server; transport only, so SQLite only (the local `settings` fixture
replaces the one that runs each test on both databases).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlmodel import select

from bot.channel import ChannelError
from bot.channels.telegram_convert import TEXT_LIMIT, units
from bot.channels.telegram_outbox import Limits
from bot.demo import create_demo
from bot.messages import Button, ChatKind, ChatRef, Reply
from bot.settings import Settings, load_settings
from storage.models import DiaryEntry
from tests.fake_telegram import FakeTelegram, User, group
from tests.telegram_driver import labels, telegram_bot, texts

QUICK = Limits(backoff=0.02, attempts=4)
ANA, BEA = User(1001, "Ana"), User(1002, "Bea")
HUB = group(3001, "Cluster hub")
RSVP = (Button("Going", "test:rsvp:yes"), Button("Not going", "test:rsvp:no"))


@pytest.fixture
def settings(tmp_path) -> Settings:
    return load_settings(data_dir=tmp_path / "data")


def private(user: User) -> ChatRef:
    return ChatRef("telegram", str(user.id), ChatKind.PRIVATE)


def hub() -> ChatRef:
    return ChatRef("telegram", str(HUB["id"]), ChatKind.GROUP, title=HUB["title"])


async def test_send_returns_the_ids_telegram_assigned(settings: Settings) -> None:
    async with FakeTelegram() as fake, telegram_bot(settings, fake) as bot:
        ids = await bot.channel.send(private(ANA), Reply("Hello", buttons=RSVP))
        assert ids == [str(fake.sent_to(ANA.id)[0]["message_id"])]

        # A long text goes out in parts: one id each, in order, the buttons under the last.
        long = "\n\n".join(["word " * 700] * 3)
        ids = await bot.channel.send(private(BEA), Reply(long, buttons=RSVP))
        parts = fake.sent_to(BEA.id)
        assert len(parts) == 3
        assert ids == [str(m["message_id"]) for m in parts]
        assert len(set(ids)) == 3
        assert labels(fake.message_at(BEA.id, ids[-1])) == ["Going", "Not going"]

        # Media (through PTB's own calls) too: a photo whose caption is too long, then its text.
        ids = await bot.channel.send(private(ANA), Reply("x" * 1500, photo=b"\x89PNG"))
        photo, text = fake.sent_to(ANA.id)[1:]
        assert ids == [str(photo["message_id"]), str(text["message_id"])]
        assert "photo" in photo and text["text"] == "x" * 1500


async def test_an_edit_changes_text_and_buttons_in_place(settings: Settings) -> None:
    async with FakeTelegram() as fake, telegram_bot(settings, fake) as bot:
        (posted,) = await bot.channel.send(hub(), Reply("Meeting on Friday", buttons=RSVP))
        long_data = "test:rsvp:" + "m" * 80  # over the 64 bytes of callback_data: packed
        changed = (Button("Going (1)", "test:rsvp:yes"), Button("Maybe", long_data))
        edit = Reply("Meeting on Friday\n1 going", buttons=changed, edit=posted)

        assert await bot.channel.send(hub(), edit) == [posted]
        message = fake.message_at(HUB["id"], posted)
        assert message["text"] == "Meeting on Friday\n1 going"
        assert labels(message) == ["Going (1)", "Maybe"]
        packed = message["reply_markup"]["inline_keyboard"][0][1]["callback_data"]
        assert len(packed.encode()) <= 64 and bot.channel.buttons.unpack(packed) == long_data
        assert len(fake.sent) == 1 and fake.edits == [(HUB["id"], int(posted))]
        (params,) = [p for method, p in fake.calls if method == "editMessageText"]
        assert params["link_preview_options"] == {"is_disabled": True}
        assert "parse_mode" not in params

        # Without buttons, the keyboard goes.
        await bot.channel.send(hub(), Reply("Meeting cancelled", edit=posted))
        assert "reply_markup" not in fake.message_at(HUB["id"], posted)

        # Too long for one message: cut to fit, since an edit cannot add messages.
        words = "word " * 1000
        assert await bot.channel.send(hub(), Reply(words, edit=posted)) == [posted]
        text = fake.message_at(HUB["id"], posted)["text"]
        assert units(text) <= TEXT_LIMIT and text.endswith("…")
        assert words.startswith(text[:-1])
        assert len(fake.sent) == 1


async def test_an_edit_that_changes_nothing_is_fine(settings: Settings) -> None:
    async with FakeTelegram() as fake, telegram_bot(settings, fake) as bot:
        (posted,) = await bot.channel.send(hub(), Reply("3 going", buttons=RSVP))
        # The fake answers as Telegram does...
        answer = await fake.request(
            "editMessageText",
            chat_id=HUB["id"],
            message_id=int(posted),
            text="3 going",
            reply_markup=fake.message_at(HUB["id"], posted)["reply_markup"],
        )
        assert answer["error_code"] == 400
        assert answer["description"].startswith("Bad Request: message is not modified")
        # ... and the channel takes that as done, every time.
        for _ in range(2):
            assert await bot.channel.send(hub(), Reply("3 going", buttons=RSVP, edit=posted)) == [
                posted
            ]
        assert fake.edits == []
        assert [m for m, _ in fake.calls].count("editMessageText") == 3
        assert fake.message_at(HUB["id"], posted)["text"] == "3 going"


async def test_an_edit_telegram_refuses_is_a_channel_error(settings: Settings) -> None:
    async with FakeTelegram() as fake, telegram_bot(settings, fake) as bot:
        with pytest.raises(ChannelError, match=r"(?i)not edited.*message to edit not found"):
            await bot.channel.send(hub(), Reply("gone", edit="999"))
        with pytest.raises(ChannelError, match="no message"):
            await bot.channel.send(hub(), Reply("gone", edit="$event:matrix.org"))
        (photo,) = await bot.channel.send(hub(), Reply("A chart", photo=b"\x89PNG"))
        with pytest.raises(ChannelError, match=r"(?i)no text in the message"):
            await bot.channel.send(hub(), Reply("a text now", edit=photo))
        assert fake.edits == []


async def test_a_press_in_a_group_leaves_the_message_while_a_private_one_tidies(
    settings: Settings,
) -> None:
    async with FakeTelegram() as fake:
        async with telegram_bot(settings, fake) as bot:
            (in_hub,) = await bot.channel.send(hub(), Reply("Meeting on Friday", buttons=RSVP))
            (in_private,) = await bot.channel.send(private(ANA), Reply("Come?", buttons=RSVP))
            await bot.chat.press(ANA, "Going", chat=HUB)
            await bot.chat.press(BEA, "Not going", chat=HUB)  # the buttons are still there
            await bot.chat.press(ANA, "Going")
            await fake.wait_until(
                lambda: fake.message_at(ANA.id, in_private)["text"] == "Come?\n\n✓ Going"
            )
        # Stopping waits for the channel's background work (answering, tidying) to finish, so
        # an edit of the group's message would have been made by now.
        assert len(fake.answered) == 3
        message = fake.message_at(HUB["id"], in_hub)
        assert message["text"] == "Meeting on Friday"
        assert labels(message) == ["Going", "Not going"]
        assert "edit_date" not in message
        assert fake.edits == [(ANA.id, int(in_private))]
        assert "reply_markup" not in fake.message_at(ANA.id, in_private)


async def test_an_edit_in_a_group_is_paced_and_retried_like_a_post(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with FakeTelegram() as fake, telegram_bot(settings, fake, limits=QUICK) as bot:
        outbox = bot.channel.outbox
        delivered: list[tuple[str, bool]] = []
        deliver = outbox.deliver

        async def recording(chat_id: str, call: Callable[[], Awaitable[Any]], *, group: bool):
            delivered.append((chat_id, group))
            return await deliver(chat_id, call, group=group)

        monkeypatch.setattr(outbox, "deliver", recording)
        (posted,) = await bot.channel.send(hub(), Reply("Meeting", buttons=RSVP))
        fake.fail("editMessageText", 502, times=2)  # retried, as the outbox retries posts
        await bot.channel.send(hub(), Reply("Meeting\n1 going", buttons=RSVP, edit=posted))
        (hello,) = await bot.channel.send(private(ANA), Reply("Hello"))
        await bot.channel.send(private(ANA), Reply("Hello again", edit=hello))
        hub_id, ana_id = str(HUB["id"]), str(ANA.id)
        # In the group through the group's window (its 20 a minute), in private without it.
        assert delivered == [(hub_id, True), (hub_id, True), (ana_id, False), (ana_id, False)]
        assert fake.message_at(HUB["id"], posted)["text"] == "Meeting\n1 going"
        assert fake.message_at(ANA.id, hello)["text"] == "Hello again"


async def test_edits_of_one_message_waiting_their_turn_collapse_into_the_newest(
    settings: Settings,
) -> None:
    async with FakeTelegram() as fake, telegram_bot(settings, fake) as bot:
        (post,) = await bot.channel.send(hub(), Reply("Tally 0", buttons=RSVP))
        # Five answers at once: the first edit goes out, the other four wait behind it and
        # only the newest of them is sent.
        tallies = [Reply(f"Tally {n}", buttons=RSVP, edit=post) for n in range(1, 6)]
        results = await asyncio.gather(*(bot.channel.send(hub(), r) for r in tallies))
        assert results == [[post]] * 5
        assert len(fake.edits) == 2
        assert fake.message_at(HUB["id"], post)["text"] == "Tally 5"
        # Nothing is left waiting: a later edit goes out on its own.
        await bot.channel.send(hub(), Reply("Tally 6", buttons=RSVP, edit=post))
        assert len(fake.edits) == 3


async def test_a_person_editing_an_answer_on_telegram_changes_the_entry_being_written(
    settings: Settings,
) -> None:
    async with FakeTelegram() as fake, telegram_bot(settings, fake) as bot:
        async with bot.app.db.session() as session:
            demo = await create_demo(session, language="en", timezone="Europe/Lisbon")
        await bot.chat.say(ANA, f"/start {demo.invites['contributor']}")
        await bot.chat.press(ANA, "I agree")
        assert "edited_message" in (fake.allowed_updates or [])  # asked for, so delivered
        await bot.chat.say(ANA, "/add")
        await bot.chat.press(ANA, "The issue")
        await bot.chat.say(ANA, "Pupils rarley read at home")
        typo = fake.received[-1]
        await bot.chat.say(ANA, "Reading logs")

        said = await bot.chat.edit(ANA, typo, "Pupils rarely read at home")
        assert "Changed in the entry you are writing" in texts(said)
        async with bot.app.db.session() as session:
            draft = (await session.exec(select(DiaryEntry))).one()
        assert draft.activity == {
            "why": "Pupils rarely read at home",
            "rationale": "Reading logs",
        }
        # An edit of the command that began it changes nothing and says where changes go.
        start = next(m for m in fake.received if m.get("text") == "/add")
        assert "use /mine" in texts(await bot.chat.edit(ANA, start, "/add again"))
