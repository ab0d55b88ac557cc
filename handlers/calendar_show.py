"""What /calendar shows and who may change it: the calendar flow's reading side.

A cluster's calendar is shown with every date in words and its weekday, in the reader's
language; the coming input points are those of the reader's school (its own timetable when it
has one) or, for coordinators, the cluster's. `open_calendar` is where the flow starts and where
it returns after every change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from babel.dates import get_day_names

from bot.messages import Reply
from bot.rhythm import SEARCH_DAYS, Calendar, input_points
from handlers.context import Context, say
from handlers.dates import locale_of, say_day
from storage.calendar import calendar_of, zone_of
from storage.clusters import schools_of
from storage.models import Cluster, RoleName, School

FLOW = "calendar"
UPCOMING = 4  # how many coming input points are listed


@dataclass(frozen=True)
class Access:
    """What one person may see and change in one cluster's calendar."""

    cluster: Cluster | None = None
    coordinator: bool = False
    led: tuple[int, ...] = ()  # the schools they lead
    school: School | None = None  # the school whose input points they see
    schools: dict[int, School] = field(default_factory=dict)  # every school of the cluster

    @property
    def may_change(self) -> bool:
        """Whether any change to this calendar is theirs to make."""
        return self.coordinator or bool(self.led)

    def permits(self, action: str | None, school_id: int | None) -> bool:
        """Whether they may take `action` (for `school_id`, when setting input points)."""
        if action == "menu":
            return self.may_change
        if action in ("term", "holiday", "remove", "digest"):
            return self.coordinator
        if action == "points":
            if school_id is None:
                return self.coordinator
            return school_id in self.schools and (self.coordinator or school_id in self.led)
        return False


async def clusters_of(ctx: Context) -> dict[int, Cluster]:
    """The clusters the person holds a role in, by id, oldest role first."""
    return {m.cluster.id: m.cluster for m in await ctx.memberships() if m.cluster.id is not None}


async def access_to(ctx: Context, cluster_id: object) -> Access:
    """The person's access to a cluster's calendar (none for a cluster that is not theirs)."""
    mine = [m for m in await ctx.memberships() if m.cluster.id == cluster_id]
    if not mine:
        return Access()
    cluster = mine[0].cluster
    assert cluster.id is not None
    coordinator = any(m.is_coordinator for m in mine)
    led = tuple(
        m.school.id for m in mine if m.role == RoleName.SCHOOL_LEAD and m.school and m.school.id
    )
    school = None if coordinator else next((m.school for m in mine if m.school is not None), None)
    schools = {s.id: s for s in await schools_of(ctx.session, cluster_id=cluster.id) if s.id}
    return Access(cluster, coordinator, led, school, schools)


def today_in(ctx: Context, cluster: Cluster) -> date:
    """Today in the cluster's time zone, from the clock the context carries (never the wall)."""
    return ctx.now.astimezone(zone_of(cluster)).date()


def _weekdays(days: frozenset[int], language: str) -> str:
    """ISO weekdays as names, runs of three or more joined: "Monday – Friday, Sunday"."""
    names = get_day_names("wide", locale=locale_of(language))
    runs: list[list[int]] = []
    for day in sorted(days):
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{names[run[0] - 1]} – {names[run[-1] - 1]}")
        else:
            parts.extend(names[day - 1] for day in run)
    return ", ".join(parts)


def span_text(ctx: Context, name: str, first: date, last: date) -> str:
    """A term or holiday in one line, both days in words."""
    language = ctx.t.language
    return ctx.t(
        "calendar.span", name=name, first=say_day(first, language), last=say_day(last, language)
    )


def _source(ctx: Context, calendar: Calendar, school: School | None) -> str:
    if school is not None and calendar.school_points.get(school.id):  # type: ignore[arg-type]
        return ctx.t("calendar.source_school")
    if calendar.cluster_points:
        return ctx.t("calendar.source_hand")
    if calendar.terms:
        return ctx.t("calendar.source_terms")
    return ctx.t("calendar.source_rhythm", weeks=calendar.rhythm_weeks)


def digest_line(ctx: Context, cluster: Cluster) -> str:
    """The weekly digest's moment, e.g. "Weekly digest in the hub: Friday, 15:00", or none."""
    if not 1 <= cluster.digest_day <= 7:
        return ctx.t("calendar.digest_none")
    day = get_day_names("wide", locale=locale_of(ctx.t.language))[cluster.digest_day - 1]
    return ctx.t("calendar.digest", day=day, time=cluster.digest_time)


async def render(ctx: Context, access: Access) -> str:
    """The cluster's calendar as the person should see it."""
    cluster, school = access.cluster, access.school
    assert cluster is not None and cluster.id is not None
    calendar = await calendar_of(ctx.session, cluster)
    language, today = ctx.t.language, today_in(ctx, cluster)
    clock = "{:%H:%M}"
    lines = [
        ctx.t("calendar.header", cluster=cluster.name),
        ctx.t("calendar.timezone", zone=str(calendar.timezone)),
        ctx.t(
            "calendar.hours",
            days=_weekdays(calendar.work_days, language),
            start=clock.format(calendar.work_start),
            end=clock.format(calendar.work_end),
        ),
        digest_line(ctx, cluster),
        "",
        ctx.t("calendar.terms"),
        *(
            [f"• {span_text(ctx, t.name, t.first, t.last)}" for t in calendar.terms]
            or [ctx.t("calendar.none")]
        ),
        "",
        ctx.t("calendar.holidays"),
        *(
            [f"• {span_text(ctx, h.name, h.first, h.last)}" for h in calendar.holidays]
            or [ctx.t("calendar.none")]
        ),
        "",
    ]
    school_id = school.id if school is not None else None
    horizon = today + timedelta(days=SEARCH_DAYS)
    coming = [d for d in input_points(calendar, until=horizon, school_id=school_id) if d >= today]
    source = _source(ctx, calendar, school)
    if school is not None:
        lines.append(ctx.t("calendar.points_school", school=school.name, source=source))
    else:
        lines.append(ctx.t("calendar.points_cluster", source=source))
    lines += [f"• {say_day(d, language)}" for d in coming[:UPCOMING]] or [ctx.t("calendar.none")]
    own = [access.schools[i].name for i in calendar.school_points if i in access.schools]
    if school is None and own:
        lines.append(ctx.t("calendar.own_timetables", schools=", ".join(sorted(own))))
    return "\n".join(lines)


async def open_calendar(ctx: Context, cluster_id: int) -> list[Reply]:
    """Show the calendar: people who may change it go to the menu step, others just read it.

    Returns what to say before the current step's question (the calendar itself for readers;
    the menu question shows it to the others).
    """
    access = await access_to(ctx, cluster_id)
    ctx.finish()
    if not access.may_change:
        return [say(await render(ctx, access))]
    ctx.goto(FLOW, "menu", cluster_id=cluster_id)
    return []


def check(ctx: Context, question: str, no_key: str = "calendar.retype", **values: object) -> Reply:
    """A yes/no question about what the person typed; the answers come back as yes and no."""
    yes, no = ctx.choice("calendar.yes", "yes"), ctx.choice(no_key, "no")
    return say(ctx.t(question, **values), yes, no)
