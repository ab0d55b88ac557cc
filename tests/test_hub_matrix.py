"""The hub room on Matrix: meeting RSVPs by reaction, and digests as notices with a chart.

A reaction to a meeting's hub post counts as an answer and the post is edited with the tally;
a digest is posted as `m.notice` text, then the chart as `m.image`.

The whole bot against a real Synapse, teachers as nio clients, in an encrypted hub room as
Element makes them; the scheduler runs on a clock the test sets, so the announcement goes out
when the test ticks it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from bot.settings import Settings
from storage.models import HubChat, MeetingAnswer
from tests.synapse import Synapse, Teacher, synapse  # noqa: F401 (the fixture)
from tests.test_matrix_e2e import (  # noqa: F401 (fixtures)
    become_member,
    codes_of,
    keys_may_be_slow,
    running,
    settings,
    teacher,
)
from tests.test_meetings import NOW, Clock, restarted

pytestmark = pytest.mark.synapse


async def linked_hub(cora: Teacher, dm: str, bot_id: str, *members: Teacher) -> str:
    """An encrypted hub room made by cora (a coordinator) with `members` in it, linked."""
    await cora.say(dm, "/hubcode")
    code = (await cora.until(dm, "/linkhub"))[-1].body.split("/linkhub", 1)[1].split()[0]
    hub = await cora.room_with(bot_id, encrypted=True, name="Demo hub", direct=False)
    for person in members:
        await cora.client.room_invite(hub, person.user_id)
        await person.client.join(hub)
        await person.wait_for(lambda person=person: hub in person.client.rooms)
    await cora.say(hub, f"/linkhub {code}")
    await cora.until(hub, "Demo Cluster")
    return hub


async def test_a_reaction_in_the_hub_answers_and_the_post_shows_the_tally(
    synapse: Synapse,  # noqa: F811
    settings: Settings,  # noqa: F811
    tmp_path: Path,
) -> None:
    clock = Clock(NOW)
    async with (
        running(settings) as bot,
        teacher(synapse, tmp_path, "cora") as cora,
        teacher(synapse, tmp_path, "ana") as ana,
    ):
        bot.app.dispatcher.clock = clock
        codes = await codes_of(bot)
        cora_dm = await cora.room_with(settings.matrix_user_id, encrypted=True)
        await become_member(cora, cora_dm, codes["coordinator"])
        ana_dm = await ana.room_with(settings.matrix_user_id, encrypted=True)
        await become_member(ana, ana_dm, codes["contributor"])

        hub = await linked_hub(cora, cora_dm, settings.matrix_user_id or "", ana)

        await cora.say(cora_dm, "/meeting 20/01/2027 15:00 https://meet.example.org/north | focus")
        review = (await cora.until(cora_dm, "Shall I announce"))[-1]
        assert "1. Announce it" in review.body
        await cora.say(cora_dm, "1")
        await cora.until(cora_dm, "Scheduled for Wednesday, 20 January 2027, 15:00")
        scheduler = restarted(bot.app, clock)
        await scheduler.tick()
        post = (await ana.until(hub, "Coming 0"))[-1]
        assert "react to this message: 👍 coming" in post.body

        thumbs = await ana.react(hub, post.event_id, "👍")
        assert "you are coming" in (await ana.until(ana_dm, "you are coming"))[-1].body
        edit = (await ana.until(hub, "Coming 1 · maybe 0"))[-1]
        assert edit.source["content"]["m.relates_to"] == {
            "rel_type": "m.replace",
            "event_id": post.event_id,
        }
        async with bot.app.db.session() as session:
            (answer,) = (await session.exec(select(MeetingAnswer))).all()
        assert answer.answer == "coming"
        # Any other emoji is just a reaction: nothing is counted, nothing said. Nor is anything
        # when a reaction is taken back (a redaction): the answer it gave stands.
        await ana.react(hub, post.event_id, "🎉")
        await ana.redact(hub, thumbs)
        await cora.say(hub, "/help")
        await cora.until(hub, "/help")
        assert ana.pending(ana_dm) == 0
        assert bot.seen[-2].deleted_of == thumbs
        async with bot.app.db.session() as session:
            (answer,) = (await session.exec(select(MeetingAnswer))).all()
        assert answer.answer == "coming"


async def test_a_digest_in_the_hub_is_a_notice_and_an_image(
    synapse: Synapse,  # noqa: F811
    settings: Settings,  # noqa: F811
    tmp_path: Path,
) -> None:
    async with running(settings) as bot, teacher(synapse, tmp_path, "cora") as cora:
        codes = await codes_of(bot)
        dm = await cora.room_with(settings.matrix_user_id, encrypted=True)
        await become_member(cora, dm, codes["coordinator"])
        hub = await linked_hub(cora, dm, settings.matrix_user_id or "")
        await cora.say(hub, "/digest 7d")
        text = (await cora.until(hub, "Diary digest of Demo Cluster"))[-1]
        assert text.source["content"]["msgtype"] == "m.notice"
        assert "1. Add to the diary" not in text.body, "no numbered choice in a shared room"
        image = await cora.next(hub)
        assert image.source["content"]["msgtype"] == "m.image"
        caption = await cora.next(hub)
        assert caption.body.startswith("Contributions in the last 90 days")


async def test_kicking_the_bot_from_the_hub_unlinks_it_and_tells_the_other_coordinators(
    synapse: Synapse,  # noqa: F811
    settings: Settings,  # noqa: F811
    tmp_path: Path,
) -> None:
    async with (
        running(settings) as bot,
        teacher(synapse, tmp_path, "cora") as cora,
        teacher(synapse, tmp_path, "dan") as dan,
    ):
        codes = await codes_of(bot)
        cora_dm = await cora.room_with(settings.matrix_user_id, encrypted=True)
        await become_member(cora, cora_dm, codes["coordinator"])
        dan_dm = await dan.room_with(settings.matrix_user_id, encrypted=True)
        await become_member(dan, dan_dm, codes["coordinator"])
        hub = await linked_hub(cora, cora_dm, settings.matrix_user_id or "")

        await cora.client.room_kick(hub, settings.matrix_user_id or "", reason="tidying up")
        notice = (await dan.until(dan_dm, "I am no longer in"))[-1]
        assert "the hub chat of Demo Cluster" in notice.body
        async with bot.app.db.session() as session:
            assert (await session.exec(select(HubChat))).all() == []


async def test_a_hub_linked_in_a_thread_is_answered_and_posted_to_in_it_as_notices(
    synapse: Synapse,  # noqa: F811
    settings: Settings,  # noqa: F811
    tmp_path: Path,
) -> None:
    clock = Clock(NOW)
    async with running(settings) as bot, teacher(synapse, tmp_path, "cora") as cora:
        bot.app.dispatcher.clock = clock
        codes = await codes_of(bot)
        dm = await cora.room_with(settings.matrix_user_id, encrypted=True)
        await become_member(cora, dm, codes["coordinator"])
        await cora.say(dm, "/hubcode")
        code = (await cora.until(dm, "/linkhub"))[-1].body.split("/linkhub", 1)[1].split()[0]
        hub = await cora.room_with(
            settings.matrix_user_id or "", encrypted=True, name="Demo hub", direct=False
        )
        root = await cora.say(hub, "Diary business goes in this thread")
        in_thread = {
            "rel_type": "m.thread",
            "event_id": root,
            "is_falling_back": True,
            "m.in_reply_to": {"event_id": root},
        }
        await cora.send(
            hub, {"msgtype": "m.text", "body": f"/linkhub {code}", "m.relates_to": in_thread}
        )
        linked = (await cora.until(hub, "Demo Cluster"))[-1]
        assert linked.source["content"]["m.relates_to"]["rel_type"] == "m.thread"
        assert linked.source["content"]["m.relates_to"]["event_id"] == root
        async with bot.app.db.session() as session:
            assert (await session.exec(select(HubChat))).one().thread_id == root

        # Outside the thread, a command is answered outside it.
        await cora.say(hub, "/help")
        answer = (await cora.until(hub, "/digest"))[-1]
        assert "m.relates_to" not in answer.source["content"]

        # What the bot posts by itself goes into the thread, as a notice.
        await cora.say(dm, "/meeting 20/01/2027 15:00 https://meet.example.org/north | focus")
        await cora.until(dm, "Shall I announce")
        await cora.say(dm, "1")
        await cora.until(dm, "Scheduled for Wednesday, 20 January 2027, 15:00")
        await restarted(bot.app, clock).tick()
        post = (await cora.until(hub, "Coming 0"))[-1]
        assert post.source["content"]["msgtype"] == "m.notice"
        assert post.source["content"]["m.relates_to"]["event_id"] == root
