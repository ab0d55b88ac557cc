"""A meeting's RSVP through Telegram: buttons under the hub post, the tally kept by editing it.

Real HTTP between python-telegram-bot and the fake Bot API server (`tests.fake_telegram`), the
whole bot behind it; the scheduler runs on a clock the test sets, so the announcement goes out
when the test ticks it.
"""

from __future__ import annotations

from bot.demo import create_demo
from bot.settings import Settings
from tests.fake_telegram import FakeTelegram, User, group
from tests.telegram_driver import labels, telegram_bot, texts
from tests.test_meetings import NOW, Clock, restarted


async def test_hub_buttons_count_answers_and_the_post_is_edited(settings: Settings) -> None:
    cora, ana, bob = User(2001, "Cora"), User(1001, "Ana"), User(1009, "Bob")
    hub = group(3001, "Cluster hub")
    clock = Clock(NOW)
    async with FakeTelegram() as fake, telegram_bot(settings, fake) as bot:
        bot.app.dispatcher.clock = clock
        async with bot.app.db.session() as session:
            demo = await create_demo(session, language="en", timezone="Europe/Lisbon")
        for user, role in ((cora, "coordinator"), (ana, "contributor")):
            await bot.chat.say(user, f"/start {demo.invites[role]}")
            await bot.chat.press(user, "I agree")
            await bot.chat.press(user, "English")
        code = texts(await bot.chat.say(cora, "/hubcode")).split("/linkhub ")[1].split()[0]
        await bot.chat.say(cora, f"/linkhub {code}", chat=hub)
        review = await bot.chat.say(cora, "/meeting 20/01/2027 15:00 Hillview library | focus")
        assert "Wednesday, 20 January 2027, 15:00" in texts(review)
        await bot.chat.press(cora, "Announce it")
        scheduler = restarted(bot.app, clock)
        await scheduler.tick()
        post, calendar_file = fake.sent_to(hub["id"])[-2:]
        assert labels(post) == ["Coming", "Maybe", "Not coming"]
        assert calendar_file["document"]["file_name"].endswith(".ics")
        assert "Coming 0 · maybe 0" in post["text"]

        said = await bot.chat.press(ana, "Coming", chat=hub)
        assert "you are coming" in texts(m for m in said if m["chat"]["id"] == ana.id)
        await fake.wait_until(
            lambda: "Coming 1 · maybe 0" in fake.message_at(hub["id"], post["message_id"])["text"]
        )
        # The buttons stay under the post for the next person.
        assert labels(fake.message_at(hub["id"], post["message_id"])) == labels(post)

        # Someone outside the cluster presses too: told so in the hub, the tally unchanged.
        said = await bot.chat.press(bob, "Maybe", chat=hub)
        assert "not invited" in texts(said)
        assert "Coming 1 · maybe 0" in fake.message_at(hub["id"], post["message_id"])["text"]
