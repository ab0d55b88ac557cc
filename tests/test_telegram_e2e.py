"""The bot on Telegram end to end: a real HTTP conversation with the fake Bot API server."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from sqlmodel import select

from bot.demo import create_demo
from bot.settings import Settings
from storage.models import DiaryEntry, EvidenceItem, HubChat
from tests.builders import photo_with_gps, voice_note
from tests.fake_telegram import FakeTelegram, User, group
from tests.telegram_driver import labels, telegram_bot, texts


async def test_teacher_joins_by_deep_link_adds_an_entry_with_media_and_reviews_it(
    settings: Settings, tmp_path: Path
) -> None:
    ana = User(1001, "Ana", "pt")
    async with FakeTelegram() as fake, telegram_bot(settings, fake) as bot:
        async with bot.app.db.session() as session:
            demo = await create_demo(session, language="en", timezone="Europe/Lisbon")
        said = await bot.chat.say(ana, f"/start {demo.invites['contributor']}")
        # Her Telegram app is in Portuguese, so the consent text comes in Portuguese (though
        # the cluster speaks English), the other languages one tap away.
        assert "Aceita participar" in texts(said)
        others = ["English", "Nederlands", "Hrvatski", "Čeština", "Magyar", "Italiano"]
        assert labels(said[-1]) == ["Aceito", "Não aceito", *others]
        consent = said[-1]
        assert "Do you agree" in texts(await bot.chat.press(ana, "English"))
        said = await bot.chat.press(ana, "I agree")
        assert "speak English" in texts(said) and "You're in" in texts(said)
        # Each press is answered, and the pressed message shows the choice without its buttons.
        await fake.wait_until(lambda: len(fake.answered) == 2)
        await fake.wait_until(lambda: consent["text"].endswith("✓ English"))
        assert "reply_markup" not in consent

        said = await bot.chat.say(ana, "/add")
        assert "Which part of the diary" in texts(said)
        await bot.chat.press(ana, "Impact")
        big = photo_with_gps(tmp_path / "board.jpg").read_bytes()
        small = io.BytesIO()
        Image.new("RGB", (16, 12)).save(small, format="JPEG")
        photo = [
            {**fake.add_file(small.getvalue(), "s.jpg"), "width": 16, "height": 12},
            {**fake.add_file(big, "b.jpg"), "width": 64, "height": 48},
        ]
        said = await bot.chat.say(ana, photo=photo, caption="The board")
        assert "Kept as evidence" in texts(said)
        # While the photo was fetched, the chat showed the bot at work.
        assert (ana.id, "typing") in fake.actions
        voice = voice_note(tmp_path / "v.wav").read_bytes()
        said = await bot.chat.say(
            ana, voice={**fake.add_file(voice, "v.oga"), "duration": 2, "mime_type": "audio/ogg"}
        )
        assert "Kept as evidence" in texts(said)
        await bot.chat.press(ana, "That's all")
        await bot.chat.say(ana, "It went well")
        await bot.chat.press(ana, "Add it")
        said = await bot.chat.press(ana, "Cluster only")
        assert "Thank you" in texts(said)

        async with bot.app.db.session() as session:
            items = (await session.exec(select(EvidenceItem))).all()
            (entry,) = (await session.exec(select(DiaryEntry))).all()
        assert entry.status == "submitted"
        photo_item = next(i for i in items if i.kind == "photo")
        voice_item = next(i for i in items if i.kind == "voice")
        stored = await bot.app.media.get(photo_item.media_hash)
        with Image.open(io.BytesIO(stored)) as image:
            assert image.size == (64, 48)  # the largest size, not the thumbnail
        assert photo_item.caption == "The board"
        assert await bot.app.media.get(voice_item.media_hash) == voice
        assert voice_item.duration_s == 2

        listing = await bot.chat.say(ana, "/mine")
        assert "📎2" in texts(listing)


async def _member(bot, fake: FakeTelegram, user: User, role: str) -> None:
    async with bot.app.db.session() as session:
        demo = await create_demo(session, language="en", timezone="Europe/Lisbon")
    await bot.chat.say(user, f"/start {demo.invites[role]}")
    await bot.chat.press(user, "I agree")


async def test_coordinator_links_the_hub_group(settings: Settings) -> None:
    cora = User(2001, "Cora")
    hub = group(3001, "Cluster hub")
    async with FakeTelegram() as fake, telegram_bot(settings, fake) as bot:
        await _member(bot, fake, cora, "coordinator")
        said = await bot.chat.say(cora, "/hubcode")
        code = texts(said).split("/linkhub ")[1].split()[0]

        # In the group: chatter and other bots' commands get nothing; private commands a hint.
        assert await bot.chat.say(cora, "hello everyone", chat=hub) == []
        await fake.message(cora, f"/linkhub@another_bot {code}", chat=hub)
        said = await bot.chat.say(cora, "/add", chat=hub)
        assert "private chat" in texts(said)
        said = await bot.chat.say(cora, f"/linkhub@{fake.username} {code}", chat=hub)
        assert "now the hub of Demo Cluster" in texts(said)
        assert len(fake.sent_to(hub["id"])) == 2


async def test_the_hub_link_follows_a_group_upgraded_to_a_supergroup(settings: Settings) -> None:
    cora = User(2001, "Cora")
    old = {"id": -3001, "type": "group", "title": "Cluster hub"}
    new = {"id": -1003001, "type": "supergroup", "title": "Cluster hub"}
    # Telegram's stand-in sender for what a group does as itself (anonymous admins).
    anonymous = {"id": 1087968824, "is_bot": True, "first_name": "Group"}
    async with FakeTelegram() as fake, telegram_bot(settings, fake) as bot:
        await _member(bot, fake, cora, "coordinator")
        code = texts(await bot.chat.say(cora, "/hubcode")).split("/linkhub ")[1].split()[0]
        await bot.chat.say(cora, f"/linkhub {code}", chat=old)
        # The upgrade: a service message in each chat, the old one's is of no use to the bot.
        await fake.message(cora, chat=old, migrate_to_chat_id=new["id"])
        said = await bot.chat.say(
            cora, chat=new, migrate_from_chat_id=old["id"], **{"from": anonymous}
        )
        assert said == []
        async with bot.app.db.session() as session:
            (hub,) = (await session.exec(select(HubChat))).all()
        assert hub.chat_id == str(new["id"])


async def test_album_lands_in_one_entry_and_stickers_are_refused(settings: Settings) -> None:
    ana = User(1001, "Ana")
    async with FakeTelegram() as fake, telegram_bot(settings, fake) as bot:
        await _member(bot, fake, ana, "contributor")
        await bot.chat.say(ana, "/add")
        await bot.chat.press(ana, "Action taken")
        sticker = {
            **fake.add_file(b"webp", "s.webp"),
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        said = await bot.chat.say(ana, sticker=sticker)
        assert "can't keep that (sticker)" in texts(said)
        said = await bot.chat.say(ana, location={"latitude": 38.7, "longitude": -9.1})
        assert "can't keep that (location)" in texts(said)

        acknowledged = []
        for colour in ("red", "blue", "green"):
            image = io.BytesIO()
            Image.new("RGB", (32, 24), colour).save(image, format="JPEG")
            size = {**fake.add_file(image.getvalue(), f"{colour}.jpg"), "width": 32, "height": 24}
            acknowledged += await bot.chat.say(ana, photo=[size], media_group_id="album-1")
        assert texts(acknowledged).count("Kept as evidence") == 1
        assert texts(acknowledged).count("question 1 of") == 1  # asked again once, not per photo
        said = await bot.chat.say(ana, "We drew up a rota")
        assert "question 2 of" in texts(said)

        async with bot.app.db.session() as session:
            items = (await session.exec(select(EvidenceItem))).all()
        assert len(items) == 3 and len({i.entry_id for i in items}) == 1
        assert len({i.media_hash for i in items}) == 3


async def test_outdated_button_is_answered_politely(settings: Settings) -> None:
    ana = User(1001, "Ana")
    async with FakeTelegram() as fake, telegram_bot(settings, fake) as bot:
        await _member(bot, fake, ana, "contributor")
        await bot.chat.say(ana, "/add")
        await bot.chat.say(ana, "/language")
        # The section choice is still on screen, with its buttons; she presses one anyway.
        said = await bot.chat.press(ana, "Impact")
        assert "earlier message" in texts(said) and "Which language" in texts(said)
        await fake.wait_until(lambda: len(fake.answered) == 2)  # "I agree", then this one


async def test_each_chat_in_order_and_chats_side_by_side(settings: Settings) -> None:
    ana, bea = User(1001, "Ana"), User(1002, "Bea")
    async with FakeTelegram() as fake, telegram_bot(settings, fake):
        # Injected all at once, without waiting for answers, interleaved across two chats.
        for n in range(15):
            for user in (ana, bea):
                await fake.message(user, f"/nothing{n}")
        await fake.wait_until(lambda: len(fake.sent) == 30)
        for user in (ana, bea):
            replies = [m["text"] for m in fake.sent_to(user.id)]
            assert replies == [
                f"I don't know the command /nothing{n}. Send /help to see what I can do."
                for n in range(15)
            ]
