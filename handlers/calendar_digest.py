"""The weekly digest's day and time, shown in /calendar and changed there by coordinators.

Two steps of the calendar flow: the weekday (or no automatic digest), then the local time,
typed ("15:00") or kept. The planner picks the new moment up at its next pass; a digest already
planned for the old moment is then skipped (`bot.digest_plan`).
"""

from __future__ import annotations

from babel.dates import get_day_names

from bot.messages import Button, Reply
from handlers.calendar_show import FLOW, access_to, digest_line, open_calendar
from handlers.context import Context, say
from handlers.dates import find_clock, locale_of
from storage.models import Cluster
from storage.people import audit


async def _cluster(ctx: Context) -> Cluster:
    cluster = (await access_to(ctx, ctx.data.get("cluster_id"))).cluster
    assert cluster is not None  # `handle` checked the person's access to it
    return cluster


async def ask_day(ctx: Context) -> list[Reply]:
    """Which weekday, or none?"""
    names = get_day_names("wide", locale=locale_of(ctx.t.language))
    buttons = [Button(names[n], str(n + 1)) for n in range(7)]
    buttons.append(ctx.choice("calendar.digest_off", "0"))
    return [
        say(f"{digest_line(ctx, await _cluster(ctx))}\n\n{ctx.t('calendar.digest_day')}", *buttons)
    ]


async def take_day(ctx: Context) -> list[Reply]:
    """Off: saved at once; a weekday: on to the time."""
    choice = ctx.msg.button or ""
    if choice not in {str(n) for n in range(8)}:
        return [say(ctx.t("errors.use_buttons"))]
    if choice == "0":
        return await _save(ctx, 0, (await _cluster(ctx)).digest_time)
    ctx.goto(FLOW, "digest_time", digest_day=int(choice))
    return []


async def ask_time(ctx: Context) -> list[Reply]:
    """At what local time (the current one kept with a tap)?"""
    cluster = await _cluster(ctx)
    keep = Button(cluster.digest_time, "keep")
    return [say(ctx.t("calendar.digest_time"), keep, expects_text=True)]


async def take_time(ctx: Context) -> list[Reply]:
    """Save the day and the time typed (or kept)."""
    cluster = await _cluster(ctx)
    if ctx.msg.button == "keep":
        return await _save(ctx, ctx.data["digest_day"], cluster.digest_time)
    found = find_clock(ctx.msg.text)
    if ctx.msg.button is not None or found is None:
        return [say(ctx.t("calendar.digest_bad_time"))]
    return await _save(ctx, ctx.data["digest_day"], f"{found[0]:%H:%M}")


async def _save(ctx: Context, day: int, time: str) -> list[Reply]:
    cluster = await _cluster(ctx)
    before = [cluster.digest_day, cluster.digest_time]
    cluster.digest_day, cluster.digest_time = day, time
    ctx.session.add(cluster)
    await audit(
        ctx.session,
        person_id=ctx.person.id,
        action="calendar.digest",
        target=f"cluster:{cluster.id}",
        detail={"before": before, "after": [day, time]},
    )
    done = say(ctx.t("calendar.digest_saved", line=digest_line(ctx, cluster)))
    return [done, *await open_calendar(ctx, cluster.id or 0)]
