"""Stage 1: a school's mentoring focus: a school lead proposes, a coordinator decides.

Every proposal is kept, so /focus shows the history; confirming a new focus supersedes the old
one. The people concerned are told in their private chats (coordinators of a new proposal, the
lead of the decision).
"""

from __future__ import annotations

from bot.messages import Button, Reply
from handlers.context import Context, notify, say
from storage.clusters import schools_of
from storage.diary import FocusDecided, decide_focus, focus_history, pending_focus
from storage.models import RoleName, School, SchoolFocus
from storage.people import COORDINATOR_ROLES, audit, holders_of

FLOW_PROPOSE = "propose"
FLOW_DECIDE = "decide"
TITLE_LIMIT = 300


def _describe(ctx: Context, focus: SchoolFocus) -> str:
    when = focus.created_at.strftime("%d.%m.%Y")
    line = f"• {focus.title} ({ctx.t(f'focus.status.{focus.status}')}, {when})"
    if focus.rationale:
        line += f"\n   {focus.rationale}"
    if focus.decision_note:
        line += f"\n   {ctx.t('focus.note', note=focus.decision_note)}"
    return line


async def show(ctx: Context) -> list[Reply]:
    """/focus: each of the person's schools with its focus history, newest first."""
    schools = [m.school for m in await ctx.memberships() if m.school is not None]
    if not schools:
        return [say(ctx.t("focus.no_school"))]
    parts = []
    for school in schools:
        assert school.id is not None
        history = await focus_history(ctx.session, school_id=school.id)
        body = "\n".join(_describe(ctx, f) for f in history) or ctx.t("focus.none")
        parts.append(f"{ctx.t('focus.header', school=school.name)}\n{body}")
    return [say("\n\n".join(parts))]


async def _led_school(ctx: Context) -> School | None:
    return next((m.school for m in await ctx.memberships() if m.role == RoleName.SCHOOL_LEAD), None)


async def propose(ctx: Context) -> list[Reply]:
    """/propose: a school lead proposes (or revises) the school's focus."""
    school = await _led_school(ctx)
    if school is None:
        return [say(ctx.t("focus.leads_only"))]
    ctx.goto(FLOW_PROPOSE, "title", school_id=school.id)
    return await ask_propose(ctx)


async def ask_propose(ctx: Context) -> list[Reply]:
    """The proposal's current question: the title, then why it matters."""
    key = "focus.ask_title" if ctx.state.step == "title" else "focus.ask_why"
    return [say(ctx.t(key))]


async def handle_propose(ctx: Context) -> list[Reply]:
    """Take the title, then the rationale, then file the proposal and tell the coordinators."""
    text = ctx.msg.text.strip()
    if not text or ctx.msg.button is not None:
        return [say(ctx.t("errors.empty")), *await ask_propose(ctx)]
    if ctx.state.step == "title":
        if len(text) > TITLE_LIMIT:
            return [say(ctx.t("focus.title_too_long", limit=TITLE_LIMIT))]
        ctx.goto(FLOW_PROPOSE, "why", title=text)
        return await ask_propose(ctx)
    school = await ctx.session.get(School, int(ctx.data["school_id"]))
    assert school is not None
    focus = SchoolFocus(
        school_id=school.id,  # type: ignore[arg-type]
        title=ctx.data["title"],
        rationale=text,
        proposed_by=ctx.person.id,
    )
    ctx.session.add(focus)
    await ctx.session.flush()
    await audit(
        ctx.session, person_id=ctx.person.id, action="focus.proposed", target=f"focus:{focus.id}"
    )
    ctx.finish()
    coordinators = await holders_of(
        ctx.session, cluster_id=school.cluster_id, roles=COORDINATOR_ROLES
    )
    notices = await notify(
        ctx, coordinators, "focus.notify_proposed", school=school.name, title=focus.title
    )
    return [say(ctx.t("focus.proposed", title=focus.title)), *notices]


async def _pending(ctx: Context) -> list[tuple[SchoolFocus, School]]:
    cluster_ids = {m.cluster.id for m in await ctx.memberships() if m.is_coordinator}
    found = []
    for cluster_id in cluster_ids:
        schools = {s.id: s for s in await schools_of(ctx.session, cluster_id=cluster_id)}  # type: ignore[arg-type]
        for focus in await pending_focus(ctx.session, school_ids=list(schools)):  # type: ignore[arg-type]
            found.append((focus, schools[focus.school_id]))
    return found


async def confirm(ctx: Context) -> list[Reply]:
    """/confirm: a coordinator picks a pending proposal to confirm or send back."""
    if not any(m.is_coordinator for m in await ctx.memberships()):
        return [say(ctx.t("focus.coordinators_only"))]
    ctx.goto(FLOW_DECIDE, "pick")
    return await ask_decide(ctx)


async def ask_decide(ctx: Context) -> list[Reply]:
    """The coordinator's current question: which proposal, what decision, or the note."""
    step = ctx.state.step
    if step == "pick":
        pending = await _pending(ctx)
        if not pending:
            ctx.finish()
            return [say(ctx.t("focus.nothing_pending"))]
        lines = [ctx.t("focus.pending_header")]
        lines += [
            f"• {school.name}: {focus.title}\n   {focus.rationale}" for focus, school in pending
        ]
        buttons = [
            Button(f"{school.name}: {focus.title}"[:60], str(focus.id)) for focus, school in pending
        ]
        return [say("\n".join(lines), *buttons)]
    if step == "decision":
        return [
            say(
                ctx.t("focus.decide", title=ctx.data.get("title", "")),
                ctx.choice("focus.confirm", "confirm"),
                ctx.choice("focus.revise", "revise"),
            )
        ]
    return [say(ctx.t("focus.ask_note"))]


async def handle_decide(ctx: Context) -> list[Reply]:
    """Record the coordinator's decision and tell the school lead who proposed it."""
    step, choice = ctx.state.step, ctx.msg.button
    if step == "pick":
        pending = {str(focus.id): focus for focus, _ in await _pending(ctx)}
        if choice not in pending:
            return await ask_decide(ctx)
        ctx.goto(FLOW_DECIDE, "decision", focus_id=int(choice), title=pending[choice].title)  # type: ignore[index]
        return await ask_decide(ctx)
    focus = await ctx.session.get(SchoolFocus, int(ctx.data["focus_id"]))
    if focus is None:
        ctx.finish()
        return []
    if step == "decision":
        if choice == "revise":
            ctx.goto(FLOW_DECIDE, "note")
            return await ask_decide(ctx)
        if choice != "confirm":
            return await ask_decide(ctx)
        return await _decided(ctx, focus, confirm=True, note="")
    note = ctx.msg.text.strip()
    if not note:
        return [say(ctx.t("errors.empty")), *await ask_decide(ctx)]
    return await _decided(ctx, focus, confirm=False, note=note)


async def _decided(ctx: Context, focus: SchoolFocus, *, confirm: bool, note: str) -> list[Reply]:
    assert ctx.person.id is not None
    ctx.finish()
    try:
        await decide_focus(
            ctx.session, focus=focus, confirm=confirm, person_id=ctx.person.id, note=note
        )
    except FocusDecided as decided:
        status = ctx.t(f"focus.status.{decided.focus.status}")
        return [say(ctx.t("focus.already_decided", title=focus.title, status=status))]
    school = await ctx.session.get(School, focus.school_id)
    key = "focus.notify_confirmed" if confirm else "focus.notify_revise"
    notices = await notify(
        ctx,
        [focus.proposed_by] if focus.proposed_by else [],
        key,
        title=focus.title,
        school=school.name if school else "",
        note=note,
    )
    done = ctx.t("focus.confirmed_done" if confirm else "focus.revise_done", title=focus.title)
    return [say(done), *notices]
