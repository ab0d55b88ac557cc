"""The guided diary conversation end to end through the dispatcher, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from bot.messages import Attachment, AttachmentKind
from storage.models import (
    AuditEvent,
    ConsentRecord,
    DiaryEntry,
    EntryStatus,
    EvidenceItem,
    Invite,
    Person,
    Role,
    SchoolFocus,
)
from tests.builders import demo_codes, exif_of, member, photo_with_gps, voice_note
from tests.helpers import Harness, text_of


async def rows(bot: Harness, model: type) -> list:
    async with bot.app.db.session() as session:
        return list((await session.exec(select(model).order_by(model.id))).all())


async def test_declining_consent_leaves_nothing_but_the_refusal(harness: Harness) -> None:
    codes = await demo_codes(harness)
    replies = await harness.say("ana", f"/join {codes['contributor']}")
    assert "Do you agree" in text_of(replies)
    replies = await harness.press("ana", "No, thanks")
    assert "declined" in text_of(replies)
    consents = await rows(harness, ConsentRecord)
    assert [(c.granted, c.version) for c in consents] == [(False, "2026-11")]
    assert await rows(harness, Role) == []
    assert [p.display_name for p in await rows(harness, Person)] == [""]
    assert all(invite.uses == 0 for invite in await rows(harness, Invite))
    replies = await harness.say("ana", "/add")
    assert "join your school" in text_of(replies)


async def test_contributing_needs_current_consent(harness: Harness) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    await harness.say("ana", "/privacy")
    await harness.press("ana", "Withdraw consent")
    assert "withdrawn" in text_of(await harness.press("ana", "Leave it there, without my name"))
    replies = await harness.say("ana", "/add")
    assert "consent" in text_of(replies)
    assert [b.data for b in replies[0].buttons] == ["/consent"]
    await harness.press("ana", "Read and answer")
    await harness.press("ana", "I agree")
    assert "Which part of the diary" in text_of(await harness.say("ana", "/add"))


async def test_focus_is_proposed_confirmed_revised_and_kept_as_history(harness: Harness) -> None:
    codes = await demo_codes(harness)
    await member(harness, "lena", codes["school_lead"])
    await member(harness, "cora", codes["coordinator"])
    await member(harness, "ana", codes["contributor"])

    assert "Only a school lead" in text_of(await harness.say("ana", "/propose"))
    await harness.say("lena", "/propose")
    await harness.say("lena", "Peer observation")
    replies = await harness.say("lena", "Teachers rarely see each other teach.")
    assert "Proposed" in replies[0].text
    notice = [r for r in replies if r.chat is not None]
    assert [r.chat.chat_id for r in notice] == ["dm-cora"]
    assert "Peer observation" in notice[0].text

    await harness.say("cora", "/confirm")
    await harness.press("cora", "Hillview Primary: Peer observation")
    replies = await harness.press("cora", "Confirm")
    assert "Confirmed" in replies[0].text
    assert [r.chat.chat_id for r in replies if r.chat] == ["dm-lena"]

    replies = await harness.say("ana", "/add")
    assert "mentoring focus: Peer observation" in text_of(replies)
    await harness.say("ana", "/cancel")

    await harness.say("lena", "/propose")
    await harness.say("lena", "Peer observation with video")
    await harness.say("lena", "Video lets us look again together.")
    await harness.say("cora", "/confirm")
    await harness.press("cora", "Hillview Primary: Peer observation with video")
    await harness.press("cora", "Ask to revise")
    replies = await harness.say("cora", "Please say who records the lessons.")
    assert "Please say who records" in next(r for r in replies if r.chat).text

    history = text_of(await harness.say("ana", "/focus"))
    assert "Peer observation (confirmed" in history
    assert "Peer observation with video (sent back for revision" in history
    assert "Please say who records the lessons." in history
    statuses = [f.status for f in await rows(harness, SchoolFocus)]
    assert statuses == ["confirmed", "revise"]


async def _entry(bot: Harness, user: str, section: str, answers: list[str], files: list) -> None:
    await bot.say(user, "/add")
    await bot.press(user, section)
    for answer in answers:
        await bot.say(user, answer)
    for path, kind in files:
        replies = await bot.attach(user, path, kind=kind, caption=f"{path.stem} caption")
        assert "Kept as evidence" in text_of(replies)
    await bot.press(user, "That's all")
    assert "Shall I add it" in text_of(await bot.say(user, f"Reflection on {section}"))
    await bot.press(user, "Add it")
    replies = await bot.press(user, "Cluster only")
    assert "Thank you" in text_of(replies)


async def test_one_entry_in_each_section_with_photo_and_voice(
    harness: Harness, tmp_path: Path
) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    await member(harness, "cora", codes["coordinator"])
    photo = photo_with_gps(tmp_path / "board.jpg")
    voice = voice_note(tmp_path / "thoughts.wav", seconds=2.0)
    files = [(photo, AttachmentKind.PHOTO), (voice, AttachmentKind.VOICE)]
    for section in ("The issue", "Action taken", "Impact", "Next steps"):
        await _entry(
            harness, "ana", section, [f"{section} answer one", f"{section} answer two"], files
        )
    await harness.say("cora", "/add")
    await harness.press("cora", "Hillview Primary")
    await harness.press("cora", "Cluster meeting notes")
    await harness.say("cora", "Schools liked the observation rota.")
    await harness.say("cora", "Agreed to share videos next term.")
    await harness.press("cora", "Skip")
    await harness.press("cora", "Add it")
    await harness.press("cora", "Public, anonymously")

    entries = await rows(harness, DiaryEntry)
    assert [(e.section, e.status) for e in entries] == [
        ("issue", "submitted"),
        ("action", "submitted"),
        ("impact", "submitted"),
        ("next_steps", "submitted"),
        ("meeting_notes", "submitted"),
    ]
    assert entries[0].activity == {
        "why": "The issue answer one",
        "rationale": "The issue answer two",
    }
    assert entries[0].reflection == "Reflection on The issue"
    assert entries[4].activity == {
        "feedback": "Schools liked the observation rota.",
        "reflections": "Agreed to share videos next term.",
    }
    assert entries[4].visibility == "public_anonymous"

    evidence = await rows(harness, EvidenceItem)
    assert len(evidence) == 8
    photos = [e for e in evidence if e.kind == "photo"]
    voices = [e for e in evidence if e.kind == "voice"]
    assert len({p.media_hash for p in photos}) == 1  # the same bytes are stored once
    stored = await harness.app.media.get(photos[0].media_hash)
    assert stored[:2] == b"\xff\xd8" and exif_of(stored) == {}
    assert exif_of(photo.read_bytes())  # the original did carry EXIF with GPS
    assert voices[0].duration_s == 2.0
    assert await harness.app.media.get(voices[0].media_hash) == voice.read_bytes()
    assert voices[0].caption == "thoughts caption"


async def test_review_edit_add_remove_visibility_and_delete(
    harness: Harness, tmp_path: Path
) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    photo = photo_with_gps(tmp_path / "p.jpg")
    await _entry(harness, "ana", "Impact", ["Pupils asked more questions"], [(photo, None)])

    listing = text_of(await harness.say("ana", "/mine"))
    assert "Impact" in listing and "Pupils asked more questions" in listing and "📎1" in listing
    view = text_of(await harness.press("ana", "1. Impact"))
    assert "Results: Pupils asked more questions" in view

    await harness.press("ana", "Edit text")
    await harness.press("ana", "Results")
    assert "Saved" in text_of(await harness.say("ana", "Pupils asked twice as many questions"))
    await harness.press("ana", "Add evidence")
    await harness.say("ana", "https://example.org/lesson-video")
    await harness.press("ana", "Done")
    await harness.press("ana", "Remove evidence")
    await harness.press("ana", "1. photo p caption")
    await harness.press("ana", "Who can see it")
    await harness.press("ana", "Public, with my name")

    (entry,) = await rows(harness, DiaryEntry)
    assert entry.activity["results"] == "Pupils asked twice as many questions"
    assert entry.visibility == "public_named"
    evidence = await rows(harness, EvidenceItem)
    assert [(e.kind, e.removed_at is None) for e in evidence] == [("photo", False), ("link", True)]
    assert evidence[1].url == "https://example.org/lesson-video"

    await harness.press("ana", "Delete")
    replies = await harness.press("ana", "Yes, delete it")
    assert "Deleted" in text_of(replies) and "haven't added anything" in text_of(replies)
    (entry,) = await rows(harness, DiaryEntry)
    assert entry.status == EntryStatus.DELETED and entry.deleted_at is not None
    actions = [a.action for a in await rows(harness, AuditEvent)]
    for action in (
        "entry.submitted",
        "entry.edited",
        "entry.evidence_added",
        "entry.evidence_removed",
        "entry.visibility",
        "entry.deleted",
    ):
        assert action in actions


async def test_cancel_asks_before_discarding_and_an_untouched_draft_is_kept(
    harness: Harness,
) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    await harness.say("ana", "/add")
    await harness.press("ana", "Action taken")
    await harness.say("ana", "We drew up a rota")
    assert "Discard this unfinished entry" in text_of(await harness.say("ana", "/cancel"))
    replies = await harness.press("ana", "No, keep it")
    assert "question 2 of 6" in text_of(replies)

    # Walking away (another command) keeps the draft; /add offers to carry on with it.
    await harness.say("ana", "/language")
    await harness.press("ana", "English")
    assert "unfinished entry (Action taken)" in text_of(await harness.say("ana", "/add"))
    assert "question 2 of 6" in text_of(await harness.press("ana", "Carry on"))
    (draft,) = await rows(harness, DiaryEntry)
    assert draft.activity == {"plan": "We drew up a rota"} and draft.status == "draft"

    await harness.say("ana", "/cancel")
    await harness.press("ana", "Yes, discard it")
    (draft,) = await rows(harness, DiaryEntry)
    assert draft.status == EntryStatus.DELETED
    assert "nothing to stop" in text_of(await harness.say("ana", "/cancel"))


async def test_bad_input_gets_a_clear_reply_and_loses_nothing(
    harness: Harness, tmp_path: Path
) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    await harness.say("ana", "/add")
    old_section_buttons = harness.channel.sent[-1][1].buttons
    await harness.press("ana", "The issue")
    await harness.say("ana", "First answer")

    sticker = Attachment(kind=AttachmentKind.UNSUPPORTED, ref="x", platform_kind="sticker")
    assert "can't keep that (sticker)" in text_of(await harness.send("ana", attachments=(sticker,)))
    big = tmp_path / "big.pdf"
    big.write_bytes(b"%PDF" + b"0" * (2 * 1024 * 1024))
    assert "too big" in text_of(await harness.attach("ana", big))
    exe = tmp_path / "tool.exe"
    exe.write_bytes(b"MZ")
    assert "can't keep files like tool.exe" in text_of(await harness.attach("ana", exe))
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not really a jpeg")
    assert "couldn't open that picture" in text_of(await harness.attach("ana", broken))
    assert "didn't catch any text" in text_of(await harness.say("ana", "   "))
    assert "too long" in text_of(await harness.say("ana", "x" * 20_000))
    replies = await harness.send("ana", button=old_section_buttons[0].data)
    assert "earlier message" in replies[0].text and "question 2 of 6" in text_of(replies)

    (entry,) = await rows(harness, DiaryEntry)
    assert entry.activity == {"why": "First answer"}
    assert await rows(harness, EvidenceItem) == []
    assert "question 3 of 6" in text_of(await harness.say("ana", "Second answer"))


async def test_a_restart_resumes_at_the_same_question(harness: Harness, settings) -> None:
    from tests.helpers import make_harness

    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    await harness.say("ana", "/add")
    await harness.press("ana", "Next steps")
    await harness.say("ana", "Share the rota with two more schools")
    await harness.app.db.close()

    restarted = await make_harness(settings)
    try:
        replies = await restarted.say("ana", "Because it worked for us")
        assert "question 3 of 6" in text_of(replies)
        (entry,) = await rows(restarted, DiaryEntry)
        assert entry.activity == {
            "steps": "Share the rota with two more schools",
            "organisation": "Because it worked for us",
        }
    finally:
        await restarted.app.db.close()


async def test_privacy_erase_removes_every_entry(harness: Harness) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    await _entry(harness, "ana", "The issue", ["One"], [])
    await _entry(harness, "ana", "Impact", ["Two"], [])
    await harness.say("ana", "/privacy")
    asked = text_of(await harness.press("ana", "Erase my contributions"))
    assert "entries: 2, evidence items: 0" in asked
    assert "Erased: entries: 2" in text_of(await harness.press("ana", "Yes"))
    assert await rows(harness, DiaryEntry) == []


async def test_hub_group_is_linked_with_a_coordinator_code(harness: Harness) -> None:
    codes = await demo_codes(harness)
    await member(harness, "cora", codes["coordinator"])
    await member(harness, "ana", codes["contributor"])
    assert "Only cluster coordinators" in text_of(await harness.say("ana", "/hubcode"))
    reply = text_of(await harness.say("cora", "/hubcode"))
    code = reply.split("/linkhub ")[1].split()[0]
    assert "in the group chat" in text_of(await harness.say("cora", f"/linkhub {code}"))
    # In a group the bot ignores chatter and unknown commands, and answers its own.
    assert await harness.say("cora", "hello everyone", group="hub") == []
    assert await harness.say("cora", "/weather", group="hub") == []
    assert "private chat" in text_of(await harness.say("cora", "/add", group="hub"))
    replies = await harness.say("cora", f"/linkhub {code}", group="hub")
    assert "now the hub of Demo Cluster" in text_of(replies)
    assert "already been used" in text_of(
        await harness.say("ana", f"/linkhub {code}", group="other")
    )


async def test_join_explains_unknown_used_and_missing_codes(harness: Harness) -> None:
    from storage.clusters import create_invite, find_cluster, schools_of

    await demo_codes(harness)
    async with harness.app.db.session() as session:
        cluster = await find_cluster(session, name_or_id="Demo Cluster")
        school = (await schools_of(session, cluster_id=cluster.id))[1]
        single = (await create_invite(session, cluster_id=cluster.id, school_id=school.id)).code
    assert "/join ABCD-2345" in text_of(await harness.say("ana", "/join"))
    assert "don't recognise" in text_of(await harness.say("ana", "/join NOPE-NOPE"))
    await member(harness, "ana", single.lower())
    assert "already been used" in text_of(await harness.say("bo", f"/join {single}"))
    assert [p.display_name for p in await rows(harness, Person)] == ["Ana", ""]


async def test_an_unreadable_message_is_answered_and_changes_nothing(harness: Harness) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    await harness.say("ana", "/add")
    await harness.press("ana", "Impact")
    replies = await harness.send("ana", unreadable=True)
    assert "couldn't read your last message" in text_of(replies)
    assert "question 2 of 6" in text_of(await harness.say("ana", "Pupils spoke up more"))
    assert await harness.send("ana", group="hub", unreadable=True) == []
