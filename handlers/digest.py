"""/digest: a digest of the cluster's diary on demand, in its hub or in a private chat.

In a linked hub chat only the cluster's coordinators may ask; anyone else is told so privately
(or in the hub when the bot has no private chat with them) and nothing is posted. In private, a
coordinator gets their cluster's digest (choosing the cluster first when they coordinate
several) in their own language, and the lead of a mentee school their own school's. The period
is optional: "30d", "4 weeks", "since 1 September", "1 September", in the person's language; by
default it runs from the last digest of that cluster (or school) in that chat, or covers the
last 30 days. The chart is drawn once the message's transaction is committed.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.messages import Button, ChatKind, Reply
from handlers.context import Context, privately, say
from handlers.dates import parse_day
from handlers.digest_text import chart_reply, written
from handlers.meeting_changes import coordinated
from handlers.steps import Step, StepFlow
from prompts import Translator
from storage.clusters import hub_at
from storage.digests import ON_DEMAND, digest_start, mark_digest
from storage.models import Cluster, RoleName, SchoolKind

FLOW = "digest"
LONGEST = timedelta(days=731)
AMOUNT = re.compile(r"(\d{1,4})\s*(\w*)")


class PeriodError(ValueError):
    """The period could not be read; `key` names the string that says why."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _length(text: str, t: Translator) -> timedelta | None:
    """How long a period like "30d" or "4 weeks" is; None when it is not a number and a unit."""
    amount = AMOUNT.fullmatch(text)
    if amount is None:
        return None
    units = {"": 1} | {w: 1 for w in t.raw("digest.day_words")}
    units |= {w: 7 for w in t.raw("digest.week_words")}
    if amount[2] not in units:
        return None  # "1 September": a day, read below
    return timedelta(days=int(amount[1]) * units[amount[2]])


def parse_period(text: str, t: Translator, now: datetime, zone: str) -> datetime | None:
    """When a typed period starts: "30d", "4 weeks", "since 1 September"; None when empty.

    Raises:
        PeriodError: the text is no period, or one starting in the future or too long ago.
    """
    text = " ".join(text.split()).casefold()
    if not text:
        return None
    length = _length(text, t)
    if length is not None:
        if not length:
            raise PeriodError("digest.bad_period")
        start = now - length
    else:
        words = sorted(t.raw("digest.since_words"), key=len, reverse=True)
        rest = next((text[len(w) :] for w in words if text.startswith(f"{w} ")), text)
        local_today = now.astimezone(ZoneInfo(zone)).date()
        day = parse_day(rest.strip(), t.language, local_today, past=True)
        if day is None:
            raise PeriodError("digest.bad_period")
        start = datetime.combine(day, time(0), ZoneInfo(zone))
    if start >= now:
        raise PeriodError("digest.future_period")
    if now - start > LONGEST:
        raise PeriodError("digest.long_period")
    return start


async def command(ctx: Context) -> list[Reply]:
    """/digest [period]: in a hub, its cluster's; in private, the person's cluster or school."""
    if ctx.msg.chat.kind == ChatKind.GROUP:
        return await _in_hub(ctx)
    clusters = await coordinated(ctx)
    if len(clusters) > 1:
        ctx.goto(FLOW, "cluster", period=ctx.msg.argument)
        return await flow.ask(ctx)
    if clusters:
        return await _digest(ctx, next(iter(clusters.values())), ctx.msg.argument, ctx.t)
    led = [
        m
        for m in await ctx.memberships()
        if m.role == RoleName.SCHOOL_LEAD and m.school and m.school.kind == SchoolKind.MENTEE
    ]
    if not led:
        return [say(ctx.t("digest.not_allowed"))]
    school = led[0].school  # a lead of several mentee schools: the one they joined first
    assert school is not None
    return await _digest(ctx, led[0].cluster, ctx.msg.argument, ctx.t, school_id=school.id)


async def _in_hub(ctx: Context) -> list[Reply]:
    chat = ctx.msg.chat
    hub = await hub_at(ctx.session, platform=chat.platform, chat_id=chat.chat_id)
    if hub is None:
        return [privately(ctx, say(ctx.t("digest.not_a_hub")))]
    cluster = (await coordinated(ctx)).get(hub.cluster_id)
    if cluster is None:
        return [privately(ctx, say(ctx.t("digest.coordinators_only")))]
    # The hub reads the cluster's language, whoever asked; the period is read in theirs.
    return await _digest(ctx, cluster, ctx.msg.argument, Translator(cluster.language))


async def _digest(
    ctx: Context, cluster: Cluster, period: str, t: Translator, *, school_id: int | None = None
) -> list[Reply]:
    assert cluster.id is not None
    try:
        since = parse_period(period, ctx.t, ctx.now, cluster.timezone)
    except PeriodError as bad:
        return [privately(ctx, say(ctx.t(bad.key, example=ctx.t("digest.example"))))]
    mark = {"chat_key": ctx.msg.chat.key, "cluster_id": cluster.id, "school_id": school_id}
    if since is None:
        since = await digest_start(ctx.session, now=ctx.now, default=ON_DEMAND, **mark)
    digest = await written(ctx.session, t, cluster, since=since, now=ctx.now, school_id=school_id)
    await mark_digest(ctx.session, until=ctx.now, **mark)
    chart = digest.chart
    if chart is not None:

        async def drawn() -> list[Reply]:
            return [await chart_reply(chart)]

        ctx.after_commit(drawn)
    return digest.replies


async def ask_cluster(ctx: Context) -> list[Reply]:
    """Which of the clusters they coordinate?"""
    buttons = [Button(c.name, str(i)) for i, c in (await coordinated(ctx)).items()]
    return [say(ctx.t("digest.which_cluster"), *buttons)]


async def take_cluster(ctx: Context) -> list[Reply]:
    """The digest of the chosen cluster."""
    cluster = {str(i): c for i, c in (await coordinated(ctx)).items()}.get(ctx.msg.button or "")
    if cluster is None:
        return [say(ctx.t("errors.use_buttons"))]
    period = ctx.data.get("period", "")
    ctx.finish()
    return await _digest(ctx, cluster, period, ctx.t)


STEPS = {"cluster": Step(ask_cluster, take_cluster)}
flow = StepFlow(FLOW, STEPS, lost="digest.not_allowed")
