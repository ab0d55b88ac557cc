"""/moderate: public entries wait, moderators approve or send back, authors' changes wait again.

Through the whole bot behind the in-memory channel, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from storage.models import AuditEvent, DiaryEntry
from storage.moderation import Moderation
from tests.builders import demo_codes, member, person_id, photo_with_gps
from tests.helpers import Harness, text_of


async def _public_entry(bot: Harness, user: str, answer: str, visibility: str) -> None:
    await bot.say(user, "/add")
    await bot.press(user, "The issue")
    await bot.say(user, answer)
    await bot.press(user, "That's all")
    await bot.press(user, "Skip")
    await bot.press(user, "Add it")
    await bot.press(user, visibility)


async def _states(bot: Harness) -> list[str]:
    async with bot.app.db.session() as session:
        entries = (await session.exec(select(DiaryEntry).order_by(DiaryEntry.id))).all()
        return [e.moderation for e in entries]


async def test_public_entries_wait_for_a_moderator_and_changes_wait_again(
    harness: Harness, tmp_path: Path
) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    await member(harness, "cora", codes["coordinator"])
    await _public_entry(harness, "ana", "Reading corners in every class", "Public, with my name")
    await _public_entry(harness, "ana", "Only for our cluster", "Cluster only")
    await _public_entry(harness, "ana", "Parents read with pupils", "Public, anonymously")
    assert await _states(harness) == [Moderation.PENDING, Moderation.NONE, Moderation.PENDING]

    # A contributor is no moderator.
    assert "mentor school" in text_of(await harness.say("ana", "/moderate"))

    shown = text_of(await harness.say("cora", "/moderate"))
    assert "Waiting for moderation: 2" in shown and "Reading corners in every class" in shown
    assert "Ana" in shown and "with the author's name" in shown
    said = await harness.press("cora", "Approve")
    assert "Approved" in text_of(said)
    to_ana = [r for r in said if r.chat is not None and r.chat.chat_id == "dm-ana"]
    assert "is approved for the public version" in text_of(to_ana)
    assert "Parents read with pupils" in text_of(said)  # the next one follows
    assert "without the author's name" in text_of(said)
    await harness.press("cora", "Send back")
    said = await harness.say("cora", "Please leave out the pupils' first names.")
    to_ana = [r for r in said if r.chat is not None and r.chat.chat_id == "dm-ana"]
    assert "Please leave out the pupils' first names." in text_of(to_ana)
    assert "No entries are waiting" in text_of(said)
    assert await _states(harness) == [Moderation.APPROVED, Moderation.NONE, Moderation.RETURNED]

    # The author's change to the approved entry makes it wait again, however it is written.
    async with harness.app.db.session() as session:
        first = (await session.exec(select(DiaryEntry).order_by(DiaryEntry.id))).first()
        assert first is not None
        first.reflection = "We learnt to let pupils choose."
        session.add(first)
    assert (await _states(harness))[0] == Moderation.PENDING
    cora = await person_id(harness, "cora")
    async with harness.app.db.session() as session:
        decisions = (
            await session.exec(select(AuditEvent).where(AuditEvent.action == "moderation"))
        ).all()
    assert [(a.person_id, a.detail["decision"]) for a in decisions] == [
        (cora, "approved"),
        (cora, "returned"),
    ]


async def test_evidence_added_to_an_approved_entry_sends_it_back_to_moderation(
    harness: Harness, tmp_path: Path
) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    await member(harness, "cora", codes["coordinator"])
    await _public_entry(harness, "ana", "Reading corners", "Public, with my name")
    await harness.say("cora", "/moderate")
    await harness.press("cora", "Approve")
    assert await _states(harness) == [Moderation.APPROVED]
    await harness.say("ana", "/mine")
    await harness.press("ana", "1. The issue")
    await harness.press("ana", "Add evidence")
    await harness.attach("ana", photo_with_gps(tmp_path / "corner.jpg"))
    assert await _states(harness) == [Moderation.PENDING]
    # Narrowing it to the cluster takes it out of moderation altogether.
    await harness.say("ana", "/mine")
    await harness.press("ana", "1. The issue")
    await harness.press("ana", "Who can see it")
    await harness.press("ana", "Cluster only")
    assert await _states(harness) == [Moderation.NONE]
