"""The plan of every query the handlers run, on a generated network: index or full scan.

Run: .venv/bin/python -m benchmarks.query_plans [URL ...] [--scale 1.0] [--forced]
Without a URL it generates the network into a temporary SQLite file and a scratch PostgreSQL
database (dropped afterwards). For each query function of `storage.arrival`, `storage.diary`,
`storage.people`, `storage.clusters` and `storage.channel_values` it records the statements the
function sends, asks the database how it runs each (SQLite `EXPLAIN QUERY PLAN`, PostgreSQL
`EXPLAIN`), and prints the plan with the full scans marked. `--forced` turns PostgreSQL's sequential
scans off first (`enable_seqscan = off`), as tests/test_query_plans.py does: then a sequential scan
in the plan means no index can serve the query at all.

A *full scan* is reading a whole table or a whole index: SQLite's `SCAN table` (with or without
`USING INDEX`) or a skip-scan (`ANY(column)`), PostgreSQL's `Seq Scan`, or an index scan whose
condition does not fix the index's first column with `=` (a B-tree then reads all of it, as
PostgreSQL does for `status = 'draft'` on the index of `(school_id, status)`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from benchmarks.network import CONSENT_VERSION, Network, Shape, generate
from storage import (
    arrival,
    calendar,
    channel_values,
    clusters,
    diary,
    people,
    recipients,
    reminders,
)
from storage.db import Database
from storage.models import Cluster, DiaryEntry, InvitePurpose, Reminder, SchoolFocus

TABLES = frozenset(SQLModel.metadata.tables)
Call = Callable[[AsyncSession, Network], Awaitable[Any]]


async def _delete_entry(session: AsyncSession, net: Network) -> None:
    entry = await session.get(DiaryEntry, net.entry_with_evidence)
    assert entry is not None
    await diary.delete_entry(session, entry=entry, person_id=entry.author_id)
    await session.flush()


async def _decide_focus(session: AsyncSession, net: Network) -> None:
    focus = await session.get(SchoolFocus, net.proposed_focus)
    assert focus is not None
    await diary.decide_focus(session, focus=focus, confirm=True, person_id=net.coordinator)
    await session.flush()


async def _open_draft(session: AsyncSession, net: Network) -> None:
    await diary.open_draft(session, author_id=net.busiest_author)


async def _recipients_of(session: AsyncSession, net: Network) -> None:
    # Rows as delivery holds them after a claim: one for a person at a school, one for a hub.
    rows = [
        Reminder(person_id=net.typical_author, school_id=net.school_id, payload={}),
        Reminder(person_id=None, payload={"hub": 1}),
    ]
    await recipients.recipients_of(session, rows)


async def _calendar_of(session: AsyncSession, net: Network) -> None:
    cluster = await session.get(Cluster, net.cluster_id)
    assert cluster is not None
    await calendar.calendar_of(session, cluster)


# (module.function, who calls it, the call) for every query function of the storage modules
# that reads; `channel_values.set_channel_value` is one INSERT ... ON CONFLICT, with no plan.
QUERIES: list[tuple[str, str, Call]] = [
    ("diary.open_draft", "/add", _open_draft),
    (
        "diary.own_entry",
        "/mine, /add",
        lambda s, n: diary.own_entry(s, entry_id=n.entry_with_evidence, author_id=n.busiest_author),
    ),
    ("diary.entries_of", "/mine", lambda s, n: diary.entries_of(s, author_id=n.busiest_author)),
    (
        "diary.live_entries",
        "/privacy",
        lambda s, n: diary.live_entries(s, author_id=n.busiest_author),
    ),
    (
        "diary.count_entries",
        "/mine",
        lambda s, n: diary.count_entries(s, author_id=n.busiest_author),
    ),
    (
        "diary.evidence_of",
        "/mine, /add",
        lambda s, n: diary.evidence_of(s, entry_id=n.entry_with_evidence),
    ),
    ("diary.delete_entry", "/mine, /privacy", _delete_entry),
    (
        "diary.entry_with_source",
        "a deleted message",
        lambda s, n: diary.entry_with_source(s, author_id=n.busiest_author, message_id="$gone"),
    ),
    (
        "diary.evidence_from",
        "a deleted message",
        lambda s, n: diary.evidence_from(s, author_id=n.busiest_author, message_id="$gone"),
    ),
    ("diary.focus_history", "/focus", lambda s, n: diary.focus_history(s, school_id=n.school_id)),
    (
        "diary.confirmed_focus",
        "/add",
        lambda s, n: diary.confirmed_focus(s, school_id=n.school_id),
    ),
    (
        "diary.pending_focus",
        "/confirm",
        lambda s, n: diary.pending_focus(s, school_ids=[n.school_id, n.school_id + 1]),
    ),
    ("diary.decide_focus", "/confirm", _decide_focus),
    (
        "arrival.arrive",
        "every message",
        lambda s, n: arrival.arrive(
            s,
            platform=n.identity[0],
            external_id=n.identity[1],
            chat_key=f"telegram:{n.identity[1]}",
            consent_version=CONSENT_VERSION,
        ),
    ),
    (
        "people.memberships",
        "most commands",
        lambda s, n: people.memberships(s, person_id=n.typical_author),
    ),
    (
        "people.grant_role",
        "/join",
        lambda s, n: people.grant_role(
            s, person_id=n.lead, role="contributor", cluster_id=n.cluster_id, school_id=n.school_id
        ),
    ),
    (
        "people.current_consent",
        "/consent",
        lambda s, n: people.current_consent(s, person_id=n.typical_author),
    ),
    (
        "people.record_consent",
        "/consent, /privacy",
        lambda s, n: people.record_consent(
            s, person_id=n.typical_author, version=CONSENT_VERSION, granted=False
        ),
    ),
    (
        "people.contacts",
        "/propose, /confirm",
        lambda s, n: people.contacts(s, person_ids=[n.coordinator, n.lead]),
    ),
    (
        "people.holders_of",
        "/propose, /linkhub",
        lambda s, n: people.holders_of(
            s, cluster_id=n.cluster_id, roles=people.COORDINATOR_ROLES, school_id=None
        ),
    ),
    (
        "clusters.find_cluster",
        "CLI",
        lambda s, n: clusters.find_cluster(s, name_or_id=str(n.cluster_id)),
    ),
    (
        "clusters.schools_of",
        "/add, /confirm",
        lambda s, n: clusters.schools_of(s, cluster_id=n.cluster_id),
    ),
    (
        "clusters.create_invite",
        "/hubcode",
        lambda s, n: clusters.create_invite(
            s, cluster_id=n.cluster_id, school_id=n.school_id, purpose=InvitePurpose.JOIN
        ),
    ),
    (
        "clusters.usable_invite",
        "/join",
        lambda s, n: clusters.usable_invite(s, code=n.invite_code, purpose=InvitePurpose.JOIN),
    ),
    (
        "clusters.join_with_code",
        "/consent",
        lambda s, n: clusters.join_with_code(s, person_id=n.typical_author, code=n.invite_code),
    ),
    (
        "clusters.hub_chats_of",
        "(digests)",
        lambda s, n: clusters.hub_chats_of(s, cluster_id=n.cluster_id),
    ),
    (
        "clusters.move_hub",
        "group migrated",
        lambda s, n: clusters.move_hub(
            s, platform=n.hub_chat[0], old_chat_id=n.hub_chat[1], new_chat_id="-100777"
        ),
    ),
    (
        "channel_values.get_channel_value",
        "Matrix sync",
        lambda s, n: channel_values.get_channel_value(s, platform="matrix", key="sync"),
    ),
    ("calendar.calendar_of", "/calendar, planning", _calendar_of),
    (
        "reminders.claim_due",
        "scheduler",
        lambda s, n: reminders.claim_due(s, worker="w", now=datetime.now(UTC), limit=100),
    ),
    ("reminders.next_due", "scheduler", lambda s, n: reminders.next_due(s)),
    ("recipients.recipients_of", "scheduler", _recipients_of),
    (
        "people.reachable",
        "planning",
        lambda s, n: people.reachable(
            s, person_ids=[n.typical_author, n.lead], consent_version=CONSENT_VERSION
        ),
    ),
    (
        "reminders.planned_for",
        "planning",
        lambda s, n: reminders.planned_for(s, topic=f"input:{n.school_id}:2026-10-16"),
    ),
    (
        "reminders.listed",
        "/reminders",
        lambda s, n: reminders.listed(s, statuses=["sent"], person_id=n.typical_author),
    ),
    (
        "reminders.listed (cluster)",
        "/reminders",
        lambda s, n: reminders.listed(s, statuses=["sent"], cluster_id=n.cluster_id),
    ),
]


@dataclass
class Plan:
    """How the database runs one statement, and the tables it reads whole."""

    sql: str
    lines: list[str]
    full_scans: list[str] = field(default_factory=list)


@dataclass
class QueryPlans:
    """The statements of one query function, with their plans and time."""

    name: str
    caller: str
    plans: list[Plan]
    ms: float

    @property
    def full_scans(self) -> list[str]:
        """Every table read whole by any of the statements."""
        return [scan for plan in self.plans for scan in plan.full_scans]


_SQLITE_SCAN = re.compile(r"^SCAN (\w+)")
_SQLITE_SEARCH = re.compile(r"^SEARCH (\w+) .*\(ANY\(")


def _table(name: str) -> str | None:
    """The table a plan names (SQLAlchemy aliases add `_1`, `_2`...), if it is one of ours."""
    if name in TABLES:
        return name
    base = re.sub(r"_\d+$", "", name)
    return base if base in TABLES else None


async def _explain_sqlite(conn: AsyncConnection, sql: str, params: Any) -> Plan:
    rows = (await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)).all()
    lines, scans = [], []
    for row in rows:
        detail = row[-1]
        lines.append(detail)
        found = _SQLITE_SCAN.match(detail) or _SQLITE_SEARCH.match(detail)
        if found and _table(found.group(1)):
            scans.append(_table(found.group(1)))
    return Plan(sql, lines, scans)  # type: ignore[arg-type]


def _fixes_first_column(condition: str | None, column: str | None) -> bool:
    """Whether an index condition pins the index's first column with `=` (or `= ANY`)."""
    if not condition or not column:
        return False
    pattern = rf"\(?\b{re.escape(column)}\b\)?(::[\w ]+)? = "
    return re.search(pattern, condition) is not None


def _walk(
    node: dict[str, Any],
    depth: int,
    lines: list[str],
    scans: list[str],
    first_columns: dict[str, str],
) -> None:
    kind = node["Node Type"]
    relation = node.get("Relation Name")
    index = node.get("Index Name")
    condition = node.get("Index Cond")
    line = "  " * depth + kind
    if relation:
        line += f" on {relation}"
    if index:
        line += f" using {index}"
    if condition:
        line += f" ({condition})"
    lines.append(line)
    if kind == "Seq Scan" and relation in TABLES:
        scans.append(relation)
    elif index in first_columns and not _fixes_first_column(condition, first_columns[index]):
        scans.append(_index_table(index, relation))
    for child in node.get("Plans", ()):
        _walk(child, depth + 1, lines, scans, first_columns)


def _index_table(index: str, relation: str | None) -> str:
    """The table an index belongs to (a bitmap index scan names only the index)."""
    if relation:
        return relation
    return next((t for t in sorted(TABLES, key=len, reverse=True) if t in index), index)


_FIRST_COLUMNS = """
SELECT index_class.relname, attribute.attname
FROM pg_index
JOIN pg_class index_class ON index_class.oid = pg_index.indexrelid
JOIN pg_attribute attribute
  ON attribute.attrelid = pg_index.indrelid AND attribute.attnum = pg_index.indkey[0]
JOIN pg_namespace ON pg_namespace.oid = index_class.relnamespace
WHERE pg_namespace.nspname = current_schema()
"""


async def _explain_postgresql(conn: AsyncConnection, sql: str, params: Any) -> Plan:
    first_columns = dict((await conn.exec_driver_sql(_FIRST_COLUMNS)).all())
    raw = (await conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {sql}", params)).scalar()
    document = json.loads(raw) if isinstance(raw, str) else raw
    lines: list[str] = []
    scans: list[str] = []
    _walk(document[0]["Plan"], 0, lines, scans, first_columns)
    return Plan(sql, lines, scans)


async def explain_all(
    db: Database,
    net: Network,
    *,
    forced: bool = False,
    only: list[str] | None = None,
    turned_off: tuple[str, ...] = (),
) -> list[QueryPlans]:
    """Run each query function once, in one transaction that is rolled back, and explain it.

    Args:
        db: a migrated database holding the network.
        net: what `generate` made there (the ids the queries aim at).
        forced: on PostgreSQL, turn sequential scans off for the transaction.
        only: names of the query functions to run (all of them by default).
        turned_off: more PostgreSQL planner methods to turn off (`sort`, `bitmapscan`...).
    """
    explain = _explain_postgresql if db.dialect == "postgresql" else _explain_sqlite
    results = []
    async with db.engine.connect() as conn:
        if db.dialect == "postgresql":
            for method in ("seqscan",) * forced + turned_off:
                await conn.exec_driver_sql(f"SET LOCAL enable_{method} = off")
        sent: list[tuple[str, Any]] = []

        def record(_conn, _cursor, statement, parameters, _context, many) -> None:
            if statement.lstrip().split(None, 1)[0].upper() in ("SELECT", "UPDATE", "DELETE"):
                sent.append((statement, parameters[0] if many else parameters))  # one of many

        for name, caller, call in QUERIES:
            if only is not None and name not in only:
                continue
            sent.clear()
            session = AsyncSession(bind=conn, expire_on_commit=False)
            event.listen(conn.sync_connection, "before_cursor_execute", record)
            start = time.perf_counter()
            try:
                await call(session, net)
            finally:
                elapsed = (time.perf_counter() - start) * 1000
                event.remove(conn.sync_connection, "before_cursor_execute", record)
            statements = list(sent)
            plans = [await explain(conn, sql, params) for sql, params in statements]
            results.append(QueryPlans(name, caller, plans, elapsed))
            session.expunge_all()
        await conn.rollback()
    return results


def summary(plan: Plan) -> str:
    """One line: the plan's steps, joined."""
    return " | ".join(line.strip() for line in plan.lines)


def report(kind: str, results: list[QueryPlans]) -> None:
    """Print each query function with its statements' plans, full scans marked."""
    print(f"\n== {kind}")
    for result in results:
        mark = (
            "FULL SCAN " + ",".join(sorted(set(result.full_scans))) if result.full_scans else "ok"
        )
        print(f"{result.name:32} {result.caller:20} {result.ms:8.2f} ms  {mark}")
        for plan in result.plans:
            print(f"    {summary(plan)}")


async def _scratch_postgresql(base: str) -> tuple[str, Callable[[], Awaitable[None]]]:
    import asyncpg

    admin = await asyncpg.connect(f"{base}/test", timeout=5)
    name = f"plans_{uuid.uuid4().hex[:10]}"
    await admin.execute(f'CREATE DATABASE "{name}"')

    async def drop() -> None:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()

    return f"{base}/{name}", drop


async def _main(urls: list[str], scale: float, forced: bool) -> None:
    cleanups = []
    with tempfile.TemporaryDirectory() as tmp:
        if not urls:
            urls = [f"sqlite:///{tmp}/plans.sqlite3"]
            url, drop = await _scratch_postgresql("postgresql://postgres@127.0.0.1:5432")
            urls.append(url)
            cleanups.append(drop)
        try:
            for url in urls:
                db = Database(url)
                try:
                    await db.upgrade()
                    net = await generate(db, shape=Shape.scaled(scale))
                    print(f"{db.dialect}: network generated in {net.seconds:.1f} s")
                    report(db.dialect, await explain_all(db, net, forced=forced))
                finally:
                    await db.close()
        finally:
            for cleanup in cleanups:
                await cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("urls", nargs="*", help="migrated databases to fill (default: scratch)")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--forced", action="store_true", help="enable_seqscan = off")
    args = parser.parse_args()
    asyncio.run(_main(args.urls, args.scale, args.forced))
