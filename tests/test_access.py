"""Who may write what: consent on every writing step, hub links, stale decisions, forged buttons.

Each test drives the whole dispatcher on SQLite and PostgreSQL. A person can have a conversation
open in a second chat (another device or platform) while they withdraw consent in the first; that
second chat is how a write after withdrawal is attempted here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from bot.messages import Attachment, AttachmentKind, ChatKind, ChatRef, Incoming, Reply, Sender
from storage.clusters import create_cluster, create_invite
from storage.guard import ConsentRequired, act_as
from storage.models import (
    AuditEvent,
    DiaryEntry,
    EntryStatus,
    EvidenceItem,
    HubChat,
    Invite,
    InvitePurpose,
    RoleName,
    SchoolFocus,
)
from tests.builders import demo_codes, member, photo_with_gps
from tests.helpers import PLATFORM, Harness, text_of
from tests.test_conversation import _entry, rows

PHONE = ChatRef(PLATFORM, "ana-phone", ChatKind.PRIVATE, title="ana")
TABLET = ChatRef(PLATFORM, "ana-tablet", ChatKind.PRIVATE, title="ana")
LAPTOP = ChatRef(PLATFORM, "ana-laptop", ChatKind.PRIVATE, title="ana")


async def on(bot: Harness, chat: ChatRef, **fields: object) -> list[Reply]:
    """A message from another of ana's private chats with the bot; the replies in that chat."""
    before = len(bot.channel.sent)
    msg = Incoming(chat=chat, sender=Sender(PLATFORM, "ana", "Ana"), **fields)  # type: ignore[arg-type]
    await bot.app.dispatcher(msg)
    return [reply for to, reply in bot.channel.sent[before:] if to == chat]


async def press_on(bot: Harness, chat: ChatRef, replies: list[Reply], label: str) -> list[Reply]:
    (data,) = [b.data for r in replies for b in r.buttons if b.label == label]
    return await on(bot, chat, button=data)


async def withdraw(bot: Harness, user: str) -> None:
    await bot.say(user, "/privacy")
    await bot.press(user, "Withdraw consent")
    assert "withdrawn" in text_of(await bot.press(user, "Leave it there, without my name"))


async def open_entry(bot: Harness, chat: ChatRef) -> list[Reply]:
    return await press_on(bot, chat, await on(bot, chat, text="/mine"), "1. Impact")


async def test_withdrawn_consent_refuses_every_write_but_reading_and_deleting(
    harness: Harness, tmp_path: Path
) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    await _entry(harness, "ana", "Impact", ["Pupils asked more questions"], [])

    # On the phone, ana opens the entry's text for editing; then withdraws on the other chat.
    view = await open_entry(harness, PHONE)
    await press_on(harness, PHONE, await press_on(harness, PHONE, view, "Edit text"), "Results")
    await withdraw(harness, "ana")
    refused = await on(harness, PHONE, text="Rewritten after withdrawal")
    assert "consent is withdrawn" in text_of(refused)
    assert [b.data for b in refused[0].buttons] == ["/consent"]

    # Opened again now, the entry offers nothing that writes.
    await on(harness, PHONE, text="/cancel")
    view = await open_entry(harness, PHONE)
    labels = [b.label for b in view[-1].buttons]
    assert labels == ["Remove evidence", "Delete", "Back"]  # nothing that writes is offered
    (entry,) = await rows(harness, DiaryEntry)
    assert entry.activity == {"results": "Pupils asked more questions"}
    assert entry.visibility == "cluster"

    # Reading and deleting stay allowed.
    assert "Pupils asked more questions" in text_of(await harness.say("ana", "/mine"))
    view = await open_entry(harness, PHONE)
    confirm = await press_on(harness, PHONE, view, "Delete")
    assert "Deleted" in text_of(await press_on(harness, PHONE, confirm, "Yes, delete it"))
    (entry,) = await rows(harness, DiaryEntry)
    assert entry.status == EntryStatus.DELETED

    actions = [a.action for a in await rows(harness, AuditEvent)]
    assert "consent.withdrawn" in actions and "consent.declined" not in actions
    assert "entry.deleted" in actions


async def test_withdrawal_stops_evidence_visibility_and_a_draft_in_progress(
    harness: Harness, tmp_path: Path
) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    await _entry(harness, "ana", "Impact", ["Pupils asked more questions"], [])
    photo = photo_with_gps(tmp_path / "p.jpg")

    # Three conversations left open elsewhere before withdrawing: adding evidence, choosing
    # the visibility, and a new draft at its first question.
    adding = await press_on(harness, PHONE, await open_entry(harness, PHONE), "Add evidence")
    assert "Send the photos" in text_of(adding)
    choosing = await press_on(harness, TABLET, await open_entry(harness, TABLET), "Who can see it")
    await on(harness, LAPTOP, text="/add")
    drafting = await on(harness, LAPTOP, text="Next steps")
    assert "question 1 of 6" in text_of(drafting)
    await withdraw(harness, "ana")

    assert "consent is withdrawn" in text_of(await on(harness, PHONE, text="https://example.org/x"))
    attachment = Attachment(
        AttachmentKind.PHOTO, ref=str(photo), mime="image/jpeg", size=photo.stat().st_size
    )
    assert "consent is withdrawn" in text_of(await on(harness, PHONE, attachments=(attachment,)))
    assert not [f for f in harness.app.media.root.rglob("*") if f.is_file()]  # not even the bytes
    refused = await press_on(harness, TABLET, choosing, "Public, with my name")
    assert "consent is withdrawn" in text_of(refused)
    assert "consent is withdrawn" in text_of(await on(harness, LAPTOP, text="Share it widely"))

    entries = await rows(harness, DiaryEntry)
    assert [(e.status, e.visibility, e.activity) for e in entries] == [
        ("submitted", "cluster", {"results": "Pupils asked more questions"}),
        ("draft", "cluster", {}),
    ]
    assert await rows(harness, EvidenceItem) == []
    # Discarding the draft is taking something back, so it is allowed.
    confirm = await on(harness, LAPTOP, text="/cancel")
    assert "Discarded" in text_of(await press_on(harness, LAPTOP, confirm, "Yes, discard it"))
    assert (await rows(harness, DiaryEntry))[1].status == EntryStatus.DELETED


async def test_the_guard_refuses_new_records_and_allows_retractions(harness: Harness) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    await _entry(harness, "ana", "Impact", ["One"], [])
    (entry,) = await rows(harness, DiaryEntry)
    with pytest.raises(ConsentRequired):
        async with harness.app.db.session() as session:
            act_as(session, person_id=entry.author_id, consent_version="2026-11", consented=False)
            session.add(
                DiaryEntry(author_id=entry.author_id, school_id=entry.school_id, section="issue")
            )
            await session.flush()
    with pytest.raises(ConsentRequired):
        async with harness.app.db.session() as session:
            act_as(session, person_id=entry.author_id, consent_version="2026-11", consented=False)
            mine = await session.get(DiaryEntry, entry.id)
            mine.visibility = "public_named"
    async with harness.app.db.session() as session:
        act_as(session, person_id=entry.author_id, consent_version="2026-11", consented=False)
        mine = await session.get(DiaryEntry, entry.id)
        mine.status = EntryStatus.DELETED
    (entry,) = await rows(harness, DiaryEntry)
    assert (entry.status, entry.visibility, len(await rows(harness, DiaryEntry))) == (
        "deleted",
        "cluster",
        1,
    )


async def _hub_code(bot: Harness, user: str) -> str:
    return text_of(await bot.say(user, "/hubcode")).split("/linkhub ")[1].split()[0]


async def test_only_a_coordinator_of_the_codes_cluster_links_and_a_hub_stays_put(
    harness: Harness,
) -> None:
    codes = await demo_codes(harness)
    await member(harness, "cora", codes["coordinator"])
    await member(harness, "ana", codes["contributor"])
    code = await _hub_code(harness, "cora")

    # A contributor who got hold of the code cannot link a group with it, nor use it up.
    assert "Only cluster coordinators" in text_of(
        await harness.say("ana", f"/linkhub {code}", group="ana-group")
    )
    async with harness.app.db.session() as session:
        invite = (await session.exec(select(Invite).where(Invite.code == code))).one()
        assert invite.uses == 0
        other = await create_cluster(session, name="Other", language="en", timezone="UTC")
        other_coordinator = await create_invite(
            session, cluster_id=other.id, role=RoleName.CLUSTER_COORDINATOR
        )
    assert "now the hub" in text_of(await harness.say("cora", f"/linkhub {code}", group="hub"))

    # Another cluster's coordinator cannot take the hub over with their own code.
    await member(harness, "olga", other_coordinator.code)
    other_code = await _hub_code(harness, "olga")
    assert "already the hub of another cluster" in text_of(
        await harness.say("olga", f"/linkhub {other_code}", group="hub")
    )
    assert await rows(harness, HubChat) and all(
        hub.cluster_id == invite.cluster_id for hub in await rows(harness, HubChat)
    )
    # Their code still works for a group of their own.
    assert "now the hub of Other" in text_of(
        await harness.say("olga", f"/linkhub {other_code}", group="olga-hub")
    )
    async with harness.app.db.session() as session:
        hubs = (await session.exec(select(HubChat).order_by(HubChat.chat_id))).all()
        used = (await session.exec(select(Invite).where(Invite.purpose == InvitePurpose.HUB))).all()
    assert [(h.chat_id, h.cluster_id) for h in hubs] == [
        ("hub", invite.cluster_id),
        ("olga-hub", other.id),
    ]
    assert sorted(i.uses for i in used) == [1, 1]


async def test_a_stale_view_cannot_overturn_a_decision(harness: Harness) -> None:
    codes = await demo_codes(harness)
    await member(harness, "lena", codes["school_lead"])
    await member(harness, "cora", codes["coordinator"])
    await member(harness, "nico", codes["coordinator"])
    await harness.say("lena", "/propose")
    await harness.say("lena", "Peer observation")
    await harness.say("lena", "Teachers rarely see each other teach.")

    # Both coordinators open the proposal; cora sends it back, then nico presses Confirm.
    for coordinator in ("cora", "nico"):
        await harness.say(coordinator, "/confirm")
        await harness.press(coordinator, "Hillview Primary: Peer observation")
    await harness.press("cora", "Ask to revise")
    await harness.say("cora", "Say who observes whom.")
    replies = await harness.press("nico", "Confirm")
    assert "someone else has already decided" in text_of(replies)
    assert "sent back for revision" in text_of(replies)
    assert not [r for r in replies if r.chat is not None]  # the school lead hears nothing new

    (focus,) = await rows(harness, SchoolFocus)
    assert (focus.status, focus.decision_note) == ("revise", "Say who observes whom.")
    decisions = [a.action for a in await rows(harness, AuditEvent) if a.action.startswith("focus.")]
    assert decisions == ["focus.proposed", "focus.revise"]


@pytest.mark.parametrize(
    "forged", ["²", "12345678901234567890123", "3000000000", "-1", " 1", "1e3", "", "٣"]
)
async def test_forged_button_data_is_a_stale_button(harness: Harness, forged: str) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    await _entry(harness, "ana", "Impact", ["One"], [])
    listing = await harness.say("ana", "/mine")
    rev = listing[-1].buttons[0].data.split(":")[0]
    replies = await harness.send("ana", button=f"{rev}:{forged}")
    assert "earlier message" in replies[0].text
    assert "to view, change or delete it" in text_of(replies)
    assert "Results: One" in text_of(await harness.press("ana", "1. Impact"))
