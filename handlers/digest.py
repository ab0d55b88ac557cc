"""/digest: a digest of the cluster's diary on demand, in its hub or in a private chat.

In a linked hub chat only the cluster's coordinators may ask; anyone else is told so privately
(or in the hub when the bot has no private chat with them) and nothing is posted. In private, a
coordinator gets their cluster's digest (choosing the cluster first when they coordinate
several) in their own language, and a school lead their own school's. The period is optional:
"30d", "4 weeks", "since 1 September" in the person's language; by default it runs from that
chat's last digest, or covers the last 30 days.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.digest_plan import LAST
from bot.messages import Button, ChatKind, Reply
from handlers.context import Context, privately, say
from handlers.dates import parse_day
from handlers.digest_text import digest_replies
from handlers.meeting_changes import coordinated
from handlers.steps import Step, StepFlow
from prompts import Translator
from storage.channel_values import get_channel_value, set_channel_value
from storage.clusters import hub_at
from storage.models import Cluster, RoleName

FLOW = "digest"
DEFAULT = timedelta(days=30)
LONGEST = timedelta(days=731)
AMOUNT = re.compile(r"(\d{1,4})\s*(\w*)")


class PeriodError(ValueError):
    """The period could not be read; `key` names the string that says why."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def parse_period(text: str, t: Translator, now: datetime, zone: str) -> datetime | None:
    """When a typed period starts: "30d", "4 weeks", "since 1 September"; None when empty.

    Raises:
        PeriodError: the text is no period, or one starting in the future or too long ago.
    """
    text = " ".join(text.split()).casefold()
    if not text:
        return None
    amount = AMOUNT.fullmatch(text)
    if amount is not None:
        count, unit = int(amount[1]), amount[2]
        units = {"": 1} | {w: 1 for w in t.raw("digest.day_words")}
        units |= {w: 7 for w in t.raw("digest.week_words")}
        if unit not in units or count == 0:
            raise PeriodError("digest.bad_period")
        start = now - timedelta(days=count * units[unit])
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
        return await _private(ctx, next(iter(clusters.values())), ctx.msg.argument)
    led = [m for m in await ctx.memberships() if m.role == RoleName.SCHOOL_LEAD and m.school]
    if led:
        school = led[0].school
        assert school is not None
        return await _private(ctx, led[0].cluster, ctx.msg.argument, school_id=school.id)
    return [say(ctx.t("digest.not_allowed"))]


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


async def _private(
    ctx: Context, cluster: Cluster, period: str, *, school_id: int | None = None
) -> list[Reply]:
    return await _digest(ctx, cluster, period, ctx.t, school_id=school_id)


async def _digest(
    ctx: Context, cluster: Cluster, period: str, t: Translator, *, school_id: int | None = None
) -> list[Reply]:
    chat_key = ctx.msg.chat.key
    try:
        since = parse_period(period, ctx.t, ctx.now, cluster.timezone)
    except PeriodError as bad:
        return [privately(ctx, say(ctx.t(bad.key, example=ctx.t("digest.example"))))]
    if since is None:
        last = await get_channel_value(ctx.session, platform=LAST, key=chat_key)
        since = datetime.fromisoformat(last) if last else ctx.now - DEFAULT
    _, replies = await digest_replies(
        ctx.session, t, cluster, since=since, now=ctx.now, school_id=school_id
    )
    await set_channel_value(ctx.session, platform=LAST, key=chat_key, value=ctx.now.isoformat())
    return replies


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
    return await _private(ctx, cluster, period)


STEPS = {"cluster": Step(ask_cluster, take_cluster)}
flow = StepFlow(FLOW, STEPS, lost="digest.not_allowed")
