"""A hub group that changes its id (Telegram's upgrade to a supergroup) keeps its hub link; a
private chat that does (a Matrix direct chat upgraded to a new room) keeps its conversation."""

from __future__ import annotations

from sqlmodel import select

from bot.messages import ChatKind, ChatRef, Incoming, Reply, Sender
from storage.clusters import create_cluster
from storage.models import AuditEvent, ConversationState, HubChat, Identity
from tests.builders import demo_codes, member
from tests.helpers import PLATFORM, Harness, text_of


async def hubs(bot: Harness) -> list[str]:
    async with bot.app.db.session() as session:
        rows = await session.exec(select(HubChat).order_by(HubChat.chat_id))
        return [hub.chat_id for hub in rows.all()]


async def link(bot: Harness, group: str) -> None:
    code = text_of(await bot.say("cora", "/hubcode")).split("/linkhub ")[1].split()[0]
    assert "now the hub" in text_of(await bot.say("cora", f"/linkhub {code}", group=group))


async def test_the_hub_link_follows_the_group_to_its_new_id(harness: Harness) -> None:
    codes = await demo_codes(harness)
    await member(harness, "cora", codes["coordinator"])
    await link(harness, "old-hub")

    # The move is silent: nobody in the group asked anything.
    assert await harness.send("cora", "new-hub", moved_from="old-hub") == []
    assert await hubs(harness) == ["new-hub"]
    async with harness.app.db.session() as session:
        (event,) = await session.exec(select(AuditEvent).where(AuditEvent.action == "hub.moved"))
    assert (event.target, event.detail) == ("memory:new-hub", {"from": "old-hub"})

    # Told again, or about a group that was never a hub: nothing changes.
    assert await harness.send("cora", "new-hub", moved_from="old-hub") == []
    assert await harness.send("cora", "elsewhere", moved_from="never-linked") == []
    assert await hubs(harness) == ["new-hub"]

    # The new id linked already (someone linked the supergroup first): the dead link goes.
    await link(harness, "second-hub")
    assert await harness.send("cora", "new-hub", moved_from="second-hub") == []
    assert await hubs(harness) == ["new-hub"]


async def test_a_private_chat_given_a_new_id_goes_on_where_it_was(harness: Harness) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    assert "Which part of the diary" in text_of(await harness.say("ana", "/add"))
    ana = Sender(PLATFORM, "ana", "Ana")
    new_chat = ChatRef(PLATFORM, "dm-ana-new", ChatKind.PRIVATE)

    async def in_new_chat(**fields: object) -> list[Reply]:
        before = len(harness.channel.sent)
        await harness.app.dispatcher(Incoming(new_chat, ana, **fields))  # type: ignore[arg-type]
        sent = harness.channel.sent[before:]
        assert all(chat == new_chat for chat, _ in sent)
        return [reply for _, reply in sent]

    # The open question is asked again where the person now is, its choices live there.
    (question,) = await in_new_chat(moved_from="dm-ana")
    assert "Which part of the diary" in question.text
    async with harness.app.db.session() as session:
        states = (await session.exec(select(ConversationState))).all()
        (identity,) = (await session.exec(select(Identity))).all()
    assert [(s.chat_key, s.flow) for s in states] == [("memory:dm-ana-new", "entry")]
    assert identity.private_chat_id == "dm-ana-new"
    issue = next(b for b in question.buttons if b.label == "The issue")
    assert "question 1 of" in text_of(await in_new_chat(button=issue.data))

    # Told again (a restart), nothing is left to carry over and the conversation stays.
    assert await in_new_chat(moved_from="dm-ana") == []
    async with harness.app.db.session() as session:
        (state,) = (await session.exec(select(ConversationState))).all()
    assert (state.chat_key, state.flow) == ("memory:dm-ana-new", "entry")


async def test_a_move_leaves_the_thread_behind_and_never_takes_another_clusters_hub(
    harness: Harness,
) -> None:
    codes = await demo_codes(harness)
    await member(harness, "cora", codes["coordinator"])
    await link(harness, "old-hub")
    async with harness.app.db.session() as session:
        hub = (await session.exec(select(HubChat))).one()
        hub.thread_id = "$root-in-the-old-room"
        session.add(hub)
        other = await create_cluster(
            session, name="Other cluster", language="en", timezone="Europe/Lisbon"
        )
        assert other.id is not None
        session.add(HubChat(cluster_id=other.id, platform=PLATFORM, chat_id="others-hub"))

    # A room upgrade announced onto another cluster's hub changes neither link.
    assert await harness.send("cora", "others-hub", moved_from="old-hub") == []
    async with harness.app.db.session() as session:
        rows = (await session.exec(select(HubChat).order_by(HubChat.chat_id))).all()
    assert [(h.chat_id, h.cluster_id) for h in rows] == [
        ("old-hub", hub.cluster_id),
        ("others-hub", other.id),
    ]

    assert await harness.send("cora", "new-hub", moved_from="old-hub") == []
    async with harness.app.db.session() as session:
        moved = (await session.exec(select(HubChat).where(HubChat.chat_id == "new-hub"))).one()
    assert moved.thread_id is None  # the thread was the old room's
