"""The calendar flow's changing steps: a term or holiday, input points, removing a span.

Each step is a pair: `ask_*` says its question, `take_*` takes the answer and returns what to
say before the (possibly new) current step's question, which `handlers.calendar.handle` adds.
Dates typed are kept in the draft as ISO strings and saved only after the person confirms them
in words; who may make the change is checked before any of these run.
"""

from __future__ import annotations

import re
from datetime import date

from bot.messages import Button, Reply
from handlers.calendar_show import FLOW, access_to, check, open_calendar, span_text, today_in
from handlers.context import Context, say
from handlers.dates import parse_day, say_day
from storage.calendar import (
    NAME_LIMIT,
    CalendarError,
    add_holiday,
    add_term,
    remove_span,
    set_input_points,
    terms_and_holidays,
)
from storage.people import audit

MAX_POINTS = 24
# Where to ask again after a change the storage refuses, by its reason.
BACK_TO = {"no_name": "name", "ends_before_start": "last", "overlaps": "first"}


def _day(ctx: Context, key: str) -> date:
    return date.fromisoformat(ctx.data[key])


def _said(day: date, ctx: Context) -> str:
    return say_day(day, ctx.t.language)


async def _today(ctx: Context) -> date:
    cluster = (await access_to(ctx, ctx.data.get("cluster_id"))).cluster
    assert cluster is not None  # `handle` checked the person's access to it
    return today_in(ctx, cluster)


# --- a term or a holiday: its name, first day and last day ----------------------------------


async def ask_name(ctx: Context) -> list[Reply]:
    """What is the term (or holiday) called?"""
    return [say(ctx.t(f"calendar.ask_{ctx.data['action']}_name"), expects_text=True)]


async def take_name(ctx: Context) -> list[Reply]:
    """Keep the name and ask for the first day."""
    name = " ".join(ctx.msg.text.split())
    if not name or ctx.msg.button is not None:
        return [say(ctx.t("errors.empty"))]
    if len(name) > NAME_LIMIT:
        return [say(ctx.t("calendar.name_too_long", limit=NAME_LIMIT))]
    ctx.goto(FLOW, "first", name=name)
    return []


async def ask_day(ctx: Context) -> list[Reply]:
    """Its first (or last) day, typed."""
    which = ctx.state.step.removesuffix("_ok")
    return [say(ctx.t(f"calendar.ask_{which}", name=ctx.data["name"]), expects_text=True)]


async def take_day(ctx: Context) -> list[Reply]:
    """Read the typed day and ask whether it is the one meant (said in words)."""
    which = ctx.state.step.removesuffix("_ok")
    ctx.goto(FLOW, which)
    text = ctx.msg.text.strip()
    if ctx.msg.button is not None or not text:
        return [say(ctx.t("errors.empty"))]
    day = parse_day(text, ctx.t.language, await _today(ctx))
    if day is None:
        return [say(ctx.t("calendar.unreadable", text=text[:80]))]
    if which == "last" and day < _day(ctx, "first"):
        first, last = _said(_day(ctx, "first"), ctx), _said(day, ctx)
        return [say(ctx.t("calendar.ends_before_start", first=first, last=last))]
    ctx.goto(FLOW, f"{which}_ok", typed=day.isoformat())
    return []


async def ask_day_ok(ctx: Context) -> list[Reply]:
    """The typed day in words with its weekday: is that right?"""
    question = f"calendar.check_{ctx.state.step.removesuffix('_ok')}"
    return [check(ctx, question, name=ctx.data["name"], day=_said(_day(ctx, "typed"), ctx))]


async def take_day_ok(ctx: Context) -> list[Reply]:
    """Yes: on to the last day, or save; no: type it again; a new date typed: read that."""
    which = ctx.state.step.removesuffix("_ok")
    if ctx.msg.button == "no":
        ctx.goto(FLOW, which)
        return []
    if ctx.msg.button != "yes":
        return await take_day(ctx)
    if which == "first":
        ctx.goto(FLOW, "last", first=ctx.data["typed"])
        return []
    return await _save_span(ctx)


async def _save_span(ctx: Context) -> list[Reply]:
    kind, name, cluster_id = ctx.data["action"], ctx.data["name"], ctx.data["cluster_id"]
    first, last = _day(ctx, "first"), _day(ctx, "typed")
    add = add_term if kind == "term" else add_holiday
    try:
        row = await add(ctx.session, cluster_id=cluster_id, name=name, first=first, last=last)
    except CalendarError as refused:
        ctx.goto(FLOW, BACK_TO[refused.reason])
        said = {"first": _said(first, ctx), "last": _said(last, ctx)}
        return [say(ctx.t(f"calendar.{refused.reason}", **said))]
    await audit(
        ctx.session,
        person_id=ctx.person.id,
        action=f"calendar.{kind}_added",
        target=f"{kind}:{row.id}",
        detail={"name": row.name, "first": first.isoformat(), "last": last.isoformat()},
    )
    done = say(ctx.t(f"calendar.{kind}_added", span=span_text(ctx, row.name, first, last)))
    return [done, *await open_calendar(ctx, cluster_id)]


# --- input points: whose, and which dates ---------------------------------------------------


async def ask_scope(ctx: Context) -> list[Reply]:
    """For the whole cluster, or for one school?"""
    access = await access_to(ctx, ctx.data.get("cluster_id"))
    buttons = [ctx.choice("calendar.whole_cluster", "cluster")]
    buttons += [Button(school.name, str(i)) for i, school in access.schools.items()]
    return [say(ctx.t("calendar.which_scope"), *buttons)]


async def take_scope(ctx: Context) -> list[Reply]:
    """Keep whose input points these are."""
    access, choice = await access_to(ctx, ctx.data.get("cluster_id")), ctx.msg.button
    if choice == "cluster":
        ctx.goto(FLOW, "points", school_id=None)
    elif choice is not None and choice in {str(i) for i in access.schools}:
        ctx.goto(FLOW, "points", school_id=int(choice))
    else:
        return [say(ctx.t("errors.use_buttons"))]
    return []


async def _whom(ctx: Context) -> str:
    access = await access_to(ctx, ctx.data.get("cluster_id"))
    school = access.schools.get(ctx.data.get("school_id"))  # type: ignore[arg-type]
    return school.name if school is not None else ctx.t("calendar.all_schools")


async def ask_points(ctx: Context) -> list[Reply]:
    """The dates, several at once, or back to the computed ones."""
    text = ctx.t("calendar.ask_points", whom=await _whom(ctx))
    return [say(text, ctx.choice("calendar.use_default", "default"), expects_text=True)]


async def take_points(ctx: Context) -> list[Reply]:
    """Read every date of the list; one unreadable date sends the whole list back."""
    ctx.goto(FLOW, "points")
    text = ctx.msg.text.strip()
    defaults = {"default", ctx.t("calendar.default_word").casefold()}
    if ctx.msg.button == "default" or text.casefold() in defaults:
        ctx.goto(FLOW, "points_ok", days=[])
        return []
    parts = [part.strip() for part in re.split(r"[,;\n]", text) if part.strip()]
    if ctx.msg.button is not None or not parts:
        return [say(ctx.t("errors.empty"))]
    if len(parts) > MAX_POINTS:
        return [say(ctx.t("calendar.too_many", limit=MAX_POINTS))]
    today = await _today(ctx)
    days = {part: parse_day(part, ctx.t.language, today) for part in parts}
    unread = [f"“{part[:40]}”" for part, day in days.items() if day is None]
    if unread:
        return [say(ctx.t("calendar.points_unreadable", items=", ".join(unread)))]
    chosen = sorted({day.isoformat() for day in days.values() if day is not None})
    ctx.goto(FLOW, "points_ok", days=chosen)
    return []


async def ask_points_ok(ctx: Context) -> list[Reply]:
    """The dates in words with their weekdays (or "the computed dates"): is that right?"""
    whom, days = await _whom(ctx), ctx.data["days"]
    if not days:
        return [check(ctx, "calendar.check_default", whom=whom)]
    listed = "\n".join(f"• {_said(date.fromisoformat(d), ctx)}" for d in days)
    return [check(ctx, "calendar.check_points", whom=whom, days=listed)]


async def take_points_ok(ctx: Context) -> list[Reply]:
    """Yes: save the dates; no: type them again; a new list typed: read that."""
    if ctx.msg.button == "no":
        ctx.goto(FLOW, "points")
        return []
    if ctx.msg.button != "yes":
        return await take_points(ctx)
    cluster_id, school_id, days = (
        ctx.data["cluster_id"],
        ctx.data.get("school_id"),
        ctx.data["days"],
    )
    whom = await _whom(ctx)
    await set_input_points(
        ctx.session,
        cluster_id=cluster_id,
        school_id=school_id,
        days=[date.fromisoformat(d) for d in days],
        person_id=ctx.person.id,
    )
    await audit(
        ctx.session,
        person_id=ctx.person.id,
        action="calendar.points_set",
        target=f"school:{school_id}" if school_id else f"cluster:{cluster_id}",
        detail={"days": days},
    )
    done = say(ctx.t("calendar.points_saved" if days else "calendar.default_saved", whom=whom))
    return [done, *await open_calendar(ctx, cluster_id)]


# --- removing a term or a holiday -----------------------------------------------------------


async def spans_of(ctx: Context) -> dict[str, tuple[str, date, date]]:
    """The cluster's terms and holidays by button value ("term:3"): name, first and last day."""
    terms, holidays = await terms_and_holidays(ctx.session, cluster_id=ctx.data["cluster_id"])
    spans = {f"term:{t.id}": (t.name, t.first_day, t.last_day) for t in terms}
    return spans | {f"holiday:{h.id}": (h.name, h.first_day, h.last_day) for h in holidays}


async def ask_remove(ctx: Context) -> list[Reply]:
    """Which term or holiday should go?"""
    buttons = [
        Button(ctx.t(f"calendar.{key.partition(':')[0]}_label", name=name)[:60], key)
        for key, (name, _, _) in (await spans_of(ctx)).items()
    ]
    return [say(ctx.t("calendar.remove_which"), *buttons, ctx.choice("calendar.back", "back"))]


async def take_remove(ctx: Context) -> list[Reply]:
    """Keep which one, and ask to confirm; Back returns to the calendar."""
    choice = ctx.msg.button or ""
    if choice == "back":
        return await open_calendar(ctx, ctx.data["cluster_id"])
    if choice not in await spans_of(ctx):
        return [say(ctx.t("errors.use_buttons"))]
    ctx.goto(FLOW, "remove_ok", span=choice)
    return []


async def ask_remove_ok(ctx: Context) -> list[Reply]:
    """Remove this one, shown with its days in words?"""
    span = (await spans_of(ctx)).get(ctx.data["span"])
    if span is None:
        return [say(ctx.t("calendar.already_gone"), ctx.choice("calendar.back", "no"))]
    question = ctx.t("calendar.check_remove", span=span_text(ctx, *span))
    return [say(question, ctx.choice("calendar.yes", "yes"), ctx.choice("calendar.keep", "no"))]


async def take_remove_ok(ctx: Context) -> list[Reply]:
    """Yes: remove it (and record who did); no: back to the calendar, nothing changed."""
    cluster_id, key = ctx.data["cluster_id"], ctx.data["span"]
    if ctx.msg.button == "no":
        return [say(ctx.t("calendar.kept")), *await open_calendar(ctx, cluster_id)]
    if ctx.msg.button != "yes":
        return [say(ctx.t("errors.use_buttons"))]
    span = (await spans_of(ctx)).get(key)
    kind, _, span_id = key.partition(":")
    if span is None or not await remove_span(
        ctx.session, cluster_id=cluster_id, kind=kind, span_id=int(span_id)
    ):
        return [say(ctx.t("calendar.already_gone")), *await open_calendar(ctx, cluster_id)]
    await audit(
        ctx.session,
        person_id=ctx.person.id,
        action=f"calendar.{kind}_removed",
        target=key,
        detail={"name": span[0], "first": span[1].isoformat(), "last": span[2].isoformat()},
    )
    done = say(ctx.t("calendar.removed", span=span_text(ctx, *span)))
    return [done, *await open_calendar(ctx, cluster_id)]
