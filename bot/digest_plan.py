"""The weekly digest in a cluster's hub chats: when it is due, and what it says when it goes.

Each cluster names a weekday and a local time (`digest_day`, `digest_time`; day 0 means no
automatic digest). Planning adds one `digest` row per hub chat for this week's moment, keyed by
that moment, so a changed setting plans a new row and delivery skips the old one. The digest is
written when the row is sent, so it covers everything up to that moment: from that chat's last
digest (on demand or automatic), or the past week. A week in which nothing was added posts
nothing. The coordinator chose the moment, so it is not held back by working hours.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.messages import ChatRef, Reply
from bot.rhythm import Calendar, parse_clock
from handlers.digest_text import digest_replies
from prompts import Translator
from storage.channel_values import get_channel_value, set_channel_value
from storage.clusters import hub_chats_of
from storage.db import Database
from storage.models import Cluster, Reminder

WEEK = timedelta(days=7)
# A weekly digest that could not go within a day (the bot was down) is not posted late.
STALE = timedelta(days=1)
LAST = "digest"  # channel values: the moment each chat's last digest ran up to, by chat key


def this_weeks(calendar: Calendar, cluster: Cluster, now: datetime) -> datetime | None:
    """This ISO week's digest moment of the cluster, or None when it has no automatic digest."""
    if not 1 <= cluster.digest_day <= 7:
        return None
    local = calendar.local(now).date()
    day = local + timedelta(days=cluster.digest_day - local.isoweekday())
    return calendar.at(day, parse_clock(cluster.digest_time))


async def digest_rows(
    session: AsyncSession, calendar: Calendar, cluster: Cluster, now: datetime
) -> list[dict[str, Any]]:
    """This week's digest row for each hub chat, unless its moment is more than a day past."""
    due = this_weeks(calendar, cluster, now)
    if due is None or now >= due + STALE:
        return []
    topic = f"digest:{cluster.id}:{due.isoformat()}"
    return [
        {
            "kind": "digest",
            "cluster_id": cluster.id,
            "topic": topic,
            "key": f"{topic}:hub:{hub.id}",
            "due_at": due,
            "expires_at": due + STALE,
            "payload": {"hub": hub.id, "at": due.isoformat()},
            "status": "planned",
            "outcome": "",
            "created_at": now,
        }
        for hub in await hub_chats_of(session, cluster_id=cluster.id or 0)
    ]


def moved_on(row: Reminder, calendar: Calendar, cluster: Cluster) -> bool:
    """Whether the cluster's digest moment changed since the row was planned."""
    due = this_weeks(calendar, cluster, row.due_at)
    return due is None or row.payload.get("at") != due.isoformat()


async def written(
    session: AsyncSession, cluster: Cluster, chat: ChatRef, *, language: str, now: datetime
) -> list[Reply]:
    """The digest for a hub chat since its last one; empty when nothing was added since."""
    last = await get_channel_value(session, platform=LAST, key=chat.key)
    since = datetime.fromisoformat(last) if last else now - WEEK
    t = Translator(cluster.language or language)
    digest, replies = await digest_replies(session, t, cluster, since=since, now=now)
    return replies if digest.contributions else []


async def remember(db: Database, chat: ChatRef, now: datetime) -> None:
    """Record that the chat's digest now runs up to `now` (the next one starts there)."""
    async with db.session() as session:
        await set_channel_value(session, platform=LAST, key=chat.key, value=now.isoformat())
