"""/meeting: a coordinator schedules a cluster meeting, by conversation or in one line.

The conversation asks when (typed in the person's language and said back in words, with the
weekday and the cluster's time zone, before anything is saved), where (an address, a school or a
video link), the agenda (optional) and which schools are invited (all by default), then shows
the whole meeting once more with "Announce". In a hurry, one line does it:
`/meeting 2027-01-20 15:00 Escola Básica X | agenda` goes straight to that last check.

The same when/place/agenda steps change an existing meeting from /meetings (`meeting_id` in the
draft): there, confirming saves the change and tells everyone who answered.

The flow is the table `STEPS`: each row a step's question and what takes its answer. A `take_*`
returns what to say first; `handle` then asks the question of the step the person is now at.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.messages import Button, Reply
from handlers import meeting_edit as edit
from handlers.context import Context, say
from handlers.dates import parse_moment, say_moment, wall_clock
from handlers.meeting_changes import FLOW, coordinated, tell
from handlers.meeting_text import details
from handlers.steps import Gone, Step, StepFlow
from storage.clusters import schools_of
from storage.meetings import AGENDA_LIMIT, PLACE_LIMIT, create_meeting
from storage.models import Cluster, Meeting, School

LENGTH = timedelta(hours=2)  # a meeting's default length: its notes are asked for at its end


async def command(ctx: Context) -> list[Reply]:
    """/meeting [when place | agenda]: schedule a meeting of a cluster the person coordinates."""
    clusters = await coordinated(ctx)
    if not clusters:
        return [say(ctx.t("meetings.coordinators_only"))]
    ctx.finish()  # a new meeting: nothing of an earlier /meetings change carries over
    if len(clusters) > 1:  # the one line, if given, is read once the cluster is chosen
        ctx.goto(FLOW, "cluster", line=ctx.msg.argument)
        return await ask(ctx)
    ctx.goto(FLOW, "when", cluster_id=next(iter(clusters)))
    said = await _one_line(ctx, ctx.msg.argument) if ctx.msg.argument else []
    return [*said, *await ask(ctx)]


async def _one_line(ctx: Context, text: str) -> list[Reply]:
    """Read "when place | agenda" into the draft and go to the last check; or say what failed."""
    when, _, agenda = text.partition("|")
    cluster = await _cluster(ctx)
    typed = parse_moment(when, ctx.t.language, _today(ctx, cluster), rest=True)
    if typed is None:
        return [say(ctx.t("meetings.one_line_unreadable", example=ctx.t("meetings.example")))]
    start = wall_clock(typed.day, typed.clock, cluster.timezone)
    refused = _refuse_start(ctx, cluster, start, f"{typed.day} {typed.clock:%H:%M}")
    if refused:
        return refused
    assert start is not None
    ctx.update(
        start=start.isoformat(),
        place=typed.rest[:PLACE_LIMIT],
        agenda=agenda.strip()[:AGENDA_LIMIT],
        invited=[],
    )
    ctx.goto(FLOW, "review")
    return []


async def _cluster(ctx: Context) -> Cluster:
    cluster = (await coordinated(ctx)).get(ctx.data.get("cluster_id"))  # type: ignore[arg-type]
    if cluster is None:
        raise Gone("no longer coordinates the cluster")
    return cluster


async def _schools(ctx: Context) -> list[School]:
    return await schools_of(ctx.session, cluster_id=(await _cluster(ctx)).id or 0)


def _today(ctx: Context, cluster: Cluster) -> date:
    return ctx.now.astimezone(ZoneInfo(cluster.timezone)).date()


def _refuse_start(
    ctx: Context, cluster: Cluster, start: datetime | None, typed: str
) -> list[Reply] | None:
    """Why this start cannot be taken (a time the clocks skip, a moment past), or None."""
    if start is None:
        return [say(ctx.t("meetings.no_such_time", typed=typed, zone=cluster.timezone))]
    if start <= ctx.now:
        said = say_moment(start, cluster.timezone, ctx.t.language)
        return [say(ctx.t("meetings.in_the_past", when=said))]
    return None


def _start(ctx: Context) -> datetime:
    return datetime.fromisoformat(ctx.data["start"])


# --- the steps ------------------------------------------------------------------------------


async def ask_cluster(ctx: Context) -> list[Reply]:
    """Which of the clusters they coordinate?"""
    buttons = [Button(c.name, str(i)) for i, c in (await coordinated(ctx)).items()]
    return [say(ctx.t("meetings.which_cluster"), *buttons)]


async def take_cluster(ctx: Context) -> list[Reply]:
    """Keep the chosen cluster (only one they coordinate)."""
    chosen = {str(i): i for i in await coordinated(ctx)}.get(ctx.msg.button or "")
    if chosen is None:
        return [say(ctx.t("errors.use_buttons"))]
    ctx.goto(FLOW, "when", cluster_id=chosen)
    return await _one_line(ctx, ctx.data["line"]) if ctx.data.get("line") else []


def _asked(ctx: Context, text: str, now: str | None, *buttons: Button) -> list[Reply]:
    """A question, with what the meeting has now and "Keep it" first when it is being changed."""
    if now is None:
        return [say(text, *buttons, expects_text=True)]
    shown = f"{text}\n\n{ctx.t('meetings.now', value=now or '—')}"
    return [say(shown, ctx.choice("meetings.keep", "keep"), *buttons, expects_text=True)]


async def ask_when(ctx: Context) -> list[Reply]:
    """When: a day and a time, typed."""
    cluster = await _cluster(ctx)
    text = ctx.t("meetings.ask_when", example=ctx.t("meetings.example_when"), zone=cluster.timezone)
    meeting = await edit.changing(ctx)
    now = say_moment(meeting.scheduled_at, cluster.timezone, ctx.t.language) if meeting else None
    return _asked(ctx, text, now)


async def take_when(ctx: Context) -> list[Reply]:
    """Read the day and time, and ask whether that is the moment meant (said in words)."""
    if ctx.msg.button == "keep" and await edit.changing(ctx):
        return edit.kept(ctx)
    ctx.goto(FLOW, "when")
    text = ctx.msg.text.strip()
    if ctx.msg.button is not None or not text:
        return [say(ctx.t("errors.empty"))]
    cluster = await _cluster(ctx)
    typed = parse_moment(text, ctx.t.language, _today(ctx, cluster))
    if typed is None:
        return [say(ctx.t("meetings.unreadable", text=text[:80]))]
    start = wall_clock(typed.day, typed.clock, cluster.timezone)
    refused = _refuse_start(ctx, cluster, start, text[:80])
    if refused:
        return refused
    assert start is not None
    ctx.goto(FLOW, "when_ok", typed=start.isoformat())
    return []


async def ask_when_ok(ctx: Context) -> list[Reply]:
    """The moment in words, with weekday and time zone: right?"""
    cluster = await _cluster(ctx)
    said = say_moment(datetime.fromisoformat(ctx.data["typed"]), cluster.timezone, ctx.t.language)
    yes, no = ctx.choice("calendar.yes", "yes"), ctx.choice("calendar.retype", "no")
    return [say(ctx.t("meetings.check_when", when=said), yes, no)]


async def take_when_ok(ctx: Context) -> list[Reply]:
    """Yes: keep it (or move the meeting); no: type it again; a new moment typed: read that."""
    if ctx.msg.button == "no":
        ctx.goto(FLOW, "when")
        return []
    if ctx.msg.button != "yes":
        return await take_when(ctx)
    if ctx.data.get("meeting_id"):
        return await edit.save_change(ctx, start=datetime.fromisoformat(ctx.data["typed"]))
    ctx.goto(FLOW, "review" if ctx.data.get("reviewed") else "place", start=ctx.data["typed"])
    return []


async def ask_place(ctx: Context) -> list[Reply]:
    """Where: an address, a school, or a video link; the cluster's schools are shortcuts."""
    buttons = [Button(s.name[:60], f"school:{s.id}") for s in await _schools(ctx)]
    meeting = await edit.changing(ctx)
    return _asked(ctx, ctx.t("meetings.ask_place"), meeting and meeting.place, *buttons)


async def take_place(ctx: Context) -> list[Reply]:
    """Keep the place (typed, or a school picked)."""
    if ctx.msg.button == "keep" and await edit.changing(ctx):
        return edit.kept(ctx)
    place = " ".join(ctx.msg.text.split())
    if ctx.msg.button is not None:
        cluster = await _cluster(ctx)
        schools = {
            f"school:{s.id}": s.name
            for s in await schools_of(ctx.session, cluster_id=cluster.id or 0)
        }
        place = schools.get(ctx.msg.button, "")
    if not place:
        return [say(ctx.t("errors.empty"))]
    if len(place) > PLACE_LIMIT:
        return [say(ctx.t("meetings.too_long", limit=PLACE_LIMIT))]
    if ctx.data.get("meeting_id"):
        return await edit.save_change(ctx, place=place)
    ctx.goto(FLOW, "review" if ctx.data.get("reviewed") else "agenda", place=place)
    return []


async def ask_agenda(ctx: Context) -> list[Reply]:
    """The agenda, optional (when changing one: keep it, or none any more)."""
    meeting = await edit.changing(ctx)
    if meeting is None:
        skip = ctx.choice("entry.skip", "skip")
        return [say(ctx.t("meetings.ask_agenda"), skip, expects_text=True)]
    none = ctx.choice("meetings.no_agenda", "skip")
    return _asked(ctx, ctx.t("meetings.ask_agenda"), meeting.agenda, none)


async def take_agenda(ctx: Context) -> list[Reply]:
    """Keep the agenda (or none)."""
    if ctx.msg.button == "keep" and await edit.changing(ctx):
        return edit.kept(ctx)
    agenda = "" if ctx.msg.button == "skip" else ctx.msg.text.strip()
    if ctx.msg.button not in (None, "skip") or (ctx.msg.button is None and not agenda):
        return [say(ctx.t("errors.empty"))]
    if len(agenda) > AGENDA_LIMIT:
        return [say(ctx.t("meetings.too_long", limit=AGENDA_LIMIT))]
    if ctx.data.get("meeting_id"):
        return await edit.save_change(ctx, agenda=agenda)
    ctx.goto(FLOW, "review" if ctx.data.get("reviewed") else "schools", agenda=agenda)
    return []


async def ask_schools(ctx: Context) -> list[Reply]:
    """Who is invited: every school, or the ones ticked (tapping a school ticks or unticks it)."""
    chosen = set(ctx.data.get("invited", []))
    buttons = [ctx.choice("meetings.invite_all", "all")]
    for school in await _schools(ctx):
        mark = "✓ " if school.id in chosen else ""
        buttons.append(Button(f"{mark}{school.name}"[:60], str(school.id)))
    if chosen:
        buttons.append(ctx.choice("meetings.invite_these", "done"))
    return [say(ctx.t("meetings.ask_schools"), *buttons)]


async def take_schools(ctx: Context) -> list[Reply]:
    """All, or tick/untick a school, or done with the ticked ones."""
    choice = ctx.msg.button
    ids = {str(s.id): s.id for s in await _schools(ctx)}
    chosen = set(ctx.data.get("invited", []))
    if choice == "all":
        ctx.goto(FLOW, "review", invited=[])
    elif choice == "done" and chosen:
        ctx.goto(FLOW, "review", invited=sorted(chosen))
    elif choice in ids:
        chosen ^= {ids[choice]}
        ctx.update(invited=sorted(chosen))
    else:
        return [say(ctx.t("errors.use_buttons"))]
    return []


def _draft(ctx: Context, cluster: Cluster) -> Meeting:
    start = _start(ctx)
    return Meeting(
        cluster_id=cluster.id or 0,
        scheduled_at=start,
        ends_at=start + LENGTH,
        place=ctx.data.get("place", ""),
        agenda=ctx.data.get("agenda", ""),
        invited=ctx.data.get("invited", []),
    )


async def ask_review(ctx: Context) -> list[Reply]:
    """The whole meeting once more: announce it, or change a part."""
    cluster = await _cluster(ctx)
    draft = _draft(ctx, cluster)
    chosen = set(draft.invited)
    schools = [
        s.name for s in await schools_of(ctx.session, cluster_id=cluster.id or 0) if s.id in chosen
    ]
    text = f"{ctx.t('meetings.review')}\n\n{details(ctx.t, draft, cluster, schools)}"
    buttons = [
        ctx.choice("meetings.announce", "announce"),
        ctx.choice("meetings.change_when", "when"),
        ctx.choice("meetings.change_place", "place"),
        ctx.choice("meetings.change_agenda", "agenda"),
        ctx.choice("meetings.change_schools", "schools"),
        ctx.choice("meetings.drop", "drop"),
    ]
    return [say(text, *buttons)]


async def take_review(ctx: Context) -> list[Reply]:
    """Announce (save, plan the news and reminders), change a part, or drop the draft."""
    choice = ctx.msg.button
    if choice in ("when", "place", "agenda", "schools"):
        ctx.goto(FLOW, choice, reviewed=True)
        return []
    if choice == "drop":
        ctx.finish()
        return [say(ctx.t("meetings.dropped"))]
    if choice != "announce":
        return [say(ctx.t("errors.use_buttons"))]
    cluster = await _cluster(ctx)
    draft = _draft(ctx, cluster)
    if draft.scheduled_at <= ctx.now:  # the review sat open until the moment passed
        ctx.goto(FLOW, "when")
        said = say_moment(draft.scheduled_at, cluster.timezone, ctx.t.language)
        return [say(ctx.t("meetings.in_the_past", when=said))]
    meeting = await create_meeting(
        ctx.session,
        cluster_id=cluster.id or 0,
        start=draft.scheduled_at,
        end=draft.ends_at,
        place=draft.place,
        agenda=draft.agenda,
        invited=draft.invited,
        person_id=ctx.person.id,
        now=ctx.now,
    )
    await tell(ctx, meeting, cluster, "announced")
    ctx.finish()
    when = say_moment(meeting.scheduled_at, cluster.timezone, ctx.t.language)
    return [say(ctx.t("meetings.announced", when=when))]


STEPS = {
    "cluster": Step(ask_cluster, take_cluster),
    "when": Step(ask_when, take_when),
    "when_ok": Step(ask_when_ok, take_when_ok),
    "place": Step(ask_place, take_place),
    "agenda": Step(ask_agenda, take_agenda),
    "schools": Step(ask_schools, take_schools),
    "review": Step(ask_review, take_review),
    **edit.STEPS,
}

FLOW_STEPS = StepFlow(FLOW, STEPS, lost="meetings.not_yours")
ask, handle = FLOW_STEPS.ask, FLOW_STEPS.handle
