"""What every meeting handler shares: who may see or change a meeting, and telling people.

Cluster and national coordinators schedule and change their clusters' meetings; every member of
a cluster may see its meetings. A change people are told about raises the meeting's sequence,
plans the news (privately to those who answered, and in the hubs) and edits the hub posts in
place; the reminders are planned again for the new time (`bot.meeting_plan`).
"""

from __future__ import annotations

from bot.meeting_plan import plan_meeting, plan_news
from bot.messages import ChatKind, ChatRef, Reply
from handlers.context import Context
from handlers.meeting_text import hub_post
from prompts import Translator
from storage.clusters import school_names_of
from storage.meetings import answers_of, changed, posts_of, tally
from storage.models import Cluster, Meeting
from storage.people import audit

FLOW = "meeting"  # /meeting and /meetings share one flow: changing reuses scheduling's steps


async def coordinated(ctx: Context) -> dict[int, Cluster]:
    """The clusters this person coordinates, by id."""
    return {
        m.cluster.id: m.cluster
        for m in await ctx.memberships()
        if m.is_coordinator and m.cluster.id is not None
    }


async def member_of(ctx: Context) -> dict[int, Cluster]:
    """The clusters this person holds any role in, by id."""
    return {m.cluster.id: m.cluster for m in await ctx.memberships() if m.cluster.id is not None}


async def meeting_of(
    ctx: Context, meeting_id: object, *, to_change: bool
) -> tuple[Meeting, Cluster] | None:
    """The meeting with its cluster, if this person may see it (or, `to_change`, change it)."""
    if not isinstance(meeting_id, int):
        return None
    meeting = await ctx.session.get(Meeting, meeting_id)
    if meeting is None:
        return None
    clusters = await (coordinated(ctx) if to_change else member_of(ctx))
    cluster = clusters.get(meeting.cluster_id)
    return (meeting, cluster) if cluster is not None else None


async def school_names(ctx: Context, meeting: Meeting) -> list[str]:
    """The names of the invited schools (empty when the whole cluster is invited)."""
    return await school_names_of(ctx.session, school_ids=meeting.invited)


async def hub_edits(ctx: Context, meeting: Meeting, cluster: Cluster) -> list[Reply]:
    """Edits bringing each of the meeting's hub posts up to date (details, tally, status)."""
    assert meeting.id is not None
    posts = await posts_of(ctx.session, meeting_id=meeting.id)
    if not posts:
        return []
    t = Translator(cluster.language or ctx.settings.default_language)
    counts = tally(await answers_of(ctx.session, meeting_id=meeting.id))
    schools = await school_names(ctx, meeting)
    edits = []
    for post in posts:
        chat = ChatRef(post.platform, post.chat_id, ChatKind.GROUP)
        reply = hub_post(t, meeting, cluster, schools, counts, platform=post.platform)
        edit = Reply(reply.text, reply.buttons, chat, edit=post.message_id, notice=True)
        edits.append(edit)  # the post went out as a notice (`bot.delivery`), and stays one
    return edits


async def tell(ctx: Context, meeting: Meeting, cluster: Cluster, event: str) -> list[Reply]:
    """Plan the news of the meeting's new state and its reminders; returns the hub post edits.

    `event` is "announced" for a new meeting, "changed" or "cancelled" after a change (the
    sequence goes up first, so calendars update the event people added).
    """
    if event != "announced":
        changed(meeting, ctx.now)
    ctx.session.add(meeting)
    await ctx.session.flush()
    await plan_news(
        ctx.session,
        meeting=meeting,
        event=event,
        consent_version=ctx.settings.consent_version,
        now=ctx.now,
    )
    if event != "cancelled":
        await plan_meeting(
            ctx.session,
            meeting=meeting,
            cluster=cluster,
            consent_version=ctx.settings.consent_version,
            now=ctx.now,
        )
    await audit(
        ctx.session,
        person_id=ctx.person.id,
        action=f"meeting.{event}",
        target=f"meeting:{meeting.id}",
        detail={"start": meeting.scheduled_at.isoformat(), "sequence": meeting.sequence},
    )
    ctx.wake_scheduler()
    return await hub_edits(ctx, meeting, cluster) if event != "announced" else []
