"""A digest in words and as a chart: what `/digest`, the weekly post and `diarybot digest` say.

The text goes school by school: the confirmed focus, what was added per section with a line of
each contribution and its author (or "anonymous"), the evidence by kind, voice-note transcripts,
and a kind word for a school that has been quiet for the nudge period; then the next meeting with
its answers, and how to add to the diary. It is split into messages only between schools, so no
school's part is cut in two. The chart shows the current term's contributions per school and
section (`bot.digest_chart`), drawn in a worker thread once the database is let go.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.digest_chart import ChartData, draw_chart
from bot.messages import Button, Reply
from handlers.dates import say_day, say_moment
from handlers.meeting_text import tally_text
from handlers.sections import QUESTIONS
from prompts import Translator
from storage.calendar import terms_and_holidays
from storage.digests import Digest, SchoolDigest, digest_of, section_counts
from storage.models import Cluster, Section

MESSAGE_LIMIT = 3500  # characters per message: under Telegram's 4096 and easy to read
TERMLESS = timedelta(days=90)  # the chart's period when the cluster has no current term


def _local(moment: datetime, cluster: Cluster) -> date:
    return moment.astimezone(ZoneInfo(cluster.timezone)).date()


def _school_part(t: Translator, part: SchoolDigest, now: datetime, nudge_days: int) -> str:
    lines = [f"🏫 {part.school.name}"]
    focus = part.focus or t("digest.no_focus")
    lines.append(t("digest.focus", focus=focus))
    if not part.added:
        # Said kindly and without a count of days: the hub reads it, not only coordinators.
        quiet = part.idle_days(now) >= nudge_days
        lines.append(t("digest.quiet") if quiet else t("digest.nothing_new"))
        return "\n".join(lines)
    counts = " · ".join(f"{t(f'sections.{s}')} {part.added[s]}" for s in Section if part.added[s])
    lines.append(t("digest.added", counts=counts))
    for c in part.contributions:
        if c.pseudonym:
            author = t("privacy.pseudonym", code=c.pseudonym)
        else:
            author = c.author or t("digest.anonymous")
        lines.append(f"• {t(f'sections.{c.section}')} — {author}: “{c.excerpt}”")
    hidden = part.added.total() - len(part.contributions)
    if hidden > 0:
        lines.append(t("digest.more", count=hidden))
    if part.evidence:
        kinds = " · ".join(f"{t(f'digest.kind.{k}')} {n}" for k, n in sorted(part.evidence.items()))
        lines.append(t("digest.evidence", kinds=kinds))
    lines += [f"🎙 “{text}”" for text in part.transcripts]
    return "\n".join(lines)


def digest_texts(t: Translator, digest: Digest, *, now: datetime) -> list[str]:
    """The digest's messages, split between schools when it is long."""
    cluster = digest.cluster
    first = say_day(_local(digest.since, cluster), t.language)
    last = say_day(_local(digest.until, cluster), t.language)
    head = t("digest.header", cluster=cluster.name, first=first, last=last)
    head += "\n" + t("digest.total", count=digest.contributions)
    parts = [head]
    parts += [_school_part(t, s, now, cluster.nudge_after_days) for s in digest.schools]
    tail = []
    if digest.meeting is not None:
        when = say_moment(digest.meeting.scheduled_at, cluster.timezone, t.language)
        tail.append(t("digest.meeting", when=when, tally=tally_text(t, digest.tally)))
    tail.append(t("digest.add"))
    parts.append("\n".join(tail))
    return _packed(parts)


def _packed(parts: Sequence[str]) -> list[str]:
    """Join parts into messages of at most MESSAGE_LIMIT characters, never splitting a part."""
    messages: list[str] = []
    for part in parts:
        if messages and len(messages[-1]) + 2 + len(part) <= MESSAGE_LIMIT:
            messages[-1] += f"\n\n{part}"
        else:
            messages.append(part)  # a part longer than the limit goes alone; the channel splits it
    return messages


async def chart_data(
    session: AsyncSession, t: Translator, digest: Digest, *, now: datetime
) -> ChartData:
    """The current term's contributions per school and section (the last 90 days without one)."""
    cluster = digest.cluster
    today = _local(now, cluster)
    terms, _ = await terms_and_holidays(session, cluster_id=cluster.id or 0)
    term = next((x for x in terms if x.first_day <= today <= x.last_day), None)
    if term is not None:
        since = datetime.combine(term.first_day, datetime.min.time(), ZoneInfo(cluster.timezone))
        title = t("digest.chart_term", term=term.name)
    else:
        since, title = now - TERMLESS, t("digest.chart_recent")
    ids = [s.school.id for s in digest.schools if s.school.id is not None]
    counts = await section_counts(session, school_ids=ids, since=since, until=now)
    rows = tuple(tuple(counts[i][s] for s in Section) for i in ids)
    return ChartData(
        title=title,
        schools=tuple(s.school.name for s in digest.schools),
        sections=tuple(t(f"sections.{s}") for s in Section),
        counts=rows,
        caption_total=t("digest.chart_total", count=sum(map(sum, rows))),
    )


@dataclass(frozen=True)
class Written:
    """A digest in words, and the data of its chart (drawn later, outside any transaction)."""

    digest: Digest
    replies: list[Reply]
    chart: ChartData | None


async def written(
    session: AsyncSession,
    t: Translator,
    cluster: Cluster,
    *,
    since: datetime,
    now: datetime,
    school_id: int | None = None,
) -> Written:
    """The digest of [since, now) as messages (marked as notices), and its chart's data.

    Only reading happens here; drawing the chart takes a tenth of a second or more and is left
    to `chart_reply`, after the session is closed, so no chat waits for the database meanwhile.
    """
    digest = await digest_of(
        session, cluster=cluster, since=since, until=now, questions=QUESTIONS, school_id=school_id
    )
    replies = [Reply(text, notice=True) for text in digest_texts(t, digest, now=now)]
    # One tap to add to the diary (in a hub, a link to the private chat on Telegram).
    add = Button(t("reminders.add_button"), "/add", private=True)
    replies[-1] = replace(replies[-1], buttons=(add,))
    data = await chart_data(session, t, digest, now=now) if digest.schools else None
    return Written(digest, replies, data)


async def chart_reply(data: ChartData) -> Reply:
    """The chart as a photo with its caption, drawn in a worker thread."""
    png = await asyncio.to_thread(draw_chart, data)
    return Reply(f"{data.title}\n{data.caption_total}", photo=png, notice=True)
