"""/reminders: what is coming for me, and pausing, stopping or restarting my reminders.

Separate from consent: someone who consents may still want a quiet month. Coordinators also
see what was sent lately in their cluster, to whom, what is planned next, and who cannot be
reached (blocked the bot). The flow is a table of steps (one step here: the menu and its
choices).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.messages import Reply
from bot.rhythm import Calendar, next_point
from handlers.context import Context, say
from handlers.dates import say_day
from handlers.steps import Step, run_step
from storage.calendar import calendar_of
from storage.models import Person, Reminder, ReminderStatus
from storage.people import audit, unreachable_in
from storage.reminders import listed

FLOW = "reminders"
PAUSES = (1, 2, 4)  # weeks
SHOWN = 8


async def command(ctx: Context) -> list[Reply]:
    """/reminders: the person's reminders and the choices."""
    ctx.goto(FLOW, "menu")
    return await ask(ctx)


async def _overview(ctx: Context) -> str:
    """What is coming for the person, and for coordinators, the cluster's recent and planned."""
    assert ctx.person.id is not None
    lines = [_status(ctx)]
    calendars: dict[int, Calendar] = {}
    logged: set[int] = set()
    for membership in await ctx.memberships():
        cluster, school = membership.cluster, membership.school
        assert cluster.id is not None
        if cluster.id not in calendars:
            calendars[cluster.id] = await calendar_of(ctx.session, cluster)
        calendar = calendars[cluster.id]
        if school is not None:
            today = calendar.local(ctx.now).date()
            point = next_point(calendar, today, school_id=school.id)
            if point is not None:
                when = say_day(point, ctx.t.language)
                lines.append(ctx.t("reminders.next_point", school=school.name, day=when))
        if membership.is_coordinator and cluster.id not in logged:
            logged.add(cluster.id)
            lines.append(await _cluster_log(ctx, cluster.id, cluster.name))
    return "\n\n".join(dict.fromkeys(lines))  # a lead who also contributes: one line


def _status(ctx: Context) -> str:
    person = ctx.person
    if person.reminders_stopped:
        return ctx.t("reminders.status_stopped")
    paused = person.reminders_paused_until
    if paused is not None and paused > ctx.now:
        return ctx.t("reminders.status_paused", day=say_day(paused.date(), ctx.t.language))
    return ctx.t("reminders.status_on")


async def _cluster_log(ctx: Context, cluster_id: int, name: str) -> str:
    """The cluster's latest sent messages and the next planned ones, one line each."""
    sent = await listed(
        ctx.session, statuses=[ReminderStatus.SENT], cluster_id=cluster_id, limit=SHOWN
    )
    planned = await listed(
        ctx.session, statuses=[ReminderStatus.PLANNED], cluster_id=cluster_id, limit=SHOWN
    )
    names: dict[int, str] = {}
    for row in (*sent, *planned):
        if row.person_id is not None and row.person_id not in names:
            person = await ctx.session.get(Person, row.person_id)
            if person is None:
                names[row.person_id] = "?"
            else:  # someone who withdrew has no name any more
                pseudonym = ctx.t("privacy.pseudonym", code=person.pseudonym)
                names[row.person_id] = person.display_name or pseudonym

    def line(row: Reminder, moment: datetime) -> str:
        who = names.get(row.person_id, "?") if row.person_id else ctx.t("reminders.hub")
        kind = ctx.t(f"reminders.kind.{row.kind}")
        return f"• {say_day(moment.date(), ctx.t.language)}: {kind} → {who}"

    parts = [ctx.t("reminders.cluster_header", cluster=name)]
    parts.append(ctx.t("reminders.sent_header"))
    parts += [line(row, row.sent_at or row.due_at) for row in sent] or [ctx.t("reminders.none")]
    parts.append(ctx.t("reminders.planned_header"))
    parts += [line(row, row.due_at) for row in reversed(planned)] or [ctx.t("reminders.none")]
    unreachable = await unreachable_in(ctx.session, cluster_id=cluster_id)
    if unreachable:
        parts.append(ctx.t("reminders.unreachable_header"))
    for person in unreachable:
        name = person.name or ctx.t("privacy.pseudonym", code=person.pseudonym)
        day = say_day(person.since.date(), ctx.t.language)
        parts.append(ctx.t("reminders.unreachable_line", name=name, day=day))
    return "\n".join(parts)


async def _ask_menu(ctx: Context) -> list[Reply]:
    buttons = [ctx.choice("reminders.pause", f"pause:{w}", weeks=w) for w in PAUSES]
    person = ctx.person
    quiet = person.reminders_stopped or (
        person.reminders_paused_until is not None and person.reminders_paused_until > ctx.now
    )
    buttons.append(
        ctx.choice("reminders.resume", "resume") if quiet else ctx.choice("reminders.stop", "stop")
    )
    buttons.append(ctx.choice("reminders.done", "done"))
    return [say(await _overview(ctx), *buttons)]


async def _handle_menu(ctx: Context) -> list[Reply]:
    choice = ctx.msg.button or ""
    person = ctx.person
    if choice.startswith("pause:") and choice[6:] in {str(w) for w in PAUSES}:
        weeks = int(choice[6:])
        person.reminders_paused_until = ctx.now + timedelta(weeks=weeks)
        person.reminders_stopped = False
        answer = ctx.t(
            "reminders.paused",
            day=say_day(person.reminders_paused_until.date(), ctx.t.language),
        )
        action = "reminders.paused"
    elif choice == "stop":
        person.reminders_stopped, person.reminders_paused_until = True, None
        answer, action = ctx.t("reminders.stopped"), "reminders.stopped"
    elif choice == "resume":
        person.reminders_stopped, person.reminders_paused_until = False, None
        answer, action = ctx.t("reminders.resumed"), "reminders.resumed"
    else:
        ctx.finish()
        return [say(ctx.t("reminders.unchanged"))]
    ctx.session.add(person)
    await audit(ctx.session, person_id=person.id, action=action)
    ctx.finish()
    return [say(answer)]


STEPS = {"menu": Step(ask=_ask_menu, handle=_handle_menu)}


async def ask(ctx: Context) -> list[Reply]:
    """Repeat the current step's question."""
    return await run_step(STEPS, ctx, "ask")


async def handle(ctx: Context) -> list[Reply]:
    """Take the answer to the current step."""
    return await run_step(STEPS, ctx, "handle")
