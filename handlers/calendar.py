"""/calendar: a cluster's terms, holidays and input points, and the flow that changes them.

Every member sees their cluster's calendar. Coordinators add terms and holidays, remove them
and set the input points of the cluster or of one school; a school lead sets their own school's
input points. Every typed date is said back in words with its weekday and saved only once the
person confirms it. Who may do what is checked in `handle`, before any step runs, so a button
from an earlier message (or one never offered) changes nothing.

The flow is the table `STEPS`: one row per step, its question and what it does with the answer.
A step's `handle` (the `take_*` functions) returns what to say first; `handle` here then asks
the question of the step the person is now at (none once the flow has finished).
"""

from __future__ import annotations

from bot.messages import Button, Reply
from handlers import calendar_digest as digest
from handlers import calendar_edit as edit
from handlers.calendar_show import FLOW, access_to, clusters_of, open_calendar, render
from handlers.context import Context, say
from handlers.steps import Step, run_step

COORDINATOR_ACTIONS = ("term", "holiday", "points", "remove", "digest")


async def command(ctx: Context) -> list[Reply]:
    """/calendar: show the person's cluster's calendar (picking the cluster first if several)."""
    clusters = await clusters_of(ctx)
    if len(clusters) == 1:
        said = await open_calendar(ctx, next(iter(clusters)))
    else:
        ctx.goto(FLOW, "cluster")
        said = []
    return [*said, *await ask(ctx)]


async def ask_cluster(ctx: Context) -> list[Reply]:
    """Which of the person's clusters?"""
    buttons = [Button(c.name, str(i)) for i, c in (await clusters_of(ctx)).items()]
    return [say(ctx.t("calendar.which_cluster"), *buttons)]


async def take_cluster(ctx: Context) -> list[Reply]:
    """Open the chosen cluster's calendar (only one of the person's own)."""
    chosen = {str(i): i for i in await clusters_of(ctx)}.get(ctx.msg.button or "")
    if chosen is None:
        return [say(ctx.t("errors.use_buttons"))]
    return await open_calendar(ctx, chosen)


async def ask_menu(ctx: Context) -> list[Reply]:
    """The calendar with the changes this person may make."""
    access = await access_to(ctx, ctx.data.get("cluster_id"))
    if not access.may_change:  # their role changed since the menu was first shown
        ctx.finish()
        return [say(await render(ctx, access))] if access.cluster else []
    if access.coordinator:
        buttons = [ctx.choice(f"calendar.action_{a}", a) for a in COORDINATOR_ACTIONS]
    else:
        buttons = [ctx.choice("calendar.action_school_points", "school_points")]
    buttons.append(ctx.choice("calendar.done", "done"))
    return [say(f"{await render(ctx, access)}\n\n{ctx.t('calendar.changes')}", *buttons)]


async def take_menu(ctx: Context) -> list[Reply]:
    """Start the chosen change, if it is one this person may make."""
    action, access = ctx.msg.button, await access_to(ctx, ctx.data.get("cluster_id"))
    if action is None:
        return [say(ctx.t("errors.use_buttons"))]
    if action == "done":
        ctx.finish()
        return [say(ctx.t("calendar.closed"))]
    if action == "school_points" and access.led:
        ctx.goto(FLOW, "points", action="points", school_id=access.led[0])
    elif not access.permits(action, None):
        return refuse(ctx)
    elif action == "remove" and not await edit.spans_of(ctx):
        return [say(ctx.t("calendar.nothing_to_remove"))]
    else:
        first_step = {
            "term": "name",
            "holiday": "name",
            "points": "scope",
            "remove": "remove",
            "digest": "digest_day",
        }
        ctx.goto(FLOW, first_step[action], action=action)
    return []


STEPS: dict[str, Step] = {
    "cluster": Step(ask=ask_cluster, handle=take_cluster),
    "menu": Step(ask=ask_menu, handle=take_menu),
    "name": Step(ask=edit.ask_name, handle=edit.take_name),
    "first": Step(ask=edit.ask_day, handle=edit.take_day),
    "first_ok": Step(ask=edit.ask_day_ok, handle=edit.take_day_ok),
    "last": Step(ask=edit.ask_day, handle=edit.take_day),
    "last_ok": Step(ask=edit.ask_day_ok, handle=edit.take_day_ok),
    "scope": Step(ask=edit.ask_scope, handle=edit.take_scope),
    "points": Step(ask=edit.ask_points, handle=edit.take_points),
    "points_ok": Step(ask=edit.ask_points_ok, handle=edit.take_points_ok),
    "remove": Step(ask=edit.ask_remove, handle=edit.take_remove),
    "remove_ok": Step(ask=edit.ask_remove_ok, handle=edit.take_remove_ok),
    "digest_day": Step(ask=digest.ask_day, handle=digest.take_day),
    "digest_time": Step(ask=digest.ask_time, handle=digest.take_time),
}


def refuse(ctx: Context) -> list[Reply]:
    """A change this person may not make: say so politely and leave the flow."""
    ctx.finish()
    return [say(ctx.t("calendar.not_allowed"))]


async def ask(ctx: Context) -> list[Reply]:
    """Ask the current step's question (again, after a restart, a stale button or a detour)."""
    return await run_step(STEPS, ctx, "ask") if ctx.state.flow == FLOW else []


async def handle(ctx: Context) -> list[Reply]:
    """Take the next message, unless the person may not (or no longer) make this change."""
    step = ctx.state.step
    if step not in STEPS:
        ctx.finish()
        return []
    if step != "cluster":
        action = "menu" if step == "menu" else ctx.data.get("action")
        access = await access_to(ctx, ctx.data.get("cluster_id"))
        if not access.permits(action, ctx.data.get("school_id")):
            return refuse(ctx)
    said = await run_step(STEPS, ctx, "handle")
    return [*said, *await ask(ctx)]
