"""The weekly digest in a cluster's hub chats: when it is due, and what it says when it goes.

Each cluster names a weekday and a local time (`digest_day`, `digest_time`; day 0 means no
automatic digest). Planning adds one `digest` row per hub chat and ISO week, so a week has one
digest however its setting changes: a row still waiting is moved to the new moment, one already
sent stays the week's digest. The digest is written when the row is sent, so it covers
everything up to that moment: from that chat's last digest of the cluster (on demand or
weekly), or the past week. A week in which nothing was added posts nothing. The coordinators
chose the moment, so working hours do not hold it back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.messages import ChatRef, Reply
from bot.rhythm import Calendar, parse_clock
from handlers.digest_text import chart_reply, written
from prompts import Translator
from storage.clusters import hub_chats_of
from storage.db import Database
from storage.digests import WEEKLY, digest_start, mark_digest
from storage.models import Cluster
from storage.reminders import move_planned

# A weekly digest that could not go within a day (the bot was down) is not posted late.
STALE = timedelta(days=1)


def weekly(cluster: Cluster) -> bool:
    """Whether the cluster has an automatic weekly digest."""
    return 1 <= cluster.digest_day <= 7


def this_weeks(calendar: Calendar, cluster: Cluster, now: datetime) -> datetime | None:
    """This ISO week's digest moment of the cluster, or None when it has no automatic digest."""
    if not weekly(cluster):
        return None
    local = calendar.local(now).date()
    day = local + timedelta(days=cluster.digest_day - local.isoweekday())
    return calendar.at(day, parse_clock(cluster.digest_time))


async def digest_rows(
    session: AsyncSession, calendar: Calendar, cluster: Cluster, now: datetime
) -> list[dict[str, Any]]:
    """This week's digest row for each hub chat (a waiting one moved to the current setting)."""
    due = this_weeks(calendar, cluster, now)
    if due is None or now >= due + STALE:
        return []
    year, week, _ = calendar.local(due).isocalendar()
    topic = f"digest:{cluster.id}:{year}-W{week:02d}"
    rows = []
    for hub in await hub_chats_of(session, cluster_id=cluster.id or 0):
        key = f"{topic}:hub:{hub.id}"
        await move_planned(session, key=key, due_at=due, expires_at=due + STALE)
        rows.append(
            {
                "kind": "digest",
                "cluster_id": cluster.id,
                "topic": topic,
                "key": key,
                "due_at": due,
                "expires_at": due + STALE,
                "payload": {"hub": hub.id},
                "status": "planned",
                "outcome": "",
                "created_at": now,
            }
        )
    return rows


MoreMessages = Callable[[], Awaitable[tuple[tuple[ChatRef, Reply], ...]]]


async def write(
    session: AsyncSession, cluster: Cluster, chat: ChatRef, *, language: str, now: datetime
) -> tuple[list[Reply], MoreMessages | None]:
    """The digest for a hub chat since its last one, and what draws its chart afterwards.

    Empty when nothing was added since: a week without news posts nothing.
    """
    assert cluster.id is not None
    since = await digest_start(
        session, chat_key=chat.key, cluster_id=cluster.id, school_id=None, now=now, default=WEEKLY
    )
    t = Translator(cluster.language or language)
    digest = await written(session, t, cluster, since=since, now=now)
    if not digest.digest.contributions:
        return [], None
    chart = digest.chart
    if chart is None:
        return digest.replies, None

    async def drawn() -> tuple[tuple[ChatRef, Reply], ...]:
        return ((chat, await chart_reply(chart)),)

    return digest.replies, drawn


async def remember(db: Database, cluster: Cluster, chat: ChatRef, now: datetime) -> None:
    """Record that the chat's digest of the cluster now runs up to `now`."""
    async with db.session() as session:
        await mark_digest(
            session, chat_key=chat.key, cluster_id=cluster.id or 0, school_id=None, until=now
        )
