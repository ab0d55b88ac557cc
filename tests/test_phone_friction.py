"""Small frictions of a teacher on a phone: the question after a file, what /help lists.

Through the whole bot behind the in-memory channel, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import select

from bot.messages import AttachmentKind
from bot.settings import Settings
from prompts import Translator
from storage.models import DiaryEntry, Role
from tests.builders import (
    demo_codes,
    member,
    person_id,
    photo_with_gps,
    submitted_entry,
    voice_note,
)
from tests.helpers import Harness, make_harness, text_of

FIRST_QUESTION = "The issue, question 1 of"


async def test_the_open_question_follows_each_file_kept_as_evidence(
    harness: Harness, tmp_path: Path
) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    await harness.say("ana", "/add")
    asked = text_of(await harness.press("ana", "The issue"))
    assert FIRST_QUESTION in asked

    said = await harness.attach("ana", photo_with_gps(tmp_path / "board.jpg"))
    text = text_of(said)
    assert "Kept as evidence: photo" in text
    # The question again, briefly: without the hint about evidence given the first time.
    hint = Translator("en")("entry.evidence_hint")
    assert hint in asked and FIRST_QUESTION in text and hint not in text
    assert [b.label for b in said[-1].buttons] == ["Skip", "That's all"]

    await harness.say("ana", "Pupils rarely read at home")
    await harness.press("ana", "That's all")
    said = await harness.attach("ana", voice_note(tmp_path / "v.wav"), kind=AttachmentKind.VOICE)
    assert "Kept as evidence: voice note" in text_of(said)
    assert "reflection" in text_of(said).lower()  # the reflection question, asked again


async def test_help_gives_coordinators_the_command_that_links_a_hub(harness: Harness) -> None:
    codes = await demo_codes(harness)
    await member(harness, "cora", codes["coordinator"])
    await member(harness, "ana", codes["contributor"])
    assert "/linkhub" in text_of(await harness.say("cora", "/help"))
    assert "/linkhub" not in text_of(await harness.say("ana", "/help"))


async def test_mine_pages_through_older_entries(harness: Harness) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    ana = await person_id(harness, "ana")
    async with harness.app.db.session() as session:
        school_id = (await session.exec(select(Role.school_id).where(Role.person_id == ana))).one()
        assert school_id is not None
        start = datetime(2026, 9, 1, 10, tzinfo=UTC)
        for n in range(1, 13):  # entry 12 is the newest
            session.add(
                DiaryEntry(
                    school_id=school_id,
                    author_id=ana,
                    section="issue",
                    status="submitted",
                    activity={"why": f"Entry number {n}"},
                    submitted_at=start + timedelta(days=n),
                )
            )
    first = await harness.say("ana", "/mine")
    text = text_of(first)
    assert "1–10 of 12" in text and "Entry number 12" in text and "Entry number 2\n" not in text
    labels = [b.label for b in first[-1].buttons]
    assert labels[-1] == "Older ▸" and "◂ Newer" not in labels and len(labels) == 11

    older = await harness.press("ana", "Older ▸")
    text = text_of(older)
    assert "11–12 of 12" in text and "Entry number 2" in text and "Entry number 1" in text
    assert [b.label for b in older[-1].buttons][-1] == "◂ Newer"
    shown = text_of(await harness.press("ana", "2. The issue"))  # the oldest, on this page
    assert "Entry number 1" in shown

    back = await harness.press("ana", "Back")
    assert "11–12 of 12" in text_of(back)  # back to the page it came from
    assert "1–10 of 12" in text_of(await harness.press("ana", "◂ Newer"))


async def test_one_entry_is_not_counted_as_many(harness: Harness, tmp_path: Path) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    await submitted_entry(harness, "ana", "Just the one")
    said = text_of(await harness.say("ana", "/mine"))
    assert "Your entry. Pick it" in said and "of 1" not in said


async def test_a_number_or_label_typed_after_a_restart_still_picks_the_choice(
    harness: Harness, settings: Settings
) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    asked = await harness.say("ana", "/add")
    sections = [b.label for b in asked[-1].buttons]
    await harness.app.db.close()

    # A new process, with nothing in memory of what it offered: the state in the database has it.
    bot = await make_harness(settings)
    try:
        # Where no numbers are shown (Telegram's buttons), a typed number picks nothing.
        assert "pick one of the options" in text_of(await bot.say("ana", "2"))
        # The console numbers what it offers: there a typed number picks the choice.
        said = text_of(await bot.send("ana", text="2", numbered=True))
        assert f"{sections[1]}, question 1 of" in said
        # Beside a free answer, a number is an answer, and the shortcuts go by name.
        assert "question 2 of" in text_of(await bot.send("ana", text="3", numbered=True))
        assert "reflection" in text_of(await bot.say("ana", "that's all")).lower()
    finally:
        await bot.app.db.close()
