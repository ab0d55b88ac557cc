"""Answers to a meeting: the coming / maybe / not coming buttons, and reactions in a hub room.

The buttons are commands (`/rsvp 12 coming`), so they work the same under a private
announcement and under the hub post, whoever presses them. In a Matrix hub, where a post has no
buttons, reacting to the post with the emoji it names is the answer. Each answer is checked
(the meeting stands, has not ended, the person is invited and consents), saved, confirmed to the
person (privately when the answer came from a hub and the bot knows their private chat there)
and the tally on every hub post of the meeting is brought up to date by editing it.
"""

from __future__ import annotations

from bot.messages import Reply
from handlers.context import Context, privately, say
from handlers.dates import say_moment
from handlers.meeting_changes import hub_edits
from handlers.meeting_text import answer_for
from storage.meetings import answer, is_invited, locked, post_at
from storage.models import Answer, Cluster, Meeting, MeetingStatus
from storage.types import MAX_ROW_ID


async def command(ctx: Context) -> list[Reply]:
    """/rsvp MEETING ANSWER, as the RSVP buttons send it."""
    parts = ctx.msg.argument.split()
    valid = len(parts) == 2 and parts[0].isdigit() and int(parts[0]) <= MAX_ROW_ID
    if not valid or parts[1] not in set(Answer):
        return privately(ctx, say(ctx.t("meetings.rsvp_unreadable")))
    meeting = await locked(ctx.session, meeting_id=int(parts[0]))
    return await _answer(ctx, meeting, Answer(parts[1]))


async def reaction(ctx: Context) -> list[Reply]:
    """A reaction: an answer when it is one of the answer emoji on a meeting's hub post."""
    reacted = ctx.msg.reaction
    assert reacted is not None
    chat = ctx.msg.chat
    post = await post_at(
        ctx.session, platform=chat.platform, chat_id=chat.chat_id, message_id=reacted.message_id
    )
    choice = answer_for(reacted.key)
    if post is None or choice is None:
        return []  # a reaction to something else, or with another emoji: nothing to do
    return await _answer(ctx, await locked(ctx.session, meeting_id=post.meeting_id), choice)


async def _answer(ctx: Context, meeting: Meeting | None, choice: Answer) -> list[Reply]:
    refusal = await _refusal(ctx, meeting)
    if refusal is not None:
        return [privately(ctx, say(ctx.t(refusal)))]
    assert meeting is not None and meeting.id is not None and ctx.person.id is not None
    cluster = await ctx.session.get(Cluster, meeting.cluster_id)
    assert cluster is not None  # a foreign key
    previous = await answer(
        ctx.session, meeting_id=meeting.id, person_id=ctx.person.id, choice=choice, now=ctx.now
    )
    when = say_moment(meeting.scheduled_at, cluster.timezone, ctx.t.language)
    said = ctx.t(f"meetings.rsvp_{choice}", when=when)
    replies = [privately(ctx, say(said))]
    if previous != choice:
        replies += await hub_edits(ctx, meeting, cluster)
    return replies


async def _refusal(ctx: Context, meeting: Meeting | None) -> str | None:
    """The string key saying why this answer cannot be taken, or None when it can."""
    if meeting is None:
        return "meetings.no_such_meeting"
    if meeting.status == MeetingStatus.CANCELLED:
        return "meetings.rsvp_cancelled"
    if meeting.ends_at <= ctx.now:
        return "meetings.rsvp_over"
    assert ctx.person.id is not None
    if not await is_invited(ctx.session, meeting=meeting, person_id=ctx.person.id):
        return "meetings.not_invited"
    if not ctx.consents:
        return "errors.consent_first"
    return None
