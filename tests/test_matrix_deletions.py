"""Redactions on Matrix: a deleted answer or photo leaves the diary too, and the bot says so.

The rule for which events are deletions is checked on plain dictionaries first; then the whole
bot runs against a real Synapse (room version 12 by default there, where a redaction names the
redacted event in its content), a teacher as a nio client redacting as Element's "Remove" does.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.channels.matrix_events import deletion
from bot.messages import ChatRef, Sender
from bot.settings import Settings
from storage.models import AuditEvent, DiaryEntry, EntryStatus, EvidenceItem
from tests.builders import photo_with_gps
from tests.synapse import Synapse, synapse  # noqa: F401 (the fixture)
from tests.test_matrix_e2e import (  # noqa: F401 (fixtures)
    become_member,
    codes_of,
    keys_may_be_slow,
    running,
    settings,
    teacher,
)
from tests.test_matrix_units import BOT

CHAT = ChatRef("matrix", "!dm:localhost")
ANA = Sender("matrix", "@ana:localhost", "Ana")


def redaction(**fields: object) -> dict[str, object]:
    return {
        "type": "m.room.redaction",
        "sender": "@ana:localhost",
        "event_id": "$del",
        "origin_server_ts": 1_700_000_000_000,
        "content": {"redacts": "$answer"},
        **fields,
    }


def test_a_persons_redaction_is_a_deletion_of_the_event_it_names() -> None:
    found = deletion(redaction(), BOT, chat=CHAT, sender=ANA)
    assert found is not None
    assert (found.deleted_of, found.message_id, found.text, found.chat) == (
        "$answer",
        "$del",
        "",
        CHAT,
    )
    # Before room version 11 the redacted event is named beside the content.
    old = deletion(redaction(content={}, redacts="$old"), BOT, chat=CHAT, sender=ANA)
    assert old is not None and old.deleted_of == "$old"
    assert deletion(redaction(sender=BOT), BOT, chat=CHAT, sender=ANA) is None
    assert deletion(redaction(content={}), BOT, chat=CHAT, sender=ANA) is None
    assert deletion(redaction(content={"redacts": 7}), BOT, chat=CHAT, sender=ANA) is None
    message = redaction(type="m.room.message", content={"msgtype": "m.text", "body": "hi"})
    assert deletion(message, BOT, chat=CHAT, sender=ANA) is None


@pytest.mark.synapse
async def test_redacting_an_answer_and_a_photo_takes_them_out_of_the_draft(
    synapse: Synapse,  # noqa: F811
    settings: Settings,  # noqa: F811
    tmp_path: Path,
) -> None:
    photo = photo_with_gps(tmp_path / "board.jpg").read_bytes()
    async with running(settings) as bot, teacher(synapse, tmp_path, "ida") as ida:
        codes = await codes_of(bot)
        room = await ida.room_with(settings.matrix_user_id, encrypted=True)
        await become_member(ida, room, codes["contributor"])
        add = await ida.say(room, "/add")
        await ida.until(room, "Which part of the diary")
        await ida.say(room, "1")
        await ida.until(room, "question 1 of")
        answer = await ida.say(room, "Pupils rarely read at home")
        await ida.until(room, "question 2 of")
        sent = await ida.send_file(
            room, photo, msgtype="m.image", filename="board.jpg", mime="image/jpeg"
        )
        await ida.until(room, "Kept as evidence: photo")

        # A message that gave the diary nothing goes without a word; the answer does not.
        await ida.redact(room, add)
        await ida.redact(room, answer)
        said = await ida.until(room, "took it out")
        assert [m.body for m in said] == [
            "You deleted a message, so I took it out of the entry you are writing: "
            "your answer under “Why it matters”."
        ]
        await ida.redact(room, sent)
        said = await ida.until(room, "took it out")
        assert [m.body for m in said] == [
            "You deleted a message, so I took it out of the entry you are writing: the photo."
        ]
        assert [m.deleted_of for m in bot.seen[-3:]] == [add, answer, sent]
        async with bot.app.db.session() as session:
            draft = (await session.exec(select(DiaryEntry))).one()
            items = (await session.exec(select(EvidenceItem))).all()
        assert draft.activity == {} and not draft.sources
        assert [(item.source_message, item.removed_at is not None) for item in items] == [
            (sent, True)
        ]


@pytest.mark.synapse
async def test_redacting_an_answer_of_a_submitted_entry_leaves_an_audit_record(
    synapse: Synapse,  # noqa: F811
    settings: Settings,  # noqa: F811
    tmp_path: Path,
) -> None:
    async with running(settings) as bot, teacher(synapse, tmp_path, "jo") as jo:
        codes = await codes_of(bot)
        room = await jo.room_with(settings.matrix_user_id)
        await become_member(jo, room, codes["contributor"])
        await jo.say(room, "/add")
        await jo.until(room, "Which part of the diary")
        await jo.say(room, "1")
        await jo.until(room, "question 1 of")
        answer = await jo.say(room, "Our first board")
        await jo.until(room, "question 2 of")
        second = await jo.say(room, "Pupils asked for it")
        await jo.until(room, "question 3 of")
        await jo.say(room, "That's all")
        await jo.until(room, "add a reflection")
        await jo.say(room, "Skip")
        await jo.until(room, "Shall I add it")
        await jo.say(room, "1")
        await jo.until(room, "Who may see this entry")
        await jo.say(room, "1")
        await jo.until(room, "Thank you")

        await jo.redact(room, answer)
        said = (await jo.until(room, "took it out"))[-1]
        assert said.body == (
            "You deleted a message, so I took it out of your diary entry “The issue”: "
            "your answer under “Why it matters”."
        )
        async with bot.app.db.session() as session:
            entry = (await session.exec(select(DiaryEntry))).one()
            audits = (
                await session.exec(
                    select(AuditEvent)
                    .where(AuditEvent.action == "entry.answer_deleted")
                    .order_by(col(AuditEvent.id))
                )
            ).all()
        assert entry.status == EntryStatus.SUBMITTED
        assert entry.activity == {"rationale": "Pupils asked for it"}
        assert entry.sources == {second: "rationale"}
        assert [(a.target, a.detail, a.person_id) for a in audits] == [
            (f"entry:{entry.id}", {"part": "why"}, entry.author_id)
        ]
