"""The fan-out benchmark's data: a cluster of thousands of people built in bulk, read back.

One Europe/Brussels cluster (or several) with a mentor school and mentee schools, people with
consent of the current version, a school role and a Telegram identity with a private chat, and
a term whose input point is due at the benchmark's clock; `statuses` reads the reminder rows
back after a run. Used by `benchmarks.reminder_fanout`.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import func, insert, text
from sqlmodel import SQLModel, col, select

from bot.rhythm import allowed, current_window
from bot.settings import DEFAULT_CONSENT_VERSION
from storage.calendar import calendar_of
from storage.db import Database
from storage.models import (
    Cluster,
    ConsentRecord,
    Identity,
    Person,
    Reminder,
    ReminderStatus,
    Role,
    RoleName,
    School,
    SchoolKind,
    Term,
)

TIMEZONE = "Europe/Brussels"
CREATED = datetime(2026, 8, 1, 10, tzinfo=UTC)
# 14 Sep - 18 Dec 2026 is 96 days: input points on Friday 16 Oct and Tuesday 17 Nov.
TERM = (date(2026, 9, 14), date(2026, 12, 18))
POINT = date(2026, 10, 16)
LOCAL_TIME = clock_time(10, 0)  # the bot's clock on the point's day, inside 09:00-18:00
# Telegram user ids (and private chat ids) are this plus the person's id.
USER_BASE = 100_000_000
CHUNK = 2000
EXPLICIT_IDS = ("clusters", "schools", "people", "identities", "roles", "consent_records")


@dataclass
class Population:
    """Who should get a reminder: Telegram chat id -> the school their message must name."""

    schools: dict[int, str]
    moment: datetime  # the bot's clock: the input point's day, 10:00 local, as UTC


async def _insert(db: Database, model: type[SQLModel], rows: list[dict[str, Any]]) -> None:
    table = model.__table__  # type: ignore[attr-defined]
    async with db.engine.begin() as conn:
        for start in range(0, len(rows), CHUNK):
            await conn.execute(insert(table), rows[start : start + CHUNK])


async def prepare(url: str, *, people: int, schools: int, clusters: int) -> Population:
    """Migrate a fresh database and fill it; returns who must get which reminder.

    Cluster `c` (1..clusters) has mentor school `c`; mentee schools follow, dealt out to the
    clusters in turn, and people to the mentee schools in turn.
    """
    db = Database(url)
    try:
        await db.upgrade()
        cluster_ids = range(1, clusters + 1)
        await _insert(
            db,
            Cluster,
            [
                {
                    "id": c,
                    "name": f"Fan-out cluster {c}",
                    "country": "BE",
                    "language": "en",
                    "timezone": TIMEZONE,
                    "work_days": "12345",
                    "work_start": "09:00",
                    "work_end": "18:00",
                    "rhythm_weeks": 6,
                    "nudge_after_days": 365,  # no nudges: only the input point is planned
                    "created_at": CREATED,
                }
                for c in cluster_ids
            ],
        )
        mentees = range(clusters + 1, clusters + schools + 1)
        names = {c: f"Mentor School {c}" for c in cluster_ids}
        names |= {s: f"School {s - clusters}" for s in mentees}
        cluster_of = {c: c for c in cluster_ids} | {s: 1 + s % clusters for s in mentees}
        await _insert(
            db,
            School,
            [
                {
                    "id": s,
                    "cluster_id": cluster_of[s],
                    "name": name,
                    "kind": SchoolKind.MENTOR if s <= clusters else SchoolKind.MENTEE,
                    "created_at": CREATED,
                }
                for s, name in names.items()
            ],
        )
        await _insert(
            db,
            Term,
            [
                {"cluster_id": c, "name": "Autumn", "first_day": TERM[0], "last_day": TERM[1]}
                for c in cluster_ids
            ],
        )
        ids = range(1, people + 1)
        school_of = {p: mentees[(p - 1) % schools] for p in ids}
        await _insert(
            db,
            Person,
            [
                {
                    "id": p,
                    "display_name": f"Teacher {p}",
                    "language": "en",
                    "created_at": CREATED,
                    "reminders_stopped": False,
                }
                for p in ids
            ],
        )
        await _insert(
            db,
            Identity,
            [
                {
                    "id": p,
                    "person_id": p,
                    "platform": "telegram",
                    "external_id": str(USER_BASE + p),
                    "display_name": f"Teacher {p}",
                    "private_chat_id": str(USER_BASE + p),
                    "created_at": CREATED,
                }
                for p in ids
            ],
        )
        await _insert(
            db,
            Role,
            [
                {
                    "id": p,
                    "person_id": p,
                    "role": RoleName.SCHOOL_LEAD if p % 20 == 0 else RoleName.CONTRIBUTOR,
                    "cluster_id": cluster_of[school_of[p]],
                    "school_id": school_of[p],
                    "created_at": CREATED,
                }
                for p in ids
            ],
        )
        await _insert(
            db,
            ConsentRecord,
            [
                {
                    "id": p,
                    "person_id": p,
                    "version": DEFAULT_CONSENT_VERSION,
                    "granted": True,
                    "created_at": CREATED,
                }
                for p in ids
            ],
        )
        if db.dialect == "postgresql":
            async with db.engine.begin() as conn:
                for name in EXPLICIT_IDS:  # explicit ids leave the sequences behind
                    await conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                            f"(SELECT max(id) FROM {name}))"
                        )
                    )
                await conn.execute(text("ANALYZE"))
        async with db.session() as session:
            cluster = await session.get(Cluster, 1)
            assert cluster is not None
            calendar = await calendar_of(session, cluster)
        moment = calendar.at(POINT, LOCAL_TIME)
        window = current_window(calendar, POINT, school_id=mentees[0])
        if window is None or window.point != POINT or not allowed(calendar, moment):
            raise RuntimeError(f"no input point due at {moment}: {window}")
        return Population({USER_BASE + p: names[school_of[p]] for p in ids}, moment)
    finally:
        await db.close()


async def statuses(url: str) -> tuple[Counter[str], set[int]]:
    """Reminder rows by status, and the chat ids of the rows claimed and not finished."""
    db = Database(url)
    try:
        async with db.session() as session:
            rows = await session.exec(
                select(Reminder.status, func.count()).group_by(col(Reminder.status))
            )
            by_status = Counter({status: count for status, count in rows.all()})
            claimed = await session.exec(
                select(Reminder.person_id).where(Reminder.status == ReminderStatus.CLAIMED)
            )
            chats = {USER_BASE + p for p in claimed.all() if p is not None}
        return by_status, chats
    finally:
        await db.close()


class Databases:
    """Fresh databases for the runs: SQLite files, scratch PostgreSQL databases (dropped)."""

    def __init__(self, tmp: Path, postgres: str | None) -> None:
        self.tmp = tmp
        self.postgres = (
            postgres.replace("postgresql+asyncpg://", "postgresql://") if postgres else None
        )
        self.made: list[str] = []
        self.count = 0

    @property
    def kinds(self) -> list[str]:
        return ["sqlite", "postgresql"] if self.postgres else ["sqlite"]

    async def fresh(self, kind: str) -> str:
        self.count += 1
        if kind == "sqlite":
            return f"sqlite:///{self.tmp}/fanout-{self.count}.sqlite3"
        assert self.postgres is not None
        name = f"fanout_{uuid.uuid4().hex[:12]}"
        admin = await asyncpg.connect(self.postgres, timeout=10)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        self.made.append(name)
        return f"{self.postgres.rsplit('/', 1)[0]}/{name}"

    async def drop_all(self) -> None:
        if not self.made:
            return
        assert self.postgres is not None
        admin = await asyncpg.connect(self.postgres, timeout=10)
        try:
            for name in self.made:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
        self.made.clear()
