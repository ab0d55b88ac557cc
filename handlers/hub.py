"""Hub chats: a coordinator gets a code, then links a group chat to the cluster with it.

Only linked groups ever receive posts from the bot (digests, meeting reminders). When the
platform gives a linked group a new id (Telegram upgrading a group to a supergroup), the link
follows it.
"""

from __future__ import annotations

from datetime import timedelta

from bot.messages import ChatKind, Reply
from handlers.context import Context, say
from prompts import Translator
from storage.clusters import ClusterError, create_invite, link_hub, move_hub
from storage.models import InvitePurpose

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
        )
    except ClusterError as exc:
        return [say(ctx.t(HUB_REFUSALS.get(exc.code, f"join.{exc.code}")))]
    # The group hears the cluster's language, whoever linked it.
    return [say(Translator(linked.cluster.language)("hub.linked", cluster=linked.cluster.name))]


async def moved(ctx: Context) -> list[Reply]:
    """A group chat now has a new id: a hub link to its old id moves with it, silently."""
    chat = ctx.msg.chat
    assert ctx.msg.moved_from is not None
    await move_hub(
        ctx.session,
        platform=chat.platform,
        old_chat_id=ctx.msg.moved_from,
        new_chat_id=chat.chat_id,
    )
    return []
