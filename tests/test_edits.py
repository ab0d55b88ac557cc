"""A message edited after it was sent: the entry being written follows; anything else is /mine's.

Through the whole bot behind the in-memory channel, on SQLite and PostgreSQL: an edit arrives
as a message with `edit_of`, the id of the message it corrects, as the Telegram and Matrix
channels turn their edits into (their own tests drive the real clients).
"""

from __future__ import annotations

from sqlmodel import select

from storage.models import DiaryEntry
from tests.builders import contributor_writing, demo_codes, member, submitted_entry
from tests.helpers import Harness, text_of


async def _draft(bot: Harness) -> DiaryEntry:
    async with bot.app.db.session() as session:
        return (await session.exec(select(DiaryEntry).where(DiaryEntry.status == "draft"))).one()


async def _first_answer(bot: Harness, text: str) -> str:
    """Ana joins, starts an entry on the issue and answers its first question; that message's id."""
    await contributor_writing(bot)
    await bot.say("ana", text)
    return str(bot._ids)


async def test_editing_an_answer_of_the_entry_being_written_changes_it(harness: Harness) -> None:
    typo = await _first_answer(harness, "Pupils rarley read at home")
    asked = text_of(await harness.say("ana", "Reading logs"))
    assert "question 3 of" in asked

    said = await harness.send("ana", text="Pupils rarely read at home", edit_of=typo)
    assert "Changed in the entry you are writing" in text_of(said)
    assert "Why it matters" in text_of(said)  # the question's short label
    draft = await _draft(harness)
    assert draft.activity["why"] == "Pupils rarely read at home"
    assert draft.activity["rationale"] == "Reading logs"
    # The walk-through stays at its question: the next message answers question 3.
    await harness.say("ana", "Ten minutes a day")
    assert "Ten minutes a day" in (await _draft(harness)).activity.values()

    # The reflection too, and at the preview the entry is shown again with the change.
    await harness.press("ana", "That's all")
    assert "Shall I add it" in text_of(await harness.say("ana", "It went well"))
    reflection = str(harness._ids)
    said = await harness.send("ana", text="It went very well", edit_of=reflection)
    assert "Changed in the entry" in text_of(said) and "It went very well" in text_of(said)
    assert (await _draft(harness)).reflection == "It went very well"


async def test_editing_anything_else_points_to_mine_and_changes_nothing(harness: Harness) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    await submitted_entry(harness, "ana", "Our first board")
    answer = str(harness._ids - 4)  # the answer, four messages before the last press
    said = await harness.send("ana", text="Our second board", edit_of=answer)
    assert "use /mine" in text_of(said)
    async with harness.app.db.session() as session:
        entry = (await session.exec(select(DiaryEntry))).one()
    assert entry.activity["why"] == "Our first board"

    said = await harness.send("ana", text="/add", edit_of="1")  # an edited command runs nothing
    assert "use /mine" in text_of(said) and "Which part" not in text_of(said)


async def test_an_edit_that_reads_like_a_choice_is_still_an_answer(harness: Harness) -> None:
    first = await _first_answer(harness, "Why indeed")
    await harness.press("ana", "That's all")
    preview = await harness.say("ana", "Some reflection")
    assert "Shall I add it" in text_of(preview)

    # "Skip" is a button label on screen; as an edit it is only the answer's new text.
    said = await harness.send("ana", text="Skip", edit_of=first)
    assert "Changed in the entry" in text_of(said)
    assert (await _draft(harness)).activity["why"] == "Skip"
    # The preview (shown again with the change) keeps its choices open.
    assert "Skip" in text_of(said)
    asked = await harness.press("ana", "Add it")
    assert "Cluster only" in [b.label for b in asked[-1].buttons]


async def test_an_answer_stays_editable_after_a_detour_away_from_the_draft(
    harness: Harness,
) -> None:
    """The entry itself keeps which message gave which answer, not the walk-through's state."""
    typo = await _first_answer(harness, "Pupils rarley read at home")
    await harness.say("ana", "/mine")  # another flow: the walk-through is left
    assert "use /mine" in text_of(await harness.send("ana", text="Pupils", edit_of=typo))

    await harness.say("ana", "/add")
    await harness.press("ana", "Carry on")
    said = await harness.send("ana", text="Pupils rarely read at home", edit_of=typo)
    assert "Changed in the entry you are writing" in text_of(said)
    assert (await _draft(harness)).activity["why"] == "Pupils rarely read at home"


async def test_an_edit_of_a_message_id_no_platform_issues_changes_nothing(
    harness: Harness,
) -> None:
    answer = await _first_answer(harness, "Pupils rarley read at home")
    # A forged edit: an id with a NUL, which no platform issues. It matches nothing kept, and
    # nothing of it is stored (PostgreSQL would refuse the NUL).
    said = await harness.send("ana", text="Forged", edit_of=f"{answer}\x00")
    assert "something went wrong" not in text_of(said)
    assert "use /mine" in text_of(said)
    assert (await _draft(harness)).activity["why"] == "Pupils rarley read at home"
