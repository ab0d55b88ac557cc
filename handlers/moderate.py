"""/moderate: the cluster's moderators approve public entries, or send them back with a note.

The entries waiting (`storage.moderation`) come one at a time, oldest first, whole: their
school, author and day, how the author wants them published, their text and evidence. Approving
lets the entry into the public version; sending back asks for a note, which goes to the author
in their own language with the way to change the entry. *Next* leaves an entry for later in
this round. Every decision is audited.
"""

from __future__ import annotations

from bot.messages import Reply
from handlers.context import Context, notify, say
from handlers.dates import say_day
from handlers.render import render_entry, snippet
from handlers.steps import Gone, Step, StepFlow
from storage.diary import evidence_of
from storage.models import DiaryEntry, Person, School, Visibility
from storage.moderation import Moderation, decide, moderates, waiting
from storage.people import audit

FLOW = "moderate"
NOTE_LIMIT = 1000


async def _clusters(ctx: Context) -> list[int]:
    """The clusters this person moderates."""
    found = {m.cluster.id for m in await ctx.memberships() if moderates(m)}
    return sorted(i for i in found if i is not None)


async def _next(ctx: Context) -> DiaryEntry | None:
    skipped = set(ctx.data.get("skipped", []))
    entries = await waiting(ctx.session, cluster_ids=await _clusters(ctx))
    return next((e for e in entries if e.id not in skipped), None)


async def command(ctx: Context) -> list[Reply]:
    """/moderate: the oldest entry waiting, or that none is."""
    if not await _clusters(ctx):
        return [say(ctx.t("moderation.not_allowed"))]
    ctx.goto(FLOW, "show", skipped=[])
    return await flow.ask(ctx)


async def _current(ctx: Context) -> DiaryEntry:
    """The entry being decided, still waiting and still in the moderator's clusters."""
    entry = await ctx.session.get(DiaryEntry, ctx.data.get("entry", 0))
    if entry is None or entry.moderation != Moderation.PENDING:
        raise Gone
    school = await ctx.session.get(School, entry.school_id)
    if school is None or school.cluster_id not in await _clusters(ctx):
        raise Gone
    return entry


async def ask_show(ctx: Context) -> list[Reply]:
    """The next entry waiting, whole, with the decisions."""
    entry = await _next(ctx)
    if entry is None:
        ctx.finish()
        return [say(ctx.t("moderation.nothing"))]
    ctx.update(entry=entry.id)
    count = len(await waiting(ctx.session, cluster_ids=await _clusters(ctx)))
    school = await ctx.session.get(School, entry.school_id)
    author = await ctx.session.get(Person, entry.author_id)
    assert school is not None and author is not None and entry.submitted_at is not None
    how = "anonymous" if entry.visibility == Visibility.PUBLIC_ANONYMOUS else "named"
    head = ctx.t(
        "moderation.entry",
        school=school.name,
        author=author.display_name or ctx.t("privacy.pseudonym", code=author.pseudonym),
        day=say_day(entry.submitted_at.date(), ctx.t.language),
    )
    items = await evidence_of(ctx.session, entry_id=entry.id or 0)
    text = "\n".join(
        (
            ctx.t("moderation.waiting", count=count),
            f"{head} ({ctx.t(f'moderation.{how}')})",
            "",
            render_entry(ctx, entry, items),
        )
    )
    choices = ("approve", "send_back", "next", "done")
    return [say(text, *(ctx.choice(f"moderation.{c}", c) for c in choices))]


async def take_show(ctx: Context) -> list[Reply]:
    """Approve, send back (a note first), leave for later, or stop."""
    choice = ctx.msg.button
    if choice == "done":
        ctx.finish()
        return []
    if choice == "next":
        ctx.update(skipped=[*ctx.data.get("skipped", []), ctx.data.get("entry")])
        return []
    if choice == "send_back":
        await _current(ctx)
        ctx.goto(FLOW, "note")
        return []
    if choice != "approve":
        return [say(ctx.t("errors.use_buttons"))]
    entry = await _current(ctx)
    return [say(ctx.t("moderation.approved")), *await _decided(ctx, entry, approve=True, note="")]


async def ask_note(ctx: Context) -> list[Reply]:
    """What the author should change."""
    return [say(ctx.t("moderation.ask_note"), expects_text=True)]


async def take_note(ctx: Context) -> list[Reply]:
    """The note: the entry goes back to its author with it."""
    note = " ".join(ctx.msg.text.split())[:NOTE_LIMIT]
    if not note:
        return [say(ctx.t("errors.empty"))]
    entry = await _current(ctx)
    ctx.goto(FLOW, "show")
    return [
        say(ctx.t("moderation.returned")),
        *await _decided(ctx, entry, approve=False, note=note),
    ]


async def _decided(ctx: Context, entry: DiaryEntry, *, approve: bool, note: str) -> list[Reply]:
    """Record the decision and tell the author; the next entry follows (the flow's `ask`)."""
    assert ctx.person.id is not None
    detail = decide(entry, approve=approve, moderator_id=ctx.person.id, note=note, now=ctx.now)
    ctx.session.add(entry)
    await audit(ctx.session, person_id=ctx.person.id, action="moderation", detail=detail)
    key = "moderation.to_author_approved" if approve else "moderation.to_author_returned"
    return await notify(ctx, [entry.author_id], key, snippet=snippet(entry), note=note)


STEPS = {"show": Step(ask_show, take_show), "note": Step(ask_note, take_note)}
flow = StepFlow(FLOW, STEPS, lost="moderation.gone")
