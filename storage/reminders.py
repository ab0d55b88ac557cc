"""Planned messages as rows: planning them once, claiming them once, and recording the outcome.

The exactly-once argument lives here. A row is planned under a unique `key` (what it is about),
so planning twice finds it there. A sender claims due rows with one conditional UPDATE that
sets a lease; on PostgreSQL the candidate rows are also locked with SKIP LOCKED, so two
processes take disjoint rows, and whichever loses a race re-checks the condition and gets
nothing. The claim is committed before anything is sent; a process that dies after claiming
leaves a lease that runs out, and the row is claimed again. The one window left for a
duplicate is between the platform accepting a message and `finish` marking the row sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import insert_for
from storage.models import Reminder, ReminderStatus

# Longer than a send may take, 429 pauses included (the Telegram outbox gives up on a chat
# after 15 minutes): a lease that ran out while its process still sends would let a second
# process send the same row. The price: after a crash, claimed rows wait this long.
LEASE = timedelta(minutes=20)
MAX_PARAMETERS = 32_000


async def plan(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int:
    """Insert the rows whose key is not planned yet; returns how many were new."""
    if not rows:
        return 0
    # One multi-row INSERT needs the same columns in every row: absent ones are NULL.
    columns = sorted({name for row in rows for name in row})
    values = [{name: row.get(name) for name in columns} for row in rows]
    # asyncpg (and stock SQLite builds) take at most 32,767 parameters in one statement.
    per_statement = max(1, MAX_PARAMETERS // len(columns))
    added = 0
    for start in range(0, len(values), per_statement):
        chunk = values[start : start + per_statement]
        statement = insert_for(session)(Reminder).values(chunk)
        result = await session.exec(  # type: ignore[call-overload]
            statement.on_conflict_do_nothing(index_elements=["key"])
        )
        added += max(result.rowcount or 0, 0)
    return added


async def planned_for(session: AsyncSession, *, topic: str) -> set[int]:
    """The people who already have a row about `topic` (so a planning pass skips them)."""
    rows = await session.exec(select(Reminder.person_id).where(Reminder.topic == topic))
    return {person for person in rows.all() if person is not None}


def _claimable(now: datetime) -> Any:
    # The IN lets the (status, due_at) index serve the query; sent rows are never read.
    return and_(
        col(Reminder.status).in_([ReminderStatus.PLANNED, ReminderStatus.CLAIMED]),
        or_(col(Reminder.status) == ReminderStatus.PLANNED, col(Reminder.lease_until) < now),
    )


async def claim_due(
    session: AsyncSession, *, worker: str, now: datetime, limit: int
) -> list[Reminder]:
    """Claim up to `limit` rows that are due (or whose claim's lease ran out), oldest first.

    Commit right after: the claim must be stored before anything is sent.
    """
    # Two index lookups by (status, due_at): planned rows that are due, claims whose lease ran
    # out. Sent rows, however many, are never read.
    planned = select(col(Reminder.id), col(Reminder.due_at)).where(
        col(Reminder.status) == ReminderStatus.PLANNED, col(Reminder.due_at) <= now
    )
    abandoned = select(col(Reminder.id), col(Reminder.due_at)).where(
        col(Reminder.status) == ReminderStatus.CLAIMED,
        col(Reminder.due_at) <= now,
        col(Reminder.lease_until) < now,
    )
    bind = session.bind
    lock = bind is not None and bind.dialect.name == "postgresql"
    parts = []
    for part in (planned, abandoned):
        part = part.order_by(col(Reminder.due_at)).limit(limit)
        parts.append(part.with_for_update(skip_locked=True) if lock else part)
    found: list[tuple[int, datetime]] = []
    for part in parts:
        found += (await session.exec(part)).all()
    candidates = [row_id for row_id, _ in sorted(found, key=lambda f: (f[1], f[0]))[:limit]]
    if not candidates:
        return []
    statement = (
        update(Reminder)
        .where(col(Reminder.id).in_(candidates), _claimable(now))
        .values(
            status=ReminderStatus.CLAIMED,
            claimed_by=worker,
            claimed_at=now,
            lease_until=now + LEASE,
        )
        .returning(col(Reminder.id))
    )
    ids = list((await session.exec(statement)).scalars())  # type: ignore[call-overload]
    if not ids:
        return []
    rows = await session.exec(
        select(Reminder)
        .where(col(Reminder.id).in_(ids))
        .order_by(col(Reminder.due_at), col(Reminder.id))
        .execution_options(populate_existing=True)
    )
    return list(rows.all())


async def finish_many(
    session: AsyncSession,
    *,
    reminder_ids: Sequence[int],
    worker: str,
    status: ReminderStatus,
    now: datetime,
    outcome: str = "",
) -> int:
    """Record how claimed rows ended (sent, skipped, expired).

    Returns how many this worker still held: a row whose claim went to another process is
    left alone.
    """
    result = await session.exec(  # type: ignore[call-overload]
        update(Reminder)
        .where(
            col(Reminder.id).in_(reminder_ids),
            col(Reminder.claimed_by) == worker,
            col(Reminder.status) == ReminderStatus.CLAIMED,
        )
        .values(
            status=status,
            sent_at=now if status == ReminderStatus.SENT else None,
            lease_until=None,
            outcome=outcome[:200],
        )
    )
    return result.rowcount or 0


async def postpone(
    session: AsyncSession, *, reminder_id: int, worker: str, due_at: datetime, outcome: str
) -> bool:
    """Give a claimed row back to be sent later (outside working hours, holiday, paused)."""
    result = await session.exec(  # type: ignore[call-overload]
        update(Reminder)
        .where(col(Reminder.id) == reminder_id, col(Reminder.claimed_by) == worker)
        .values(
            status=ReminderStatus.PLANNED,
            due_at=due_at,
            claimed_by=None,
            lease_until=None,
            outcome=outcome[:200],
        )
    )
    return bool(result.rowcount)


async def move_planned(
    session: AsyncSession, *, key: str, due_at: datetime, expires_at: datetime | None
) -> None:
    """Move a row that is still waiting (planned) to a new moment; a sent one stays as it was."""
    await session.exec(  # type: ignore[call-overload]
        update(Reminder)
        .where(col(Reminder.key) == key, col(Reminder.status) == ReminderStatus.PLANNED)
        .values(due_at=due_at, expires_at=expires_at)
    )


async def next_due(session: AsyncSession) -> datetime | None:
    """When the earliest planned row falls due (None when nothing is planned)."""
    return (
        await session.exec(
            select(func.min(Reminder.due_at)).where(col(Reminder.status) == ReminderStatus.PLANNED)
        )
    ).first()


async def listed(
    session: AsyncSession,
    *,
    statuses: Sequence[str],
    person_id: int | None = None,
    cluster_id: int | None = None,
    limit: int = 10,
) -> list[Reminder]:
    """A person's (or a whole cluster's) rows in these statuses, the latest moments first."""
    query = select(Reminder).where(col(Reminder.status).in_(statuses))
    if person_id is not None:
        query = query.where(Reminder.person_id == person_id)
    if cluster_id is not None:
        query = query.where(Reminder.cluster_id == cluster_id)
    rows = await session.exec(query.order_by(col(Reminder.due_at).desc()).limit(limit))
    return list(rows.all())
