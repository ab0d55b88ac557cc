"""A hub group that changes its id (Telegram's upgrade to a supergroup) keeps its hub link."""

from __future__ import annotations

from sqlmodel import select

from storage.models import AuditEvent, HubChat
from tests.builders import demo_codes, member
from tests.helpers import Harness, text_of


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
