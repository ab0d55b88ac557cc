"""A message deleted on the platform takes what it gave out of the diary, and nothing else.

Through the whole bot behind the in-memory channel, on SQLite and PostgreSQL: a deletion arrives
as a message with `deleted_of`, the id of the deleted message, as the Matrix channel turns a
redaction into (test_matrix_deletions.py drives the real client). Ids are the harness's: each
message sent is numbered one more than the last.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.messages import Reply
from prompts import Translator
from storage.guard import ConsentRequired, act_as
from storage.models import (
    AuditEvent,
    DiaryEntry,
    EntryStatus,
    EvidenceItem,
    Identity,
    Person,
    Visibility,
)
from tests.builders import contributor_writing, demo_codes, member, photo_with_gps
from tests.helpers import Harness, text_of
from tests.test_conversation import _entry


async def _entries(bot: Harness) -> list[DiaryEntry]:
    async with bot.app.db.session() as session:
        return list((await session.exec(select(DiaryEntry).order_by(col(DiaryEntry.id)))).all())


async def _evidence(bot: Harness) -> list[EvidenceItem]:
    async with bot.app.db.session() as session:
        found = await session.exec(select(EvidenceItem).order_by(col(EvidenceItem.id)))
        return list(found.all())


async def _actions(bot: Harness) -> list[tuple[str, str, dict]]:
    async with bot.app.db.session() as session:
        found = await session.exec(select(AuditEvent).order_by(col(AuditEvent.id)))
        return [(a.action, a.target, a.detail) for a in found if a.action.startswith("entry.")]


async def delete(bot: Harness, user: str, message_id: int | str) -> list[Reply]:
    """`user` deletes the message `message_id` (as a Matrix redaction arrives)."""
    return await bot.send(user, deleted_of=str(message_id))


async def test_deleting_an_answer_and_a_photo_takes_them_out_of_the_draft(
    harness: Harness, tmp_path: Path
) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    await harness.say("ana", "/add")
    started = harness._ids
    await harness.press("ana", "The issue")
    await harness.attach("ana", photo_with_gps(tmp_path / "board.jpg"))
    photo = harness._ids
    await harness.say("ana", "Pupils rarely read at home")
    answer = harness._ids
    assert "question 3 of" in text_of(await harness.say("ana", "Reading logs"))
    rationale = harness._ids
    (draft,) = await _entries(harness)
    assert draft.sources == {str(answer): "why", str(rationale): "rationale"}
    assert [item.source_message for item in await _evidence(harness)] == [str(photo)]

    # Deleting what gave nothing to the diary (a command, a button press, unknown) is silent.
    for unrelated in (started, started + 1, 999):
        assert await delete(harness, "ana", unrelated) == []

    said = await delete(harness, "ana", answer)
    assert text_of(said) == (
        "You deleted a message, so I took it out of the entry you are writing: "
        "your answer under “Why it matters”."
    )
    said = await delete(harness, "ana", photo)
    assert "out of the entry you are writing: the photo." in text_of(said)
    (draft,) = await _entries(harness)
    assert draft.activity == {"rationale": "Reading logs"}
    assert draft.sources == {str(rationale): "rationale"}
    (item,) = await _evidence(harness)
    assert item.removed_at is not None
    assert await _actions(harness) == []  # a draft's answers were never audited either

    # Deleted again (a redaction seen twice), nothing is left to take: no answer.
    assert await delete(harness, "ana", answer) == []
    # The walk-through stays at its question: the next message answers question 3.
    await harness.say("ana", "Ten minutes a day")
    assert "Ten minutes a day" in (await _entries(harness))[0].activity.values()


async def test_a_deletion_at_the_preview_shows_the_entry_again_without_it(
    harness: Harness,
) -> None:
    await contributor_writing(harness)
    await harness.say("ana", "Pupils rarely read at home")
    await harness.press("ana", "That's all")
    assert "Shall I add it" in text_of(await harness.say("ana", "It went well"))
    reflection = harness._ids

    said = await delete(harness, "ana", reflection)
    assert "out of the entry you are writing: your reflection." in text_of(said)
    assert "Shall I add it" in text_of(said) and "It went well" not in text_of(said)
    assert (await _entries(harness))[0].reflection == ""
    # The preview's choices still work, typed or pressed.
    assert "Cluster only" in [b.label for b in (await harness.press("ana", "Add it"))[-1].buttons]


async def _submitted_in(bot: Harness, user: str, t: Translator, path: Path) -> tuple[int, int]:
    """A submitted issue entry with a photo and one answer, in `t`'s language: their ids."""
    await bot.say(user, "/add")
    await bot.press(user, t("sections.issue"))
    await bot.attach(user, path)
    photo = bot._ids
    await bot.say(user, "Os alunos leem pouco em casa")
    answer = bot._ids
    await bot.press(user, t("entry.enough"))
    await bot.press(user, t("entry.skip"))
    await bot.press(user, t("entry.submit"))
    await bot.press(user, t("visibility.cluster"))
    return photo, answer


async def test_deleting_from_a_submitted_entry_leaves_an_audit_record_in_portuguese(
    harness: Harness, tmp_path: Path
) -> None:
    pt = Translator("pt")
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"], "Português")
    photo, answer = await _submitted_in(harness, "ana", pt, photo_with_gps(tmp_path / "q.jpg"))
    (entry,) = await _entries(harness)
    assert entry.status == EntryStatus.SUBMITTED

    said = await delete(harness, "ana", answer)
    assert text_of(said) == (
        "Apagou uma mensagem, por isso retirei-a também do seu registo «A questão» no diário: "
        "a sua resposta em «Porque é importante»."
    )
    said = await delete(harness, "ana", photo)
    assert text_of(said).endswith("no diário: a fotografia.")
    (entry,) = await _entries(harness)
    assert entry.activity == {} and not entry.sources
    assert entry.status == EntryStatus.SUBMITTED  # what is left of it stays in the diary
    (item,) = await _evidence(harness)
    assert item.removed_at is not None
    assert (await _actions(harness))[-2:] == [
        ("entry.answer_deleted", f"entry:{entry.id}", {"part": "why"}),
        ("entry.evidence_deleted", f"entry:{entry.id}", {"item": item.id}),
    ]


async def test_someone_elses_ids_and_group_chats_change_nothing(
    harness: Harness, tmp_path: Path
) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    await member(harness, "ben", codes["contributor"])
    await harness.say("ana", "/add")
    await harness.press("ana", "The issue")
    await harness.attach("ana", photo_with_gps(tmp_path / "board.jpg"))
    photo = harness._ids
    await harness.say("ana", "Pupils rarely read at home")
    answer = harness._ids

    # Ben names ana's messages (a forged redaction could): nothing of hers goes, nothing is said.
    assert await delete(harness, "ben", photo) == []
    assert await delete(harness, "ben", answer) == []
    # In a group chat, even ana's own deletion is not the diary's.
    assert await harness.send("ana", group="hub", deleted_of=str(answer)) == []
    (draft,) = await _entries(harness)
    assert draft.activity == {"why": "Pupils rarely read at home"}
    assert [item.removed_at for item in await _evidence(harness)] == [None]


async def test_an_answer_changed_in_mine_no_longer_follows_the_old_message(
    harness: Harness,
) -> None:
    await contributor_writing(harness)
    await harness.say("ana", "First words")
    first = harness._ids
    await harness.press("ana", "That's all")
    await harness.press("ana", "Skip")
    await harness.press("ana", "Add it")
    await harness.press("ana", "Cluster only")
    await harness.say("ana", "/mine")
    await harness.press("ana", "1. The issue")
    await harness.press("ana", "Edit text")
    await harness.press("ana", "Why it matters")
    assert "Saved" in text_of(await harness.say("ana", "Better words"))
    better = harness._ids

    assert await delete(harness, "ana", first) == []
    assert (await _entries(harness))[0].activity == {"why": "Better words"}
    assert "your answer under “Why it matters”" in text_of(await delete(harness, "ana", better))
    assert (await _entries(harness))[0].activity == {}


async def test_without_current_consent_taking_out_is_still_allowed(
    harness: Harness, tmp_path: Path
) -> None:
    """A new consent text not agreed to yet: the entry stays public and approved until then."""
    await contributor_writing(harness)
    await harness.attach("ana", photo_with_gps(tmp_path / "board.jpg"))
    photo = harness._ids
    await harness.say("ana", "Pupils rarely read at home")
    answer = harness._ids
    await harness.press("ana", "That's all")
    await harness.say("ana", "It went well")
    reflection = harness._ids
    await harness.press("ana", "Add it")
    await harness.press("ana", "Public, with my name")
    async with harness.app.db.session() as session:
        entry = (await session.exec(select(DiaryEntry))).one()
        entry.moderation = "approved"
        session.add(entry)
        await session.commit()
    harness.app.dispatcher.settings = harness.app.dispatcher.settings.model_copy(
        update={"consent_version": "2099-01"}
    )

    assert "your answer" in text_of(await delete(harness, "ana", answer))
    assert "your reflection" in text_of(await delete(harness, "ana", reflection))
    assert "the photo" in text_of(await delete(harness, "ana", photo))
    (entry,) = await _entries(harness)
    assert (entry.activity, entry.reflection, entry.sources) == ({}, "", None)
    assert entry.visibility == Visibility.PUBLIC_NAMED
    assert entry.moderation == "pending"  # the public sees it again only once approved again
    assert all(item.removed_at is not None for item in await _evidence(harness))


async def test_the_guard_lets_answers_be_taken_out_but_not_changed(harness: Harness) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    await _entry(harness, "ana", "Impact", ["One", "Two"], [])
    (entry,) = await _entries(harness)
    assert entry.activity == {"results": "One", "evaluation": "Two"}
    changes: list[dict[str, object]] = [
        {"activity": {"results": "One, and more"}},
        {"activity": {"results": "One", "evaluation": "Two", "effects": "Three"}},
        {"reflection": "A new thought"},
        {"sources": {"$new": "results"}},
    ]
    for change in changes:
        with pytest.raises(ConsentRequired):
            async with harness.app.db.session() as session:
                act_as(session, person_id=entry.author_id, consent_version="x", consented=False)
                mine = await session.get(DiaryEntry, entry.id)
                for name, value in change.items():
                    setattr(mine, name, value)
                await session.flush()
    async with harness.app.db.session() as session:
        act_as(session, person_id=entry.author_id, consent_version="x", consented=False)
        mine = await session.get(DiaryEntry, entry.id)
        assert mine is not None
        mine.activity = {"evaluation": "Two"}
        mine.reflection = ""
    (entry,) = await _entries(harness)
    assert (entry.activity, entry.reflection) == ({"evaluation": "Two"}, "")


async def test_a_deletion_from_someone_unknown_creates_nobody(harness: Harness) -> None:
    assert await delete(harness, "stranger", 1) == []
    async with harness.app.db.session() as session:
        assert (await session.exec(select(Identity))).all() == []
        assert (await session.exec(select(Person))).all() == []
