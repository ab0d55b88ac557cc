"""Hub chats: a coordinator gets a code, then links a group chat to the cluster with it.

Only linked groups ever receive posts from the bot (digests, meeting reminders). When the
platform gives a linked group a new id (Telegram upgrading a group to a supergroup, a Matrix room
upgrade), the link follows it; a private chat given a new id keeps its conversation.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.messages import ChatKind, ChatRef, Reply
from handlers.context import Context, notices, say
from prompts import Translator
from storage.clusters import (
    ClusterError,
    create_invite,
    link_hub,
    move_hub,
    unlink_hub,
)
from storage.conversations import take_conversation
from storage.models import Cluster, HubChat, InvitePurpose
from storage.people import COORDINATOR_ROLES, holders_of

# Why a hub link was refused, beyond the code itself being unusable (`join.*` says that).
HUB_REFUSALS = {
    "not_coordinator": "hub.coordinators_only",
    "other_cluster": "hub.other_cluster",
}


async def hub_code(ctx: Context) -> list[Reply]:
    """/hubcode: a coordinator receives a one-time code to link the cluster's group chat."""
    coordinating = [m for m in await ctx.memberships() if m.is_coordinator]
    if not coordinating:
        return [say(ctx.t("hub.coordinators_only"))]
    cluster = coordinating[0].cluster
    assert cluster.id is not None
    invite = await create_invite(
        ctx.session,
        cluster_id=cluster.id,
        purpose=InvitePurpose.HUB,
        valid_for=timedelta(days=2),
        created_by=ctx.person.id,
    )
    return [say(ctx.t("hub.code", code=invite.code, cluster=cluster.name))]


async def link(ctx: Context) -> list[Reply]:
    """/linkhub CODE, sent in a group chat: make that group the cluster's hub."""
    chat = ctx.msg.chat
    if chat.kind != ChatKind.GROUP:
        return [say(ctx.t("hub.in_group_only"))]
    if not ctx.msg.argument:
        return [say(ctx.t("hub.usage"))]
    try:
        linked = await link_hub(
            ctx.session,
            code=ctx.msg.argument,
            platform=chat.platform,
            chat_id=chat.chat_id,
            title=chat.title,
            person_id=ctx.person.id,  # type: ignore[arg-type]
            thread=chat.thread,
        )
    except ClusterError as exc:
        return [say(ctx.t(HUB_REFUSALS.get(exc.code, f"join.{exc.code}")))]
    # The group hears the cluster's language, whoever linked it.
    return [say(Translator(linked.cluster.language)("hub.linked", cluster=linked.cluster.name))]


async def taken_out(
    session: AsyncSession, *, hub: HubChat, chat: ChatRef, language: str
) -> list[Reply]:
    """The bot was taken out of `hub`'s chat: the link ends, and the coordinators are told.

    Their private chats hear of it (in their own languages, else `language`), since the group
    can no longer be written to; posts planned for it are not sent anywhere else. Who took the
    bot out is not recorded: an admin of a group need not be anyone the diary knows.
    """
    cluster = await session.get(Cluster, hub.cluster_id)
    title = hub.title or chat.title or chat.chat_id
    await unlink_hub(session, hub=hub)
    coordinators = await holders_of(session, cluster_id=hub.cluster_id, roles=COORDINATOR_ROLES)
    name = cluster.name if cluster else ""
    return await notices(session, coordinators, "hub.removed", language, chat=title, cluster=name)


async def moved(ctx: Context) -> list[Reply]:
    """A chat now has a new id: a hub link to its old id moves with it, silently.

    A private chat's conversation goes on in the new one instead (`conversation_moved`).
    """
    chat = ctx.msg.chat
    assert ctx.msg.moved_from is not None
    if chat.kind == ChatKind.PRIVATE:
        await conversation_moved(ctx, ChatRef(chat.platform, ctx.msg.moved_from).key)
        return []
    await move_hub(
        ctx.session,
        platform=chat.platform,
        old_chat_id=ctx.msg.moved_from,
        new_chat_id=chat.chat_id,
    )
    return []


async def conversation_moved(ctx: Context, old_key: str) -> None:
    """Continue the person's conversation of the chat `old_key` in this private chat.

    As when a Matrix direct chat is upgraded to a new room: the step and draft go on here, and
    the routing asks the open question again, in the new room.
    """
    assert ctx.identity.id is not None
    old = await take_conversation(ctx.session, identity_id=ctx.identity.id, chat_key=old_key)
    if old is not None:
        ctx.state.rev = old.rev  # buttons of the old chat stay stale after `resume`
        ctx.resume(old.flow, old.step, old.data)
