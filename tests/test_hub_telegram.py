"""The hub group on Telegram: meeting RSVPs under an edited post, and digests with a chart.

A meeting's RSVP buttons sit under its hub post, whose tally is kept by editing it; a digest is
posted as text with a link to add to the diary, then the chart as a photo.

Real HTTP between python-telegram-bot and the fake Bot API server (`tests.fake_telegram`), the
whole bot behind it; the scheduler runs on a clock the test sets, so the announcement goes out
when the test ticks it.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from PIL import Image
from sqlmodel import select

from bot.demo import create_demo
from bot.settings import Settings
from storage.models import AuditEvent, HubChat, Person
from storage.people import contacts
from tests.fake_telegram import FakeTelegram, User, group
from tests.telegram_driver import RunningBot, labels, telegram_bot, texts
from tests.test_meetings import NOW, Clock, restarted

CORA, ANA, BOB = User(2001, "Cora"), User(1001, "Ana"), User(1009, "Bob")
HUB = group(3001, "Cluster hub")


@asynccontextmanager
async def hub_linked(
    settings: Settings, clock: Clock
) -> AsyncIterator[tuple[FakeTelegram, RunningBot]]:
    """The bot on the fake server: cora (coordinator) and ana (contributor) joined, hub linked."""
    async with FakeTelegram() as fake, telegram_bot(settings, fake) as bot:
        bot.app.dispatcher.clock = clock
        async with bot.app.db.session() as session:
            demo = await create_demo(session, language="en", timezone="Europe/Lisbon")
        for user, role in ((CORA, "coordinator"), (ANA, "contributor")):
            await bot.chat.say(user, f"/start {demo.invites[role]}")
            await bot.chat.press(user, "I agree")
        code = texts(await bot.chat.say(CORA, "/hubcode")).split("/linkhub ")[1].split()[0]
        await bot.chat.say(CORA, f"/linkhub {code}", chat=HUB)
        yield fake, bot


async def test_hub_buttons_count_answers_and_the_post_is_edited(settings: Settings) -> None:
    clock = Clock(NOW)
    async with hub_linked(settings, clock) as (fake, bot):
        review = await bot.chat.say(CORA, "/meeting 20/01/2027 15:00 Hillview library | focus")
        assert "Wednesday, 20 January 2027, 15:00" in texts(review)
        await bot.chat.press(CORA, "Announce it")
        await restarted(bot.app, clock).tick()
        post, calendar_file = fake.sent_to(HUB["id"])[-2:]
        assert labels(post) == ["Coming", "Maybe", "Not coming"]
        assert calendar_file["document"]["file_name"].endswith(".ics")
        assert "Coming 0 · maybe 0" in post["text"]

        said = await bot.chat.press(ANA, "Coming", chat=HUB)
        assert "you are coming" in texts(m for m in said if m["chat"]["id"] == ANA.id)
        await fake.wait_until(
            lambda: "Coming 1 · maybe 0" in fake.message_at(HUB["id"], post["message_id"])["text"]
        )
        # The buttons stay under the post for the next person.
        assert labels(fake.message_at(HUB["id"], post["message_id"])) == labels(post)

        # Someone outside the cluster presses too: told so in the hub, the tally unchanged.
        said = await bot.chat.press(BOB, "Maybe", chat=HUB)
        assert "not invited" in texts(said)
        assert "Coming 1 · maybe 0" in fake.message_at(HUB["id"], post["message_id"])["text"]


async def test_digest_in_the_hub_is_text_then_a_chart_with_a_link_to_add(
    settings: Settings,
) -> None:
    async with hub_linked(settings, Clock(NOW)) as (fake, bot):
        said = await bot.chat.say(CORA, "/digest 7d", chat=HUB)
        text, chart = said[-2:]
        assert text["chat"]["id"] == chart["chat"]["id"] == HUB["id"]
        assert "Diary digest of Demo Cluster" in text["text"]
        # In a group, "add to the diary" opens the private chat and starts /add there.
        (button,) = [b for row in text["reply_markup"]["inline_keyboard"] for b in row]
        assert button["url"] == f"https://t.me/{fake.username}?start=cmd-add"
        assert chart["caption"].startswith("Contributions in the last 90 days")
        with Image.open(io.BytesIO(chart["bytes"])) as image:
            assert image.format == "PNG" and image.width >= 900
        # The link's /start cmd-add arrives as /add.
        said = await bot.chat.say(ANA, "/start cmd-add")
        assert "Which part of the diary" in texts(said)


async def test_an_anonymous_admins_command_is_answered_with_how_to_be_known(
    settings: Settings,
) -> None:
    async with hub_linked(settings, Clock(NOW)) as (fake, bot):
        async with bot.app.db.session() as session:
            people = len((await session.exec(select(Person))).all())
        # Telegram sends it from its stand-in bot, in the name of the group itself.
        stand_in = {"id": 1087968824, "is_bot": True, "first_name": "Group"}
        as_group = {"sender_chat": HUB, "from": stand_in}
        said = await bot.chat.say(CORA, "/hubcode", chat=HUB, **as_group)
        assert "anonymous admin" in texts(said) and said[-1]["chat"]["id"] == HUB["id"]
        # Anything else said so gets no answer (the next message's answer is the only one).
        await fake.message(CORA, "hello", chat=HUB, **as_group)
        said = await bot.chat.say(CORA, "/help", chat=HUB)
        assert len(said) == 1 and "anonymous" not in texts(said)
        async with bot.app.db.session() as session:  # nobody was made up for the group
            assert len((await session.exec(select(Person))).all()) == people


async def test_removing_the_bot_from_the_hub_unlinks_it_and_tells_the_coordinators(
    settings: Settings,
) -> None:
    async with hub_linked(settings, Clock(NOW)) as (fake, bot):
        me = {"id": 999, "is_bot": True, "first_name": "Diary"}
        assert "my_chat_member" in (fake.allowed_updates or [])
        said = await bot.chat.update(
            HUB["id"],
            {
                "my_chat_member": {
                    "chat": HUB,
                    "from": BOB.as_json(),  # another admin of the group
                    "date": 1_800_000_000,
                    "old_chat_member": {"user": me, "status": "member"},
                    "new_chat_member": {"user": me, "status": "left"},
                }
            },
        )
        # Cora hears of it in her private chat; the group itself can no longer be written to.
        assert [m["chat"]["id"] for m in said] == [CORA.id]
        assert "I am no longer in “Cluster hub”, the hub chat of Demo Cluster" in texts(said)
        async with bot.app.db.session() as session:
            assert (await session.exec(select(HubChat))).all() == []
            audit = (
                await session.exec(select(AuditEvent).where(AuditEvent.action == "hub.removed"))
            ).one()
        assert audit.target.startswith("cluster:")


async def test_a_hub_linked_in_a_forum_topic_is_answered_and_posted_to_in_topics(
    settings: Settings,
) -> None:
    forum = {**group(3002, "Cluster forum"), "is_forum": True}
    planning, chatter = (
        {"message_thread_id": 7, "is_topic_message": True},
        {
            "message_thread_id": 9,
            "is_topic_message": True,
        },
    )
    clock = Clock(NOW)
    async with FakeTelegram() as fake, telegram_bot(settings, fake) as bot:
        bot.app.dispatcher.clock = clock
        async with bot.app.db.session() as session:
            demo = await create_demo(session, language="en", timezone="Europe/Lisbon")
        await bot.chat.say(CORA, f"/start {demo.invites['coordinator']}")
        await bot.chat.press(CORA, "I agree")
        code = texts(await bot.chat.say(CORA, "/hubcode")).split("/linkhub ")[1].split()[0]

        linked = await bot.chat.say(CORA, f"/linkhub {code}", chat=forum, **planning)
        assert "now the hub of Demo Cluster" in texts(linked)
        assert [m.get("message_thread_id") for m in linked] == [7]
        async with bot.app.db.session() as session:
            assert (await session.exec(select(HubChat))).one().thread_id == "7"

        # A command in another topic is answered in that topic; one in General, in General.
        said = await bot.chat.say(CORA, "/help", chat=forum, **chatter)
        assert said and {m.get("message_thread_id") for m in said} == {9}
        said = await bot.chat.say(CORA, "/help", chat=forum)
        assert said and all("message_thread_id" not in m for m in said)

        # What the bot posts by itself goes to the topic the hub was linked in.
        await bot.chat.say(CORA, "/meeting 20/01/2027 15:00 Hillview library | focus")
        await bot.chat.press(CORA, "Announce it")
        await restarted(bot.app, clock).tick()
        post, calendar_file = fake.sent_to(forum["id"])[-2:]
        assert "Hillview library" in post["text"]
        assert post["message_thread_id"] == calendar_file["message_thread_id"] == 7
        # A button pressed under the post is answered in the same topic.
        said = await bot.chat.press(CORA, "Coming", chat=forum)
        assert all(m.get("message_thread_id") == 7 for m in said if m["chat"]["id"] == forum["id"])

        # The topic deleted by an admin: the next post goes to General rather than nowhere.
        fake.deleted_topics.add(7)
        await bot.chat.say(CORA, "/meeting 27/01/2027 15:00 Hillview library | focus")
        await bot.chat.press(CORA, "Announce it")
        await restarted(bot.app, clock).tick()
        post, calendar_file = fake.sent_to(forum["id"])[-2:]
        assert "27 January 2027" in post["text"]
        assert "message_thread_id" not in post and "message_thread_id" not in calendar_file


async def test_a_person_who_blocks_the_bot_is_skipped_and_shown_until_they_write_again(
    settings: Settings,
) -> None:
    async with hub_linked(settings, Clock(NOW)) as (_fake, bot):
        me = {"id": 999, "is_bot": True, "first_name": "Diary"}
        blocked = {
            "my_chat_member": {
                "chat": ANA.chat,
                "from": ANA.as_json(),
                "date": 1_800_000_000,
                "old_chat_member": {"user": me, "status": "member"},
                "new_chat_member": {"user": me, "status": "kicked", "until_date": 0},
            }
        }
        assert await bot.chat.update(ANA.id, blocked) == []
        async with bot.app.db.session() as session:
            ana = (await session.exec(select(Person).where(Person.display_name == "Ana"))).one()
            assert ana.id is not None
            assert await contacts(session, person_ids=[ana.id]) == []
        overview = texts(await bot.chat.say(CORA, "/reminders"))
        assert "Not reachable: they blocked me" in overview
        assert "• Ana, since" in overview

        # Talking in the hub is not talking to the bot privately: still unreachable, and an
        # answer for her alone stays in the group.
        said = await bot.chat.say(ANA, "/digest", chat=HUB)
        assert [m["chat"]["id"] for m in said] == [HUB["id"]]
        async with bot.app.db.session() as session:
            assert await contacts(session, person_ids=[ana.id]) == []

        # Someone the bot never heard from blocking it leaves no trace.
        stranger = {**blocked["my_chat_member"], "chat": BOB.chat, "from": BOB.as_json()}
        await bot.chat.update(BOB.id, {"my_chat_member": stranger})
        async with bot.app.db.session() as session:
            assert len((await session.exec(select(Person))).all()) == 2

        await bot.chat.say(ANA, "/help")  # unblocked, and writing again
        async with bot.app.db.session() as session:
            assert [c.chat_id for c in await contacts(session, person_ids=[ana.id])] == [
                str(ANA.id)
            ]
        await bot.chat.press(CORA, "Leave as it is")
        assert "Not reachable" not in texts(await bot.chat.say(CORA, "/reminders"))
